// The protocol's one hard rule, checked on the code that runs: between taking shared state
// (the claim lock, a COMMITTING record) and giving it back, no call and no loop. V8 stops a
// terminated worker only at function entries and loop back-edges, so such a section always
// runs to its end and a killed producer never leaves the lock held or a record COMMITTING.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const wat = readFileSync(new URL('../build/ringbus.wat', import.meta.url), 'utf8');

/** `file/function`: the function as compiled from assembly/<file>.ts. */
function body(path: string): string[] {
  const lines = wat.split('\n');
  const start = lines.findIndex((l) => l === ` (func $assembly/${path}` || l.startsWith(` (func $assembly/${path} `));
  expect(start, `function ${path} in build/ringbus.wat`).toBeGreaterThan(0);
  const end = lines.findIndex((l, i) => i > start && l === ' )');
  return lines.slice(start, end);
}

/** What runs after the CAS that takes the state, once it succeeded. */
function afterTaking(name: string): string[] {
  const lines = body(name);
  const cas = lines.findIndex((l) => l.includes('atomic.rmw.cmpxchg'));
  expect(cas, `a CAS in ${name}`).toBeGreaterThan(0);
  const rest = lines.slice(cas + 1);
  // the branch straight after the CAS is its failure path: back to the loop, holding nothing
  const failure = rest.findIndex((l) => /\bbr_if \$while-continue/.test(l));
  expect(failure).toBeGreaterThanOrEqual(0);
  expect(failure).toBeLessThan(4);
  return rest.slice(failure + 1);
}

/** What runs after the first CAS of a function that takes its state once, without retrying. */
function afterFirstCas(name: string): string[] {
  const lines = body(name);
  const cas = lines.findIndex((l) => l.includes('atomic.rmw.cmpxchg'));
  expect(cas, `a CAS in ${name}`).toBeGreaterThan(0);
  return lines.slice(cas + 1);
}

function expectStraight(held: string[]): void {
  expect(held.filter((l) => /^\s*(call|call_indirect|loop)\b/.test(l))).toEqual([]);
  expect(held.filter((l) => /\bbr(_if)? \$(while|for)-continue/.test(l))).toEqual([]);
}

describe('critical sections in the compiled core', () => {
  // Each takes the claim lock (lockClaims/tryLockClaims, inlined) or a record's COMMITTING state.
  for (const name of ['claim/claim', 'claim/commit', 'readers/registerReader', 'readers/setCursorLocked', 'producers/closeRing']) {
    it(`${name}: no call, loop or backward branch while the state is held`, () => {
      expectStraight(afterTaking(name));
    });
  }
  // deadSlot holds a dying thread's producer slot (OWNER_DYING) until it has revoked every
  // claim listed there; abort holds nothing, but it must unlist what it revoked.
  for (const name of ['producers/deadSlot', 'claim/abort']) {
    it(`${name}: no call, loop or backward branch after its first CAS`, () => {
      expectStraight(afterFirstCas(name));
    });
  }
});
