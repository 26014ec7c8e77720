// game-server: 200 WebSocket clients playing Connect Four against examples/game-server, each
// turn costing ~50 µs of real computation; moves/s and move → update latency with the game
// logic in worker threads (routed by a keyed group) and with all of it on the I/O thread,
// interleaved in one run. examples/game-server/bench.js runs it, in child processes of its own.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BenchFailure } from '../harness.js';
import { pipelineScenario } from '../pipeline/suite.js';

const NAME = 'game-server';
const SCRIPT = fileURLToPath(new URL('../../../examples/game-server/bench.js', import.meta.url));

interface Figures {
  movesPerSec: number;
  p50us: number;
  p99us: number;
  runs: number[];
  moves: number;
}
interface Result {
  clients: number;
  games: number;
  workUs: number;
  workers: Figures;
  inline: Figures;
}

function measure(args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || line === undefined) reject(new BenchFailure(`${NAME}: examples/game-server/bench.js exited with ${code}: ${err.slice(-1000)}`));
      else resolve(JSON.parse(line.slice('RESULT '.length)));
    });
  });
}

export default pipelineScenario({
  name: NAME,
  title: 'game server: 200 WebSocket clients, Connect Four, ~50 µs per turn; game logic in worker threads vs on the I/O thread',
  kind: 'pipeline',
  ringOnly: true,
  async run({ quick }) {
    const r = await measure(quick ? ['--runs', '1', '--rounds', '1'] : ['--runs', '3', '--rounds', '3']);
    const row = (transport: string, how: string, f: Figures) => ({
      transport,
      how,
      eventsPerSec: f.movesPerSec,
      min: Math.min(...f.runs),
      max: Math.max(...f.runs),
      runs: f.runs,
      p50us: f.p50us,
      p99us: f.p99us,
      result: `${Math.round(f.movesPerSec).toLocaleString('en')} moves/s; move → update p50 ${(f.p50us / 1000).toFixed(1)} ms, p99 ${(f.p99us / 1000).toFixed(1)} ms`,
      extra: { movesPerRun: f.moves, clients: r.clients, games: r.games, workUs: r.workUs },
    });
    return {
      rows: [
        row('ring-workers', `${r.clients} clients, ${r.games} games per run; 1 I/O thread, 2 game workers through a keyed group`, r.workers),
        row('io-thread', `the same load; every turn on the I/O thread`, r.inline),
      ],
      targets: [],
      notes: [
        'closed loop: each client moves once it has seen the update of the move before, so the latency is mostly queueing behind the other games (moves in flight ÷ moves/s); for scale, not a target',
      ],
    };
  },
});
