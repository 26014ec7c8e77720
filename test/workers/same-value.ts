// Deep equality that checks what structured clone keeps: prototypes, the kind and bytes of
// typed arrays, Error name/message/stack/cause, Map and Set order, holes, -0, key order.
// Returns where the two differ, or null. Shared by the tests and their workers.

const TYPED = Object.getPrototypeOf(Int8Array);

export function difference(actual: unknown, expected: unknown, path = '$'): string | null {
  if (typeof actual !== typeof expected) return `${path}: ${typeof actual} instead of ${typeof expected}`;
  if (typeof expected !== 'object' || expected === null || actual === null) {
    return Object.is(actual, expected) ? null : `${path}: ${show(actual)} instead of ${show(expected)}`;
  }
  const a = actual as object;
  const e = expected as object;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(e)) return `${path}: prototype ${name(a)} instead of ${name(e)}`;
  if (e instanceof Date) return Object.is((a as Date).getTime(), e.getTime()) ? null : `${path}: ${show(a)} instead of ${show(e)}`;
  if (e instanceof RegExp) return (a as RegExp).source === e.source && (a as RegExp).flags === e.flags ? null : `${path}: ${show(a)} instead of ${show(e)}`;
  if (e instanceof ArrayBuffer) return bytes(path, new Uint8Array(a as ArrayBuffer), new Uint8Array(e));
  if (ArrayBuffer.isView(e)) {
    const av = a as ArrayBufferView;
    if (e instanceof TYPED && (av as unknown as { length: number }).length !== (e as unknown as { length: number }).length) return `${path}: length differs`;
    return bytes(path, new Uint8Array(av.buffer, av.byteOffset, av.byteLength), new Uint8Array(e.buffer, e.byteOffset, e.byteLength));
  }
  if (e instanceof Error) {
    const ae = a as Error;
    for (const key of ['name', 'message', 'stack'] as const) if (ae[key] !== e[key]) return `${path}.${key}: ${show(ae[key])} instead of ${show(e[key])}`;
    if (Object.hasOwn(ae, 'cause') !== Object.hasOwn(e, 'cause')) return `${path}.cause: present on one side only`;
    return Object.hasOwn(e, 'cause') ? difference(ae.cause, e.cause, `${path}.cause`) : null;
  }
  if (e instanceof Map) {
    const ae = [...(a as Map<unknown, unknown>)];
    const ee = [...e];
    if (ae.length !== ee.length) return `${path}: Map of ${ae.length} entries instead of ${ee.length}`;
    for (let i = 0; i < ee.length; i++) {
      const d = difference(ae[i][0], ee[i][0], `${path}.key[${i}]`) ?? difference(ae[i][1], ee[i][1], `${path}.get(${show(ee[i][0])})`);
      if (d) return d;
    }
    return null;
  }
  if (e instanceof Set) return difference([...(a as Set<unknown>)], [...e], `${path}(Set)`);
  if (Array.isArray(e) && (a as unknown[]).length !== e.length) return `${path}: length ${(a as unknown[]).length} instead of ${e.length}`;
  // boxed primitives
  if (
    e instanceof Number ||
    e instanceof String ||
    e instanceof Boolean ||
    (typeof BigInt === 'function' && e instanceof (Object(0n).constructor as typeof Object))
  ) {
    const [av, ev] = [(a as { valueOf(): unknown }).valueOf(), (e as { valueOf(): unknown }).valueOf()];
    if (!Object.is(av, ev)) return `${path}: boxed ${show(av)} instead of ${show(ev)}`;
  }
  const ak = Object.keys(a);
  const ek = Object.keys(e);
  if (ak.join('\u0000') !== ek.join('\u0000')) return `${path}: keys [${ak.map(show)}] instead of [${ek.map(show)}]`;
  for (const k of ek) {
    const d = difference((a as Record<string, unknown>)[k], (e as Record<string, unknown>)[k], `${path}[${show(k)}]`);
    if (d) return d;
  }
  return null;
}

function bytes(path: string, a: Uint8Array, e: Uint8Array): string | null {
  if (a.length !== e.length) return `${path}: ${a.length} bytes instead of ${e.length}`;
  for (let i = 0; i < e.length; i++) if (a[i] !== e[i]) return `${path}: byte ${i} is ${a[i]} instead of ${e[i]}`;
  return null;
}

function name(o: object): string {
  const p = Object.getPrototypeOf(o);
  return p === null ? 'null' : (p.constructor?.name ?? 'anonymous');
}

function show(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number' && Object.is(v, -0)) return '-0';
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Date) return `Date(${v.getTime()})`;
  return String(v);
}
