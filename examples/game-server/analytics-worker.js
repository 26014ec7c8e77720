// The analytics stage: reads what the games report (lossy: it never holds a game back; what
// it misses under overload it counts) and publishes live figures twice a second.
import { workerData } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';
import { attach } from 'ringbus';

const bus = attach(workerData.analytics);
const reader = bus.reader('analytics', { topics: ['analytics'], lossy: true, wait: 'block' });
const turns = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
const figures = { running: 0, started: 0, ended: 0, moves: 0, movesPerSec: 0, turnP50us: 0, turnP99us: 0, turnMaxUs: 0, missed: 0 };
// Moves per second over a sliding window of the last 4 half-second steps.
const window = [];
let last = performance.now();

function count({ kind, micros }) {
  turns.recordValue(Math.max(1, Math.round(micros)));
  if (kind === 'start') figures.started++;
  else if (kind === 'end') figures.ended++;
  if (kind !== 'start') figures.moves++;
}

// Reads every 50 ms rather than waiting for each record: no game pays for waking this thread.
const nap = new Int32Array(new SharedArrayBuffer(4));
while (!reader.ended) {
  Atomics.wait(nap, 0, 0, 50);
  while (reader.poll(count, 4096) > 0);
  const now = performance.now();
  if (now - last < 500) continue;
  window.push({ at: now, moves: figures.moves });
  if (window.length > 5) window.shift();
  const first = window[0];
  figures.movesPerSec = window.length > 1 ? Math.round(((figures.moves - first.moves) * 1000) / (now - first.at)) : 0;
  figures.running = figures.started - figures.ended;
  figures.turnP50us = turns.getValueAtPercentile(50);
  figures.turnP99us = turns.getValueAtPercentile(99);
  figures.turnMaxUs = turns.maxValue;
  figures.missed = reader.missed;
  if (bus.closed) break;
  bus.tryPublish('figures', { ...figures, at: Date.now() });
  last = now;
}
reader.close();
