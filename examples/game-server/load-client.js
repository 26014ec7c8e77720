// The load client: pairs of WebSocket clients playing whole games against a server, each
// choosing legal columns from a seeded random sequence. Records, per game, the moves it
// sent in order, every state it received, and each move's move → update latency.
//   node examples/game-server/load-client.js --url ws://127.0.0.1:8080/ --games 100
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { COLUMNS, freeRow } from './connect-four.js';

/**
 * Plays `games` games with 2 × `games` sockets; resolves when every game is over, rejects
 * after `timeoutMs`. `prefix` names the games (`${prefix}-${i}`). `onMove(sent)`: after each move sent, with the count so far
 * (fault injection).
 */
export async function playGames({ url, games, prefix = 'load', seed = 1, timeoutMs = 60_000, onMove = undefined }) {
  const records = Array.from({ length: games }, (_, i) => ({
    game: `${prefix}-${i}`,
    moves: [],
    states: [[], []],
    errors: [],
    latenciesUs: [],
    result: null,
    ends: 0,
    startedAt: 0,
    endedAt: 0,
  }));
  const sockets = [];
  let finished = 0;
  let sent = 0;
  let done;
  let failed;
  const allDone = new Promise((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  const timer = setTimeout(() => {
    const stuck = records
      .filter((r) => !r.result)
      .map((r) => `${r.game} (${r.moves.length} moves sent, ${r.states[0].length}/${r.states[1].length} states, errors ${JSON.stringify(r.errors)})`);
    failed(new Error(`load: ${stuck.length} of ${games} games unfinished after ${timeoutMs} ms: ${stuck.slice(0, 3).join('; ')}`));
  }, timeoutMs);
  const rng = mulberry32(seed);
  // `player` is the seat the server gives (0 moves first), whichever socket joined first.
  const open = (rec) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      sockets.push(ws);
      let sentAt = 0;
      let player = -1;
      ws.on('error', reject);
      ws.on('open', () => ws.send(JSON.stringify({ type: 'join', game: rec.game })));
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString());
        if (m.type === 'joined') {
          player = m.player;
          return resolve(ws);
        }
        if (m.type === 'error') return rec.errors.push({ player, ...m });
        if (m.type !== 'state') return;
        rec.states[player].push(m);
        if (m.turn === 0 && rec.startedAt === 0) rec.startedAt = performance.now();
        if (sentAt && m.last?.player === player) {
          rec.latenciesUs.push((performance.now() - sentAt) * 1000);
          sentAt = 0;
        }
        if (m.status !== 'playing') {
          if (player === 0) rec.result = m.result;
          rec.endedAt = Math.max(rec.endedAt, performance.now());
          // Over once both players got the final state.
          if (++rec.ends === 2 && ++finished === games) done();
          return;
        }
        if (m.next !== player) return;
        const legal = [];
        for (let c = 0; c < COLUMNS; c++) if (freeRow(m.board, c) >= 0) legal.push(c);
        const column = legal[Math.floor(rng() * legal.length)];
        rec.moves.push({ player, column });
        sentAt = performance.now();
        ws.send(JSON.stringify({ type: 'move', column }));
        onMove?.(++sent);
      });
    });
  try {
    await Promise.all(records.flatMap((rec) => [open(rec), open(rec)]));
    await allDone;
  } finally {
    clearTimeout(timer);
    for (const ws of sockets) ws.terminate();
  }
  return records;
}

/** Moves per second from the first game's start to the last game's end, and move → update latency percentiles (µs). */
export function summarize(records) {
  const lat = records.flatMap((r) => r.latenciesUs).sort((a, b) => a - b);
  const moves = records.reduce((n, r) => n + r.moves.length, 0);
  const seconds = (Math.max(...records.map((r) => r.endedAt)) - Math.min(...records.map((r) => r.startedAt))) / 1000;
  const at = (q) => lat[Math.min(lat.length - 1, Math.floor(lat.length * q))];
  return { games: records.length, moves, seconds, movesPerSec: moves / seconds, p50us: at(0.5), p99us: at(0.99), maxus: lat[lat.length - 1] };
}

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { url: { type: 'string', default: 'ws://127.0.0.1:8080/' }, games: { type: 'string', default: '100' } } });
  const s = summarize(await playGames({ url: values.url, games: Number(values.games), prefix: `load-${Date.now()}` }));
  console.log(
    `${s.games} games, ${s.moves} moves in ${s.seconds.toFixed(2)} s: ${Math.round(s.movesPerSec)} moves/s, ` +
      `move → update p50 ${Math.round(s.p50us)} µs, p99 ${Math.round(s.p99us)} µs`,
  );
}
