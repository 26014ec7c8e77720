import { InvalidKeyError } from './errors.js';

export type { EventKey } from './types.js';

/**
 * A publish key's 32-bit hash, which a keyed record carries: FNV-1a over the key's UTF-8
 * bytes, then murmur3's finalizer so that the low bits (the partition) spread. An integer
 * key hashes as its decimal text, so 42 and '42' are the same key. Any language can
 * compute it: readers outside JavaScript find it in the record (docs/PROTOCOL.md).
 */
export function keyHash(key: unknown, what = 'keyHash()'): number {
  let text: string;
  if (typeof key === 'number' && Number.isSafeInteger(key)) return finish(fnvDecimal(key));
  if (typeof key === 'string') text = key;
  else throw new InvalidKeyError(what, key);
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return finish(fnvUtf8(text));
    hash = Math.imul(hash ^ c, 0x01000193);
  }
  return finish(hash);
}

const encoder = new TextEncoder();
const digits = new Uint8Array(16);

/** FNV-1a over the decimal text of a safe integer, without making the string (a publish per event is hot). */
function fnvDecimal(n: number): number {
  let hash = 0x811c9dc5;
  if (n < 0) {
    hash = Math.imul(hash ^ 0x2d, 0x01000193); // '-'
    n = -n;
  }
  let count = 0;
  do {
    digits[count++] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  } while (n > 0);
  while (count > 0) hash = Math.imul(hash ^ digits[--count], 0x01000193);
  return hash;
}

function fnvUtf8(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(text)) hash = Math.imul(hash ^ byte, 0x01000193);
  return hash;
}

function finish(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}
