import { InvalidOptionError } from './errors.js';

/** Rejects misspelt options: a silently ignored `capcity` is a bug the user never sees. */
export function checkOptions(what: string, options: object | undefined, known: readonly string[]): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError(`${what} must be an object, got ${options === null ? 'null' : typeof options}`);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new InvalidOptionError(`unknown option "${key}" in ${what}; the options are ${known.join(', ')}`);
  }
}
