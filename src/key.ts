import { InvalidKeyError } from './errors.js';

/**
 * A publish key's 32-bit hash, which a keyed record carries: FNV-1a over the key's UTF-8
 * bytes, then murmur3's finalizer so that the low bits (the partition) spread. An integer
 * key hashes as its decimal text, so 42 and '42' are the same key. Any language can
 * compute it: readers outside JavaScript find it in the record (docs/PROTOCOL.md).
 */
export function keyHash(key: unknown, what = 'keyHash()'): number {
  let text: string;
  if (typeof key === 'string') text = key;
  else if (typeof key === 'number' && Number.isSafeInteger(key)) text = String(key);
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
