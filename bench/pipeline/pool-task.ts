// The task of the piscina and tinypool chains: the trivial handler, on one event or on an array of events.
const handle = (value: number): number => value;

export default function task(input: number | number[]): number | number[] {
  return Array.isArray(input) ? input.map(handle) : handle(input);
}
