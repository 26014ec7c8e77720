import { buildView, parseScrape, type Scrape } from './model.js';
import { render } from './render.js';

export interface TopOptions {
  url: string;
  intervalMs: number;
  /**
   * Print one frame (rates over one interval) and return, instead of refreshing until 'q'
   * (a key on a terminal, a line "q" on a piped stdin), SIGINT or SIGTERM.
   */
  once: boolean;
  color: boolean;
}

async function scrape(url: string, timeoutMs: number): Promise<Scrape> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`${url} answered ${response.status} ${response.statusText}`);
  const text = await response.text();
  return parseScrape(text, performance.now());
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const reason = (error: unknown) => (error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error));

/** `ringbus top`: returns the exit code. */
export async function top(options: TopOptions): Promise<number> {
  const { url, intervalMs } = options;
  if (options.once) {
    try {
      const first = await scrape(url, intervalMs * 5);
      await sleep(intervalMs);
      const second = await scrape(url, intervalMs * 5);
      process.stdout.write(`${render(buildView(second, first), { url, time: new Date(), color: options.color, live: false })}\n`);
      return 0;
    } catch (error) {
      process.stderr.write(`ringbus top: cannot scrape ${url}: ${reason(error)}\n`);
      return 1;
    }
  }
  const out = process.stdout;
  // a terminal gets the alternate screen, redrawn in place; a file or a pipe gets plain frames, one after another
  const screen = out.isTTY === true;
  let running = true;
  let wake: (() => void) | undefined;
  const stop = () => {
    running = false;
    wake?.();
  };
  const input = process.stdin;
  if (input.isTTY) input.setRawMode(true);
  input.setEncoding('utf8');
  let partial = ''; // a piped stdin's line so far
  const onData = (data: string) => {
    if (input.isTTY) {
      if (data === 'q' || data === 'Q' || data === '\x03' /* ctrl-c in raw mode */) stop();
      return;
    }
    const lines = (partial + data).split('\n');
    partial = lines.pop() ?? '';
    if (lines.some((line) => /^\s*q\s*$/i.test(line))) stop();
  };
  input.on('data', onData);
  input.on('error', () => undefined); // a stdin that cannot be read: q cannot quit, signals still do
  out.on('error', stop); // a reader of the pipe that went away (\`| head\`): nobody left to show frames to
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  if (screen) out.write('\x1b[?1049h\x1b[?25l'); // the alternate screen, no cursor: the terminal is given back as it was
  let before: Scrape | undefined;
  let first = true;
  try {
    while (running) {
      let text: string;
      try {
        const now = await scrape(url, intervalMs * 5);
        text = render(buildView(now, before), { url, time: new Date(), color: options.color, live: true });
        before = now;
      } catch (error) {
        text = render({ buses: [], pipelines: [], health: [] }, { url, time: new Date(), error: reason(error), color: options.color, live: true });
        before = undefined;
      }
      if (!running) break;
      out.write(screen ? `\x1b[H\x1b[2J${text}\n` : `${first ? '' : '\n'}${text}\n`);
      first = false;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, intervalMs);
      });
    }
  } finally {
    if (screen) out.write('\x1b[?25h\x1b[?1049l');
    input.off('data', onData);
    if (input.isTTY) input.setRawMode(false);
    input.pause();
  }
  return 0;
}
