#!/usr/bin/env node
// The ringbus command: `ringbus top URL` (npx ringbus top http://127.0.0.1:9464/metrics).
import { parseArgs } from 'node:util';
import { top } from './top.js';

const USAGE = `usage: ringbus top URL [--interval MS] [--once] [--no-color]

  Shows the buses and pipelines of a running service, refreshed every second, from the
  Prometheus metrics it serves (ringbus/metrics: serveMetrics()). q quits (on a terminal
  the key, on a piped stdin a line "q"), as do Ctrl-C and SIGTERM. Output that is not a
  terminal gets plain frames, one after another.

  URL            the metrics endpoint, e.g. http://127.0.0.1:9464/metrics
  --interval MS  refresh period (default 1000)
  --once         print one frame (rates over one period) and exit
  --no-color     no colours (also when NO_COLOR is set or the output is not a terminal)
`;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        interval: { type: 'string', default: '1000' },
        once: { type: 'boolean', default: false },
        'no-color': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    process.stderr.write(`ringbus: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const [command, url, ...rest] = positionals;
  if (command !== 'top' || url === undefined || rest.length > 0) {
    process.stderr.write(USAGE);
    return 2;
  }
  const intervalMs = Number(values.interval);
  if (!Number.isInteger(intervalMs) || intervalMs < 100) {
    process.stderr.write(`ringbus top: --interval is a whole number of milliseconds ≥ 100, got ${values.interval}\n`);
    return 2;
  }
  try {
    new URL(url);
  } catch {
    process.stderr.write(`ringbus top: "${url}" is not a URL; give the metrics endpoint, e.g. http://127.0.0.1:9464/metrics\n`);
    return 2;
  }
  const color = !values['no-color'] && process.env.NO_COLOR === undefined && process.stdout.isTTY === true;
  return top({ url, intervalMs, once: values.once, color });
}

process.exitCode = await main(process.argv.slice(2));
