// The single-thread reference: the same game logic, no server, no threads. Tests compare
// every game the server played with this run of the same moves.
import { finalize, initialize, processTurn } from './connect-four.js';

/** Plays `moves` ([{ player, column }], in order) and returns the result and what each move did. */
export function playReference(gameId, moves, work = 0) {
  let state = initialize(gameId, [0, 1]);
  const outcomes = [];
  for (const m of moves) {
    const r = processTurn(state, { kind: 'move', ...m }, work);
    outcomes.push(r.error ? r.error.code : 'ok');
    if (r.state) state = r.state;
  }
  return { result: state.status === 'playing' ? null : finalize(state), outcomes, state };
}
