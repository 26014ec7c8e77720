// bridge: events/s and one-way latency from a producer on bus A through the engine into
// bus B (ringbus/nats, ringbus/redis), beside the engine's own client publishing the same
// events directly, in the same run. The servers are started on loopback by
// scripts/bridge-bench.mjs, in a child process of its own; where they are not installed the
// scenario says so and measures nothing.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchFailure } from '../harness.js';
import { pipelineScenario } from '../pipeline/suite.js';

const NAME = 'bridge';
const SCRIPT = fileURLToPath(new URL('../../../scripts/bridge-bench.mjs', import.meta.url));

function installed(name: string): boolean {
  const folders = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/bin'];
  return folders.some((folder) => folder !== '' && existsSync(join(folder, name)));
}

interface Figures {
  eventsPerSec: number;
  p50us?: number;
  p99us?: number;
}

function measure(
  args: string[],
): Promise<{ events: number; rate: number; nats: { bridge: Figures; direct: Figures }; redis: { bridge: Figures; direct: Figures } }> {
  return new Promise((resolve, reject) => {
    // the servers' folders are on PATH for the script, which spawns them by name
    const env = { ...process.env, PATH: [process.env.PATH, '/usr/sbin', '/usr/local/sbin'].filter(Boolean).join(delimiter) };
    const child = spawn(process.execPath, [SCRIPT, '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || line === undefined) reject(new BenchFailure(`bridge: scripts/bridge-bench.mjs exited with ${code}: ${err.slice(-1000)}`));
      else resolve(JSON.parse(line.slice('RESULT '.length)));
    });
  });
}

const rate = (n: number) => (n >= 1000 ? `${(n / 1000).toFixed(1)}k/s` : `${n.toFixed(0)}/s`);

export default pipelineScenario({
  name: NAME,
  title: 'bridges: bus A -> engine -> bus B through ringbus/nats and ringbus/redis, beside each engine client alone',
  kind: 'pipeline',
  ringOnly: true,
  async run({ quick }) {
    if (!installed('nats-server') || !installed('redis-server')) {
      return { rows: [], targets: [], notes: ['skipped: nats-server or redis-server is not installed (apt-get install -y nats-server redis-server)'] };
    }
    const r = await measure(quick ? ['--events', '5000', '--seconds', '1'] : ['--events', '50000', '--seconds', '3']);
    const row = (transport: string, how: string, f: Figures) => ({
      transport,
      how,
      eventsPerSec: f.eventsPerSec,
      min: f.eventsPerSec,
      max: f.eventsPerSec,
      runs: [f.eventsPerSec],
      ...(f.p50us !== undefined && { p50us: f.p50us, p99us: f.p99us }),
      result:
        f.p50us === undefined
          ? rate(f.eventsPerSec)
          : `${rate(f.eventsPerSec)}; one way at ${r.rate}/s: p50 ${f.p50us.toFixed(0)} µs, p99 ${f.p99us!.toFixed(0)} µs`,
    });
    return {
      rows: [
        row('ring-nats', `${r.events} events bus A -> bridgeOut -> JetStream -> bridgeIn -> bus B, one process`, r.nats.bridge),
        row('nats-direct', `${r.events} events published by the NATS client alone (async, with ids)`, r.nats.direct),
        row('ring-redis', `${r.events} events bus A -> bridgeOut -> Redis Streams -> bridgeIn -> bus B, one process`, r.redis.bridge),
        row('redis-direct', `${r.events} events XADD by ioredis alone, pipelined 512 at a time`, r.redis.direct),
      ],
      targets: [],
      notes: ['figures of a child process with its own servers on loopback; for scale, not a target'],
    };
  },
});
