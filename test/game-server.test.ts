// The game server example (examples/game-server): real WebSocket clients on loopback, real
// game workers; every game's moves checked against a single-thread reference run.
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
// @ts-expect-error plain JavaScript example
import { startGameServer } from '../examples/game-server/game-server.js';
// @ts-expect-error plain JavaScript example
import { playGames } from '../examples/game-server/load-client.js';
// @ts-expect-error plain JavaScript example
import { playReference } from '../examples/game-server/reference.js';

const WORK = 3; // rounds of analysis per turn: the reference must compute the same
let server: any;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Every state each player received came in turn order, one per move, each the move sent; the result is the reference's. */
function checkGames(records: any[]) {
  for (const rec of records) {
    expect(rec.errors, rec.game).toEqual([]);
    const ref = playReference(rec.game, rec.moves, WORK);
    expect(
      ref.outcomes.every((o: string) => o === 'ok'),
      rec.game,
    ).toBe(true);
    expect(rec.result, rec.game).toEqual(ref.result);
    for (const states of rec.states) {
      expect(
        states.map((s: any) => s.turn),
        rec.game,
      ).toEqual(Array.from({ length: rec.moves.length + 1 }, (_, i) => i));
      expect(
        states.slice(1).map((s: any) => ({ player: s.last.player, column: s.last.column })),
        rec.game,
      ).toEqual(rec.moves);
    }
  }
}

