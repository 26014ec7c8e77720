// Runs games: the latest snapshot of each game it knows, and what one event does to it.
// Used by the game workers and, for comparison, by a server that runs the logic on its
// I/O thread. Games are known by `key`, new for every game (its name may be used again
// once it is over). A snapshot is the game's whole state plus `key` and `mid`, the id of
// the last event applied; an event whose mid is not above its game's snapshot was applied
// already (delivered again after a worker died) and is skipped.
import { finalize, initialize, processTurn } from './connect-four.js';

const KEEP_ENDED = 10_000;

export class GameHost {
  games = new Map();
  ended = [];

  /** `worker`: recorded in each snapshot this host makes (-1: the I/O thread). */
  constructor(work, worker) {
    this.work = work;
    this.worker = worker;
  }

  /** A snapshot published by any worker (this one included). */
  learn(snapshot) {
    const known = this.games.get(snapshot.key);
    if (known && known.mid >= snapshot.mid) return;
    if (!known && snapshot.status !== 'playing' && this.ended.includes(snapshot.key)) return;
    this.games.set(snapshot.key, snapshot);
    if (snapshot.status !== 'playing') {
      // Ended games are kept a while, so that late or repeated events get 'game-over'.
      this.ended.push(snapshot.key);
      if (this.ended.length > KEEP_ENDED) this.games.delete(this.ended.shift());
    }
  }

  /**
   * Applies one event: returns `null` (already applied), `{ topic: 'state', value: snapshot, micros }`
   * or `{ topic: 'rejected', value: { game, key, mid, player, code, message } }`.
   */
  handle(event) {
    const known = this.games.get(event.key);
    if (known && event.mid <= known.mid) return null;
    if (event.kind === 'start') {
      if (known) return null;
      const t0 = performance.now();
      const snapshot = { ...initialize(event.game, [0, 1]), key: event.key, mid: event.mid, worker: this.worker, result: null };
      this.learn(snapshot);
      return { topic: 'state', value: snapshot, micros: (performance.now() - t0) * 1000 };
    }
    if (!known) return rejected(event, 'unknown-game', `game ${event.game} is not running here; join a game first`);
    const t0 = performance.now();
    const r = processTurn(known, event, this.work);
    const micros = (performance.now() - t0) * 1000;
    if (r.error) return rejected(event, r.error.code, r.error.message);
    const snapshot = { ...r.state, mid: event.mid, worker: this.worker, result: r.state.status === 'playing' ? null : finalize(r.state) };
    this.learn(snapshot);
    return { topic: 'state', value: snapshot, micros };
  }
}

const rejected = (event, code, message) => ({
  topic: 'rejected',
  value: { game: event.game, key: event.key, mid: event.mid, player: event.player, code, message },
});
