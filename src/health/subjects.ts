// What watchHealth() and ringbus/metrics read: checked when it is given, so that a wrong
// value is an InvalidOptionError at the call and not a TypeError at every later reading.
// A Bus and a Pipeline are told apart as everywhere else: by their classes (ringbus and
// ringbus/metrics share them: both are the package's dist modules).
import { Bus } from '../bus.js';
import { describe } from '../describe.js';
import { InvalidOptionError } from '../errors.js';
import { Pipeline } from '../pipeline/pipeline.js';

/** A bus's handle (bus.handle), as it is or after a trip through workerData or postMessage. */
function isHandle(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { ringbus?: unknown }).ringbus === 'number';
}

/**
 * `value` if it is a Bus; else an InvalidOptionError that says what to pass. `where` names
 * the argument (`addBus("orders", bus)`); `forPipeline` is the advice for a Pipeline given
 * instead, `asBus` how the Bus goes in (after attach() of a handle).
 */
export function checkBus(where: string, value: unknown, asBus: string, forPipeline: string): Bus {
  if (value instanceof Bus) return value;
  if (isHandle(value))
    throw new InvalidOptionError(`${where} needs a Bus, got a bus handle (bus.handle): call attach(handle) first and pass the Bus it returns as ${asBus}`);
  if (value instanceof Pipeline) throw new InvalidOptionError(`${where} needs a Bus, got a Pipeline: ${forPipeline}`);
  throw new InvalidOptionError(`${where} needs a Bus (what createBus() or attach() returns), got ${describe(value)}`);
}

/** `value` if it is a Pipeline; else an InvalidOptionError that says what to pass. `asBus` says how a Bus goes in instead. */
export function checkPipeline(where: string, value: unknown, asBus: string): Pipeline {
  if (value instanceof Pipeline) return value;
  if (value instanceof Bus) throw new InvalidOptionError(`${where} needs a Pipeline, got a Bus: pass a bus as ${asBus}`);
  if (isHandle(value))
    throw new InvalidOptionError(`${where} needs a Pipeline, got a bus handle (bus.handle): a bus goes in as ${asBus}, after attach(handle)`);
  throw new InvalidOptionError(`${where} needs a Pipeline (what createPipeline() returns), got ${describe(value)}`);
}
