// The game server: one I/O thread (this one) owns the HTTP server and every WebSocket;
// game logic runs in worker threads behind three buses:
//   input     the I/O thread → the game workers: 'start', 'move' and 'leave' events, routed by game key
//   output    the workers → the I/O thread (and every worker's replica): 'state' snapshots and 'rejected' events
//   analytics the workers → the analytics stage → the I/O thread: per-turn figures, then live 'figures'
// See README.md beside this file for why, and what happens when a worker dies or a client is slow.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Worker } from 'node:worker_threads';
import { createBus } from 'ringbus';
import { WebSocketServer } from 'ws';
import { GameHost } from './game-host.js';
import { DEFAULT_ROUTING, ROUTINGS, inputTopics, publishEvent } from './routing.js';

const PAGE = readFileSync(new URL('./index.html', import.meta.url));
const GAME_NAME = /^[\w-]{1,64}$/;
// The protocol's limit on a client message; the socket's is higher, so that a longer
// message is refused with an error rather than closing the socket (and forfeiting a game).
const MAX_MESSAGE_BYTES = 4 * 1024;
const MAX_FRAME_BYTES = 64 * 1024;

/**
 * Starts a server. `logic`: 'workers' (the game workers) or 'inline' (every turn on this
 * thread: the benchmark's comparison). `work`: rounds of analysis per turn (see calibrate()).
 * `maxBufferedBytes`: a socket with more unsent than this is disconnected.
 */
