import { InvalidOptionError } from './errors.js';

/** Options earlier versions took, and why they are gone. */
const REMOVED: Readonly<Record<string, string>> = {
  claimTimeoutMs: 'claims are no longer revoked after a timeout: a live producer is waited for, and a dead one\'s claims are revoked when its thread ends; remove the option',
};

/** Rejects misspelt options: a silently ignored `capcity` is a bug the user never sees. */
export function checkOptions(what: string, options: object | undefined, known: readonly string[]): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError(`${what} must be an object, got ${options === null ? 'null' : typeof options}`);
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(REMOVED, key)) throw new InvalidOptionError(`option "${key}" in ${what} was removed: ${REMOVED[key]}`);
    if (!known.includes(key)) throw new InvalidOptionError(`unknown option "${key}" in ${what}; the options are ${known.join(', ')}`);
  }
}
