/**
 * Names any value for an error message. Never throws: a symbol, an object without a
 * prototype, a detached typed array or a hostile Proxy must still get a typed error, and
 * a template literal would call their conversions.
 */
export function describe(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
    case 'symbol':
      return value.toString();
    case 'bigint':
      return `${value}n (a BigInt)`;
    case 'function':
      return 'a function';
    case 'object':
      return value === null ? 'null' : describeObject(value);
    default:
      return String(value); // number, boolean, undefined
  }
}

function describeObject(value: object): string {
  try {
    if (Array.isArray(value)) return `an array of ${value.length}`;
    if (ArrayBuffer.isView(value)) return `a ${viewName(value)} of ${value.byteLength} bytes`;
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === null) return 'an object with no prototype';
    const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== '' && name !== 'Object' ? `a ${name}` : 'an object';
  } catch {
    return 'an object'; // a Proxy whose traps throw
  }
}

function viewName(view: ArrayBufferView): string {
  const name = (Object.getPrototypeOf(view) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof name === 'string' ? name : 'typed array';
}
