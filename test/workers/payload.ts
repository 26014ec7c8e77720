// Self-checking payloads: producer id, per-producer sequence, a length derived from both,
// and bytes that depend on all three. Any torn, stale or foreign byte fails check().

export const HEADER = 8;

export function payloadSize(producer: number, seq: number, maxExtra: number): number {
  return HEADER + ((Math.imul(producer * 7919 + seq, 2654435761) >>> 0) % (maxExtra + 1));
}

export function fill(bytes: Uint8Array, producer: number, seq: number): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(0, producer);
  view.setUint32(4, seq);
  for (let i = HEADER; i < bytes.length; i++) bytes[i] = (producer * 31 + seq * 7 + i) & 255;
  return bytes;
}

export function make(producer: number, seq: number, maxExtra: number): Uint8Array {
  return fill(new Uint8Array(payloadSize(producer, seq, maxExtra)), producer, seq);
}

/** Returns [producer, seq] or throws with what is wrong. */
export function check(bytes: Uint8Array, maxExtra: number): [number, number] {
  if (bytes.length < HEADER) throw new Error(`payload of ${bytes.length} bytes is shorter than its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const producer = view.getUint32(0);
  const seq = view.getUint32(4);
  const size = payloadSize(producer, seq, maxExtra);
  if (bytes.length !== size) throw new Error(`payload ${producer}/${seq} has ${bytes.length} bytes, expected ${size}`);
  for (let i = HEADER; i < bytes.length; i++) {
    if (bytes[i] !== ((producer * 31 + seq * 7 + i) & 255)) throw new Error(`payload ${producer}/${seq} corrupt at byte ${i}`);
  }
  return [producer, seq];
}
