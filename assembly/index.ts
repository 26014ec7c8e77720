// The ring protocol (docs/PROTOCOL.md), one file per part; this entry file names the
// module's exports, in the order the compiled module lists them.
export { claimPosition } from "./claim";
export { initRing, attachRing, dataOffset, keyedOffset, slotOffset } from "./ring";
export { blockedAt, holdPosition, minGate } from "./gate";
export { claim, commit, abort } from "./claim";
export { acquireProducer, producerOwner, producerOf, deadSlot, claimOwner, closeRing } from "./producers";
export { wakeAll } from "./wake";
export { registerReader, setCursorLocked, releaseReader, available, cursor, cursorIndex, advance, openClaimAt, pendingSeq, revoke } from "./readers";
export { lapped, resync, seqFromPosition } from "./lossy";
export { groupClaim, memberPending, memberDone } from "./groups";
export { tailPosition, addProducerWait, addSlotCounter, committedEvents, counter, slotCounter } from "./counters";
