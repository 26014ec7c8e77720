// The game-server benchmark: the same load against the server with its game logic in worker
// threads and with all of it on the I/O thread, interleaved in one run. Each server runs in
// a child process of its own (the load client's sockets must not share its thread).
//   node examples/game-server/bench.js [--games 100] [--rounds 3] [--runs 3] [--work-us 50] [--json]
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { playGames, summarize } from './load-client.js';

const { values } = parseArgs({
  options: {
    games: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    runs: { type: 'string', default: '3' },
    'work-us': { type: 'string', default: '50' },
    workers: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});
const SERVER = fileURLToPath(new URL('./server.js', import.meta.url));

function startServer(logic) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER, '--port', '0', '--logic', logic, '--workers', values.workers, '--work-us', values['work-us']], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${logic} server did not start within 20 s`));
    }, 20_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /http:\/\/([\d.]+:\d+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: `ws://${m[1]}/`, stop: () => new Promise((r) => (child.once('exit', r), child.kill('SIGTERM'))) });
      }
    });
    child.once('exit', (code) => reject(new Error(`${logic} server exited with ${code}`)));
  });
}

const results = { workers: [], inline: [] };
for (let run = 0; run < Number(values.runs); run++) {
  for (const logic of run % 2 === 0 ? ['workers', 'inline'] : ['inline', 'workers']) {
    const server = await startServer(logic);
    try {
      const records = [];
      for (let round = 0; round < Number(values.rounds); round++) {
        records.push(
          ...(await playGames({
            url: server.url,
            games: Number(values.games),
            prefix: `bench-${run}-${round}`,
            seed: run * 100 + round + 1,
            timeoutMs: 120_000,
          })),
        );
      }
      // Rounds follow each other: add their times, not the span.
      const perRound = [];
      for (let i = 0; i < records.length; i += Number(values.games)) perRound.push(summarize(records.slice(i, i + Number(values.games))));
      const all = summarize(records);
      const seconds = perRound.reduce((s, r) => s + r.seconds, 0);
      results[logic].push({ ...all, seconds, movesPerSec: all.moves / seconds });
    } finally {
      await server.stop();
    }
    if (!values.json)
      console.error(`${logic} run ${run + 1}: ${Math.round(results[logic].at(-1).movesPerSec)} moves/s, p99 ${Math.round(results[logic].at(-1).p99us)} µs`);
  }
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const figures = Object.fromEntries(
  Object.entries(results).map(([logic, runs]) => [
    logic,
    {
      movesPerSec: median(runs.map((r) => r.movesPerSec)),
      p50us: median(runs.map((r) => r.p50us)),
      p99us: median(runs.map((r) => r.p99us)),
      runs: runs.map((r) => Math.round(r.movesPerSec)),
      moves: runs[0].moves,
    },
  ]),
);
const summary = {
  clients: 2 * Number(values.games),
  games: Number(values.games) * Number(values.rounds),
  workUs: Number(values['work-us']),
  workers: Number(values.workers),
  ...figures,
};
if (values.json) console.log(`RESULT ${JSON.stringify(summary)}`);
else console.log(JSON.stringify(summary, null, 2));