export async function startGameServer({
  port = 0,
  host = '127.0.0.1',
  workers = 2,
  logic = 'workers',
  routing = DEFAULT_ROUTING,
  work = 0,
  maxBufferedBytes = 1 << 20,
} = {}) {
  if (!ROUTINGS.includes(routing)) throw new Error(`routing must be one of ${ROUTINGS.join(', ')}, got ${routing}`);
  if (logic !== 'workers' && logic !== 'inline') throw new Error(`logic must be 'workers' or 'inline', got ${logic}`);
  const input = createBus({ capacity: 1 << 21, topics: inputTopics(routing, workers) });
  const output = createBus({ capacity: 1 << 22, topics: ['state', 'rejected'], maxReaders: Math.max(16, workers + 4) });
  const analytics = createBus({ capacity: 1 << 20, topics: ['analytics', 'figures'] });
  const io = output.reader('io', { topics: ['state', 'rejected'], wait: 'block' });
  const latestFigures = analytics.reader('figures-io', { topics: ['figures'], lossy: true });
  const games = new Map();
  const stats = { connections: 0, slowDisconnects: 0, badMessages: 0, workerDeaths: 0 };
  let figures = {};
  let autoGames = 0;
  let instances = 0;
  let waiting = null;
  let closing = false;

  // Game workers, and who reads which partition (partition routing).
  const threads = [];
  const owner = [];
  const alive = new Set();
  const inline = logic === 'inline' ? new GameHost(work, -1) : null;
  const handles = { input: input.handle, output: output.handle, analytics: analytics.handle };
  const start = (file, data) => {
    const w = new Worker(new URL(file, import.meta.url), { workerData: { ...handles, ...data } });
    // A worker that throws dies like a terminated one ('exit' does the rest); the server goes on.
    w.on('error', (err) => console.error(`game-server: ${file} failed`, err));
    return w;
  };
  const ready = [];
  function startWorker(seed) {
    const i = threads.length;
    const w = start('./game-worker.js', { index: i, routing, work, seed });
    threads.push(w);
    alive.add(i);
    w.on('exit', () => workerDied(i));
    return new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('exit', () => reject(new Error(`game worker ${i} ended before it was ready`)));
    });
  }
  if (!inline) {
    for (let i = 0; i < workers; i++) {
      owner.push(i);
      ready.push(startWorker([]));
    }
  }
  const stage = start('./analytics-worker.js', {});
  await Promise.all(ready);

  function workerDied(i) {
    alive.delete(i);
    if (closing) return;
    stats.workerDeaths++;
    // Its replica would hold the output ring back for ever.
    output.reader(`replica-${i}`, { topics: ['state'], takeover: true }).unsubscribe();
    if (routing === 'keyed') return replaceWorker();
    const survivors = [...alive];
    if (survivors.length === 0) {
      console.error('game-server: every game worker is dead; games stop');
      return;
    }
    let next = 0;
    for (let p = 0; p < owner.length; p++) {
      if (owner[p] !== i) continue;
      owner[p] = survivors[next++ % survivors.length];
      threads[owner[p]].postMessage({ adopt: p });
    }
  }

  // Keyed routing: a new member joins and the group gives it a share of the games. Its
  // replica starts at the oldest snapshot still in the ring, which the I/O thread (a gating
  // reader) has not passed; what the I/O thread has already delivered is the seed.
  function replaceWorker() {
    output.reader(`replica-${threads.length}`, { topics: ['state'] }).close();
    const seed = [...games.values()].flatMap((g) => (g.snapshot ? [g.snapshot] : []));
    startWorker(seed).catch((err) => console.error('game-server: a replacement worker failed to start', err));
  }

  function submit(event) {
    if (inline) {
      const r = inline.handle(event);
      if (r) {
        deliver(r.value, r.topic);
        if (r.topic === 'state')
          analytics.tryPublish('analytics', {
            kind: event.kind === 'start' ? 'start' : r.value.status === 'playing' ? 'turn' : 'end',
            micros: r.micros,
            worker: -1,
          });
      }
      return;
    }
    publishEvent(input, routing, workers, event).catch((err) => {
      if (!closing) console.error('game-server: publish failed', err);
    });
  }

  /** `message`: an object, or the JSON text of one (a state goes to both players as one string). */
  function send(ws, message) {
    if (ws.readyState !== ws.OPEN) return;
    // A client that does not read must not make this thread hold its updates without bound.
    if (ws.bufferedAmount > maxBufferedBytes) {
      stats.slowDisconnects++;
      ws.terminate();
      return;
    }
    ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  const fail = (ws, code, message) => send(ws, { type: 'error', code, message });

  function deliver(value, topic) {
    const game = games.get(value.game);
    // An earlier game of the same name is over: what its worker still sends is not this game's.
    if (!game || value.key !== game.key) return;
    // Events the server already delivered come again after a worker died: skipped by mid.
    if (value.mid <= game.lastMid) return;
    game.lastMid = value.mid;
    if (topic === 'rejected') {
      const ws = game.players[value.player];
      if (ws) send(ws, { type: 'error', code: value.code, message: value.message, game: value.game });
      return;
    }
    game.snapshot = value;
    const { mid, key, ...state } = value;
    const text = JSON.stringify({ type: 'state', ...state });
    for (const ws of game.players) if (ws) send(ws, text);
    if (state.status !== 'playing') {
      games.delete(game.id);
      for (const ws of game.players) if (ws && ws.game === game) ws.game = null;
    }
  }

  // `key`, the game on the buses, is new for every game: a name used again starts a new game
  // rather than meeting the ended one's snapshots, which the workers keep.
  const newGame = (id) => ({ id, key: `${id}#${++instances}`, players: [null, null], mid: 0, lastMid: -1, started: false });

  function join(ws, name) {
    if (ws.game) return fail(ws, 'already-in-game', `you are in game ${ws.game.id}; finish it (or disconnect) before joining another`);
    if (name !== undefined && (typeof name !== 'string' || !GAME_NAME.test(name)))
      return fail(ws, 'bad-game-name', 'game must be 1 to 64 letters, digits, _ or -');
    let game;
    if (name === undefined) {
      if (!waiting || !games.has(waiting.id) || waiting.players[0] === null) {
        // ':' is not allowed in a name: no client can name (and so meet) an automatic game.
        waiting = newGame(`auto:${++autoGames}`);
        games.set(waiting.id, waiting);
      }
      game = waiting;
    } else {
      game = games.get(name);
      if (!game) games.set(name, (game = newGame(name)));
    }
    const seat = game.players.indexOf(null);
    if (seat < 0 || game.started) return fail(ws, 'game-full', `game ${game.id} already has two players; join another`);
    game.players[seat] = ws;
    ws.game = game;
    ws.player = seat;
    send(ws, { type: 'joined', game: game.id, player: seat });
    if (game.players[1 - seat]) {
      game.started = true;
      if (game === waiting) waiting = null;
      submit({ kind: 'start', game: game.id, key: game.key, mid: 0 });
    }
  }

  function onMessage(ws, data, isBinary) {
    if (data.length > MAX_MESSAGE_BYTES) {
      stats.badMessages++;
      return fail(ws, 'bad-message', `a message is at most ${MAX_MESSAGE_BYTES} bytes, got ${data.length}`);
    }
    let msg;
    try {
      if (isBinary) throw new Error('binary');
      msg = JSON.parse(data.toString());
    } catch {
      stats.badMessages++;
      return fail(ws, 'bad-message', 'messages are JSON text: {"type":"join","game":"name"} or {"type":"move","column":0-6}');
    }
    if (msg === null || typeof msg !== 'object') return fail(ws, 'bad-message', 'a message is a JSON object with a "type"');
    if (msg.type === 'join') return join(ws, msg.game);
    if (msg.type === 'move') {
      const game = ws.game;
      if (!game) return fail(ws, 'not-in-game', 'join a game before moving: {"type":"join"}');
      if (!game.started) return fail(ws, 'not-started', `game ${game.id} waits for a second player`);
      if (!Number.isInteger(msg.column)) return fail(ws, 'bad-column', `column must be an integer from 0 to 6, got ${JSON.stringify(msg.column)}`);
      return submit({ kind: 'move', game: game.id, key: game.key, mid: ++game.mid, player: ws.player, column: msg.column });
    }
    stats.badMessages++;
    return fail(ws, 'bad-message', `unknown message type ${JSON.stringify(msg.type)}; use "join" or "move"`);
  }

  function onClose(ws) {
    const game = ws.game;
    if (!game) return;
    ws.game = null;
    game.players[ws.player] = null;
    if (!game.started) {
      if (game.players.every((p) => p === null)) games.delete(game.id);
      return;
    }
    // The game logic decides what leaving means (the other player wins); the state says so.
    submit({ kind: 'leave', game: game.id, key: game.key, mid: ++game.mid, player: ws.player });
  }

  const http = createServer((req, res) => {
    if (req.url === '/' || req.url === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(PAGE);
    }
    if (req.url === '/figures') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(current()));
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  const wss = new WebSocketServer({ server: http, maxPayload: MAX_FRAME_BYTES });
  wss.on('connection', (ws) => {
    stats.connections++;
    ws.on('message', (data, isBinary) => onMessage(ws, data, isBinary));
    ws.on('close', () => onClose(ws));
    ws.on('error', () => undefined);
  });

  const current = () => ({ ...figures, logic, workers: inline ? 0 : alive.size, sockets: wss.clients.size, openGames: games.size, ...stats });

  // Reads until the output bus is closed and read: a worker still publishing while the
  // server closes must not wait for room for ever.
  const reading = (async () => {
    while (!io.ended) {
      await io.waitAsync(100);
      io.poll(deliver, 1024);
      if (!latestFigures.ended) latestFigures.poll((v) => (figures = v), 64);
    }
  })();

  await new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, resolve);
  });

  return {
    port: http.address().port,
    url: `http://${host}:${http.address().port}/`,
    figures: current,
    /** Terminates game worker `i` the way a crash would (for tests). */
    killWorker: (i) => threads[i].terminate(),
    async close() {
      closing = true;
      for (const ws of wss.clients) ws.terminate();
      await new Promise((resolve) => wss.close(resolve));
      await new Promise((resolve) => http.close(resolve));
      const exited = (w) => new Promise((resolve) => (w.threadId < 0 ? resolve() : w.once('exit', resolve)));
      input.close();
      // The game workers publish analytics until they end: its bus closes after them.
      await Promise.all(threads.filter((_, i) => alive.has(i)).map(exited));
      analytics.close();
      await exited(stage);
      output.close();
      await reading;
    },
  };
}
