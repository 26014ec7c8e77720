import { msgpack } from '../codec.js';

/** What the dead-letter topic carries for an event its stage gave up on. */
export interface DeadLetter {
  stage: string;
  topic: string;
  seq: number;
  /** The event's value; null where it could not fit the dead-letter ring at all (`valueOmitted`). */
  value: unknown;
  attempts: number;
  /** A stack or message too long for the ring is cut (stack first), ending in '…'. */
  error: { name: string; message: string; stack?: string };
  /** Set when the value alone was too large for the dead-letter ring: the letter came without it. */
  valueOmitted?: true;
  /** With `valueOmitted`: the value's size in MessagePack bytes. */
  valueBytes?: number;
}

export function describeError(error: unknown): DeadLetter['error'] {
  // What a handler throws is anything at all: a revoked Proxy throws on every look, and a
  // description that threw would kill the worker on every attempt instead of dead-lettering.
  try {
    if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
    const described: DeadLetter['error'] = { name: String(error.name), message: String(error.message) };
    if (error.stack !== undefined) described.stack = String(error.stack);
    return described;
  } catch (cause) {
    return { name: 'Error', message: `the handler threw a value that cannot be described (${safeMessage(cause)})` };
  }
}

function safeMessage(error: unknown): string {
  try {
    return String((error as Error)?.message ?? error);
  } catch {
    return 'unreadable';
  }
}

const ELLIPSIS = '…';

/**
 * Fits a dead letter into `room` bytes of MessagePack, keeping the value first: the stack
 * is cut, then dropped, then the message is cut. Only a value too large even then is left
 * out (`valueOmitted`, `valueBytes`). Returns undefined if not even that fits.
 */
export class LetterFitter {
  private readonly codec = msgpack();

  constructor(private readonly room: number) {}

  fit(letter: DeadLetter): DeadLetter | undefined {
    let valueBytes: number;
    try {
      valueBytes = this.size(letter.value);
    } catch {
      // a batch handler's emit that no codec takes (a function, say): the letter says so without it
      return this.trimError({ ...letter, value: undefined, valueOmitted: true });
    }
    if (this.size(letter) <= this.room) return letter;
    const withValue = this.trimError(letter);
    if (withValue !== undefined) return withValue;
    return this.trimError({ ...letter, value: undefined, valueOmitted: true, valueBytes });
  }

  private size(value: unknown): number {
    return this.codec.encode(value).length;
  }

  /** The letter with its stack, then its message, cut to fit; undefined if nothing does. */
  private trimError(letter: DeadLetter): DeadLetter | undefined {
    const { name, message, stack } = letter.error;
    const withError = (error: DeadLetter['error']): DeadLetter => ({ ...letter, error });
    if (stack !== undefined) {
      const cut = this.longest(stack, (s) => withError({ name, message, stack: s }));
      if (cut !== undefined) return cut;
    }
    return this.longest(message, (m) => withError({ name, message: m }));
  }

  /** The letter made by `make` with the longest prefix of `text` that fits (cut ones end in '…'). */
  private longest(text: string, make: (text: string) => DeadLetter): DeadLetter | undefined {
    const full = make(text);
    if (this.size(full) <= this.room) return full;
    // not between the halves of a surrogate pair
    const at = (n: number) => make(text.slice(0, n > 0 && /[\uD800-\uDBFF]/.test(text[n - 1]) ? n - 1 : n) + ELLIPSIS);
    if (this.size(at(0)) > this.room) return undefined;
    let lo = 0; // fits
    let hi = text.length; // does not
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (this.size(at(mid)) <= this.room) lo = mid;
      else hi = mid;
    }
    return at(lo);
  }
}