/** A client that keeps every message it gets, and waits (bounded) for the next one matching. */
async function client(url: string) {
  const ws = new WebSocket(url);
  const inbox: any[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (d) => {
    inbox.push(JSON.parse(d.toString()));
    waiters.splice(0).forEach((w) => w());
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const next = async (match: (m: any) => boolean, timeoutMs = 5000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const i = inbox.findIndex(match);
      if (i >= 0) return inbox.splice(i, 1)[0];
      const left = until - Date.now();
      if (left <= 0) throw new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(inbox)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  };
  const send = (m: unknown) => ws.send(typeof m === 'string' ? m : JSON.stringify(m));
  return { ws, inbox, next, send };
}

type Client = Awaited<ReturnType<typeof client>>;

/** Two clients in one game, both past its first state. `join`: what they send (default: join `game` by name). */
async function pair(url: string, game: string, join: object = { type: 'join', game }) {
  const players = [await client(url), await client(url)];
  for (const [player, c] of players.entries()) {
    c.send(join);
    expect(await c.next((m) => m.type === 'joined')).toEqual({ type: 'joined', game, player });
  }
  for (const c of players) expect(await c.next((m) => m.type === 'state')).toMatchObject({ game, turn: 0, status: 'playing' });
  return players;
}

/** Plays each game's columns (players 0 and 1 in turn), one move of every game at a time; returns each game's last state. */
async function playInTurns(games: { players: Client[]; game: string; columns: number[] }[]) {
  const last: any[] = [];
  for (let turn = 1; games.some((g) => g.columns.length >= turn); turn++) {
    const now = games.filter((g) => g.columns.length >= turn);
    for (const g of now) g.players[(turn - 1) % 2].send({ type: 'move', column: g.columns[turn - 1] });
    for (const g of now) for (const c of g.players) last[games.indexOf(g)] = await c.next((m) => m.type === 'state' && m.game === g.game && m.turn === turn);
  }
  return last;
}

const referenceResult = (game: string, columns: number[]) =>
  playReference(
    game,
    columns.map((column, i) => ({ player: i % 2, column })),
    WORK,
  ).result;

/** Resolves with what `promise` gives, or rejects after `ms`. */
function within<T>(promise: Promise<T>, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`nothing within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe.each(['keyed', 'partitions'])('examples/game-server, %s routing', (routing) => {
  it('200 clients play 100 games to the end: each game moves in order, and ends as the single-thread reference of its moves', async () => {
    server = await startGameServer({ workers: 2, work: WORK, routing });
    const records = await playGames({ url: `ws://127.0.0.1:${server.port}/`, games: 100, timeoutMs: 40_000 });
    expect(records).toHaveLength(100);
    checkGames(records);
    expect(records.every((r: any) => r.result !== null)).toBe(true);
    // The analytics stage saw every game start (lossy, but nothing here laps its ring).
    const until = Date.now() + 5000;
    while (server.figures().ended !== 100 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(server.figures()).toMatchObject({ started: 100, ended: 100, running: 0, missed: 0 });
    expect(server.figures().turnP99us).toBeGreaterThan(0);
  });

  it('a game worker terminated mid-run: its games resume on the other worker and end as the reference says', async () => {
    server = await startGameServer({ workers: 3, work: WORK, routing });
    let killed: Promise<number> | undefined;
    const records = await playGames({
      url: `ws://127.0.0.1:${server.port}/`,
      games: 100,
      prefix: 'kill',
      timeoutMs: 40_000,
      onMove: (sent: number) => {
        if (sent === 600) killed = server.killWorker(0);
      },
    });
    expect(killed).toBeDefined();
    await killed;
    // Keyed: a new member replaces the dead one; partitions: the survivors adopt its partition.
    const workers = routing === 'keyed' ? 3 : 2;
    const until = Date.now() + 5000;
    while (server.figures().workers !== workers && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(server.figures()).toMatchObject({ workerDeaths: 1, workers });
    checkGames(records);
    // Games the dead worker ran went on, to the end, on another.
    const movedOn = records.filter((r: any) => {
      const by = r.states[0].map((s: any) => s.worker);
      const last = by.lastIndexOf(0);
      return last >= 0 && last < by.length - 1;
    });
    expect(movedOn.length).toBeGreaterThan(0);
    for (const r of movedOn) expect(r.states[0].at(-1).worker).not.toBe(0);
  });

  it('malformed messages, moves out of turn and a player who disconnects get clear errors; other games go on', async () => {
    server = await startGameServer({ workers: 2, work: WORK, routing });
    const url = `ws://127.0.0.1:${server.port}/`;
    const a = await client(url);
    a.send('{not json');
    expect(await a.next((m) => m.type === 'error')).toMatchObject({ code: 'bad-message', message: expect.stringContaining('JSON') });
    a.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await a.next((m) => m.type === 'error')).toMatchObject({ code: 'bad-message' });
    a.send({ type: 'fly' });
    expect(await a.next((m) => m.type === 'error')).toMatchObject({ code: 'bad-message', message: expect.stringContaining('"fly"') });
    a.send('42');
    expect(await a.next((m) => m.type === 'error')).toMatchObject({ code: 'bad-message' });
    a.send({ type: 'move', column: 3 });
    expect(await a.next((m) => m.type === 'error')).toMatchObject({ code: 'not-in-game' });
    a.send({ type: 'join', game: 'no spaces/allowed' });
    expect(await a.next((m) => m.type === 'error')).toMatchObject({ code: 'bad-game-name' });

    a.send({ type: 'join', game: 'edge' });
    expect(await a.next((m) => m.type === 'joined')).toMatchObject({ game: 'edge', player: 0 });
    a.send({ type: 'move', column: 3 });
    expect(await a.next((m) => m.type === 'error')).toMatchObject({ code: 'not-started' });
    const b = await client(url);
    b.send({ type: 'join', game: 'edge' });
    expect(await b.next((m) => m.type === 'joined')).toMatchObject({ game: 'edge', player: 1 });
    const third = await client(url);
    third.send({ type: 'join', game: 'edge' });
    expect(await third.next((m) => m.type === 'error')).toMatchObject({ code: 'game-full' });
    await a.next((m) => m.type === 'state' && m.turn === 0);
    b.send({ type: 'move', column: 0 });
    expect(await b.next((m) => m.type === 'error')).toMatchObject({ code: 'not-your-turn', game: 'edge' });
    a.send({ type: 'move', column: 9 });
    expect(await a.next((m) => m.type === 'error')).toMatchObject({ code: 'bad-column' });
    a.send({ type: 'move', column: 'x' });
    expect(await a.next((m) => m.type === 'error')).toMatchObject({ code: 'bad-column' });
    a.send({ type: 'move', column: 2 });
    expect(await b.next((m) => m.type === 'state' && m.turn === 1)).toMatchObject({ next: 1, last: { player: 0, column: 2 } });
    // Another game runs meanwhile, untouched.
    const others = playGames({ url, games: 5, prefix: 'bystander', timeoutMs: 20_000 });
    b.ws.terminate();
    expect(await a.next((m) => m.type === 'state' && m.status !== 'playing')).toMatchObject({
      status: 'abandoned',
      winner: 0,
      reason: 'player 1 left the game',
      turn: 1,
    });
    a.send({ type: 'move', column: 2 });
    expect(await a.next((m) => m.type === 'error')).toMatchObject({ code: 'not-in-game' });
    checkGames(await others);
    for (const c of [a, third]) c.ws.close();
  });

  it('a game named like an automatic one is a game of its own: automatic games have ids no client can name', async () => {
    server = await startGameServer({ workers: 2, work: WORK, routing });
    const url = `ws://127.0.0.1:${server.port}/`;
    const named = await pair(url, 'auto-1');
    const auto = await pair(url, 'auto:1', { type: 'join' });
    const intruder = await client(url);
    intruder.send({ type: 'join', game: 'auto:1' });
    expect(await intruder.next((m) => m.type === 'error')).toMatchObject({ code: 'bad-game-name' });
    const games = [
      { players: named, game: 'auto-1', columns: [0, 1, 0, 1, 0, 1, 0] },
      { players: auto, game: 'auto:1', columns: [6, 5, 6, 5, 6, 5, 4, 5] },
    ];
    const last = await playInTurns(games);
    expect(last[0].result).toEqual(referenceResult('auto-1', games[0].columns));
    expect(last[0].result).toMatchObject({ game: 'auto-1', status: 'won', winner: 0, turns: 7 });
    expect(last[1].result).toEqual(referenceResult('auto:1', games[1].columns));
    expect(last[1].result).toMatchObject({ game: 'auto:1', status: 'won', winner: 1, turns: 8 });
    // Neither game's players got anything of the other's.
    for (const c of [...named, ...auto, intruder]) expect(c.inbox).toEqual([]);
  });

  it('a game name used again once its game is over starts a new game, which ends as the reference says (a worker killed meanwhile)', async () => {
    server = await startGameServer({ workers: 3, work: WORK, routing });
    const url = `ws://127.0.0.1:${server.port}/`;
    for (const columns of [
      [0, 1, 0, 1, 0, 1, 0],
      [3, 3, 4, 4, 5, 2, 6],
    ]) {
      const players = await pair(url, 'again');
      const [last] = await playInTurns([{ players, game: 'again', columns }]);
      expect(last.result).toEqual(referenceResult('again', columns));
      expect(last.result).toMatchObject({ status: 'won', winner: 0, turns: 7 });
      for (const c of players) c.ws.close();
    }
    // Many names used again, while a worker dies and its games go on elsewhere.
    let killed: Promise<number> | undefined;
    const rounds = [];
    for (const round of [0, 1]) {
      const onMove = (sent: number) => {
        if (round === 1 && sent === 100) killed = server.killWorker(0);
      };
      rounds.push(await playGames({ url, games: 20, prefix: 'again', timeoutMs: 30_000, onMove }));
    }
    expect(killed).toBeDefined();
    await within(killed!);
    for (const records of rounds) {
      expect(records).toHaveLength(20);
      checkGames(records);
      expect(records.every((r: any) => r.result !== null)).toBe(true);
    }
    const workers = routing === 'keyed' ? 3 : 2;
    const until = Date.now() + 5000;
    while (server.figures().workers !== workers && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(server.figures()).toMatchObject({ workerDeaths: 1, workers });
  });

  it('a message over 4 KiB is refused with bad-message and the socket stays open, its game going on; over 64 KiB the socket is closed', async () => {
    server = await startGameServer({ workers: 2, work: WORK, routing });
    const url = `ws://127.0.0.1:${server.port}/`;
    const [a, b] = await pair(url, 'big');
    // `m` padded to exactly `bytes` of JSON text.
    const sized = (m: object, bytes: number) => JSON.stringify({ ...m, pad: 'x'.repeat(bytes - JSON.stringify({ ...m, pad: '' }).length) });
    a.send(sized({ type: 'move', column: 9 }, 4097));
    expect(await a.next((m) => m.type === 'error')).toEqual({ type: 'error', code: 'bad-message', message: 'a message is at most 4096 bytes, got 4097' });
    a.send(sized({ type: 'move', column: 9 }, 64 * 1024));
    expect(await a.next((m) => m.type === 'error')).toEqual({ type: 'error', code: 'bad-message', message: 'a message is at most 4096 bytes, got 65536' });
    // Exactly 4 KiB is a message like any other.
    a.send(sized({ type: 'move', column: 3 }, 4096));
    for (const c of [a, b])
      expect(await c.next((m) => m.type === 'state')).toMatchObject({ game: 'big', turn: 1, status: 'playing', last: { player: 0, column: 3 } });
    b.send({ type: 'move', column: 3 });
    for (const c of [a, b])
      expect(await c.next((m) => m.type === 'state')).toMatchObject({ game: 'big', turn: 2, status: 'playing', last: { player: 1, column: 3 } });
    expect(server.figures().badMessages).toBe(2);
    // Past the socket's own limit, `ws` closes it (1009: message too big).
    const other = await client(url);
    const closed = new Promise((resolve) => other.ws.once('close', resolve));
    other.send(sized({ type: 'join' }, 64 * 1024 + 1));
    expect(await within(closed)).toBe(1009);
    b.ws.close();
    expect(await a.next((m) => m.type === 'state')).toMatchObject({ game: 'big', turn: 2, status: 'abandoned', winner: 0, reason: 'player 1 left the game' });
    for (const c of [a, b, other]) expect(c.inbox).toEqual([]);
  });

  it('a client that stops reading is disconnected once its buffer passes the bound; the other games finish', async () => {
    server = await startGameServer({ workers: 2, work: WORK, routing, maxBufferedBytes: 64 * 1024 });
    const url = `ws://127.0.0.1:${server.port}/`;
    const slow = await client(url);
    const partner = await client(url);
    slow.send({ type: 'join', game: 'slow' });
    await slow.next((m) => m.type === 'joined');
    partner.send({ type: 'join', game: 'slow' });
    await slow.next((m) => m.type === 'state');
    slow.ws.pause();
    // Every malformed message gets an error reply that this client never reads.
    const closed = new Promise((resolve) => slow.ws.once('close', resolve));
    const line = JSON.stringify({ type: 'x'.repeat(1000) });
    for (let i = 0; i < 20_000 && server.figures().slowDisconnects === 0; i++) {
      slow.send(line);
      if (i % 500 === 499) await new Promise((r) => setTimeout(r, 5));
    }
    const others = await playGames({ url, games: 10, prefix: 'fast', timeoutMs: 20_000 });
    checkGames(others);
    expect(server.figures().slowDisconnects).toBe(1);
    slow.ws.resume();
    await closed;
    expect(await partner.next((m) => m.type === 'state' && m.status === 'abandoned')).toMatchObject({ winner: 1, reason: 'player 0 left the game' });
    partner.ws.close();
  });
});
