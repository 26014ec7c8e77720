// Every scenario, in the order a full run measures them. To add one: a file in scenarios/
// whose default export is a Scenario (throughputScenario() for the common kind), and a line
// here. See docs/BENCHMARKS.md.
import type { Scenario } from './scenario.js';
import unicastRaw64 from './scenarios/unicast-raw64.js';
import unicastMsgpack from './scenarios/unicast-msgpack.js';
import unicastRaw4k from './scenarios/unicast-raw4k.js';
import multicast2Raw64 from './scenarios/multicast2-raw64.js';
import multicast3Raw64 from './scenarios/multicast3-raw64.js';
import sequencer2Raw64 from './scenarios/sequencer2-raw64.js';
import group2Raw64 from './scenarios/group2-raw64.js';
import keyedGroup2Raw64 from './scenarios/keyed-group2-raw64.js';
import latencyRaw64 from './scenarios/latency-raw64.js';
import idleCpu from './scenarios/idle-cpu.js';
import micro from './scenarios/micro.js';
import pipeline3Trivial from './scenarios/pipeline3-trivial.js';
import overhead20us from './scenarios/overhead-20us.js';
import overhead2us from './scenarios/overhead-2us.js';
import topology1000 from './scenarios/topology-1000.js';
import heal from './scenarios/heal.js';
import bridge from './scenarios/bridge.js';
import gameServer from './scenarios/game-server.js';

export const scenarios: readonly Scenario[] = [
  unicastRaw64,
  unicastMsgpack,
  unicastRaw4k,
  multicast2Raw64,
  multicast3Raw64,
  sequencer2Raw64,
  group2Raw64,
  keyedGroup2Raw64,
  latencyRaw64,
  idleCpu,
  micro,
  pipeline3Trivial,
  overhead20us,
  overhead2us,
  topology1000,
  heal,
  bridge,
  gameServer,
];
