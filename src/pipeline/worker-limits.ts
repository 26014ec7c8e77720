import type { ResourceLimits } from 'node:worker_threads';
import { InvalidOptionError } from '../errors.js';
import { checkOptions } from '../options.js';

/**
 * V8 grows each thread's young generation towards 3 × 16 MB as its allocation rate asks
 * for it, and rarely gives it back: under a steady load a process's RSS climbs by up to
 * 32 MB per thread over minutes, with nothing leaking (docs/MEMORY.md). Stage workers get
 * a 12 MB young generation (4 MB semi-spaces), which cost no throughput in the pipeline
 * benchmarks, unless the user says otherwise.
 */
export const DEFAULT_STAGE_LIMITS: Readonly<ResourceLimits> = { maxYoungGenerationSizeMb: 12 };

const KEYS: readonly (keyof ResourceLimits)[] = ['maxYoungGenerationSizeMb', 'maxOldGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'];

/** Checks resourceLimits given by the user (`what` names them in errors); returns them. */
export function checkLimits(what: string, limits: ResourceLimits | undefined): ResourceLimits {
  checkOptions(what, limits, KEYS);
  for (const key of KEYS) {
    const value = limits?.[key];
    if (value !== undefined && !(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
      throw new InvalidOptionError(`${what}.${key} must be a positive number of megabytes, got ${String(value)}`);
    }
  }
  return { ...limits };
}

/** The resourceLimits every stage and standby worker starts with: the defaults, overridden by the user's. */
export function stageLimits(limits: ResourceLimits | undefined): ResourceLimits {
  return { ...DEFAULT_STAGE_LIMITS, ...checkLimits('resourceLimits', limits) };
}
