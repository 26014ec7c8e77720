// The vocabulary shared by scenarios and transports.
//
// A scenario (bench/scenarios/*.ts) moves events of one payload in one shape (producers,
// consumers, delivery) over several transports. A transport (bench/transports/*.ts) opens a
// Session for a scenario: its threads started once, then run(n) moves and checks n events
// as often as asked. measure.ts runs the sessions of a scenario in rounds.
import type { Fault, PayloadKind } from './payload.js';

export type WaitName = 'phased' | 'block' | 'yield' | 'spin';

export interface Shape {
  producers: number;
  consumers: number;
  /** 'all': every consumer sees every event (unicast, multicast); 'share': each event goes to one consumer (a group). */
  delivery: 'all' | 'share';
}

/** What a scenario asks of a transport. */
export interface FlowSpec {
  scenario: string;
  payload: PayloadKind;
  shape: Shape;
}

/** Settings of the whole run (command line). */
export interface RunContext {
  fault: Fault;
  /** A run fails when no event arrives for this long. */
  stallMs: number;
  wait: WaitName;
  capacity: number;
  cores: number;
  quick: boolean;
  log: (line: string) => void;
}

export interface RunResult {
  /** Events moved (n). */
  events: number;
  /** From the first publish to the last event checked by the last consumer. */
  seconds: number;
  /** Share of the run the producers spent publishing (the rest: consumers catching up). */
  producerShare?: number;
  /** Ring only: time consumers spent in wait(), producers waiting for space, in ms. */
  readerWaitMs?: number;
  producerWaitMs?: number;
}

/** One transport set up for one scenario. */
export interface Session {
  /** The JSON transport name: ring, postMessage, ... */
  readonly transport: string;
  /** One line for the table: which calls, which threads. */
  readonly how: string;
  /** Threads that are busy at once while events flow. */
  readonly busyThreads: number;
  /** A rough events/s, to size the warm-up run. */
  readonly guessRate: number;
  /** Event counts are multiples of this. */
  readonly unit: number;
  /** Extra JSON fields (api, batch, wait, ...). */
  readonly details: Record<string, unknown>;
  /** Moves `n` events and checks every one; throws BenchFailure when a check fails. */
  run(n: number): Promise<RunResult>;
  /** The checks after the last run, then teardown (which happens even if a check fails). */
  finish(): Promise<void>;
  /** Teardown without checks, after a failure elsewhere. */
  abort(): Promise<void>;
}

/** A transport with its settings, ready to open for a scenario. */
export interface TransportUse {
  readonly transport: string;
  /** Does this transport fit the scenario's shape and payload? */
  fits?(spec: FlowSpec): boolean;
  open(spec: FlowSpec, ctx: RunContext): Promise<Session>;
}

/** A goal a scenario checks its figures against. */
export interface Target {
  name: string;
  value: number;
  target: number;
  met: boolean;
  unit: string;
  better: 'higher' | 'lower';
  /** How `value` was obtained (which rows). */
  detail?: string;
}

export function target(name: string, value: number, goal: number, unit: string, better: 'higher' | 'lower' = 'higher', detail?: string): Target {
  return { name, value, target: goal, met: better === 'higher' ? value >= goal : value <= goal, unit, better, ...(detail && { detail }) };
}
