// Connect Four as a pure, deterministic game: the same moves give the same result in any
// thread. A game goes through initialize → processTurn (per event) → finalize.
export const COLUMNS = 7;
export const ROWS = 6;

/** A new game between two players (0 and 1); player 0 moves first. */
export function initialize(gameId, players) {
  return {
    game: gameId,
    players,
    board: new Array(COLUMNS * ROWS).fill(0),
    turn: 0,
    next: 0,
    status: 'playing',
    winner: null,
    reason: null,
    last: null,
    eval: 0,
  };
}

/**
 * Applies one event to a game and returns `{ state }` (a new state) or `{ error: { code, message } }`
 * (the state is unchanged). Events: `{ kind: 'move', player, column }`, `{ kind: 'leave', player }`.
 * `work` rounds of position analysis make a turn cost real computation (the benchmark's ~50 µs).
 */
export function processTurn(state, event, work = 0) {
  if (state.status !== 'playing') return refuse('game-over', `game ${state.game} is over (${state.status}); join a new game`);
  if (event.kind === 'leave') {
    const winner = 1 - event.player;
    return { state: { ...state, status: 'abandoned', winner, reason: `player ${event.player} left the game` } };
  }
  if (event.kind !== 'move') return refuse('bad-event', `unknown event kind ${JSON.stringify(event.kind)}`);
  if (event.player !== state.next)
    return refuse('not-your-turn', `it is player ${state.next}'s turn, not player ${event.player}'s: wait for the next state update`);
  const { column } = event;
  if (!Number.isInteger(column) || column < 0 || column >= COLUMNS)
    return refuse('bad-column', `column must be an integer from 0 to ${COLUMNS - 1}, got ${JSON.stringify(column)}`);
  const row = freeRow(state.board, column);
  if (row < 0) return refuse('column-full', `column ${column} is full: choose another`);
  const board = state.board.slice();
  board[row * COLUMNS + column] = event.player + 1;
  const turn = state.turn + 1;
  const won = wins(board, row, column, event.player + 1);
  const status = won ? 'won' : turn === COLUMNS * ROWS ? 'draw' : 'playing';
  return {
    state: {
      ...state,
      board,
      turn,
      next: 1 - event.player,
      status,
      winner: won ? event.player : null,
      last: { player: event.player, column, row },
      eval: analyse(board, work, state.eval),
    },
  };
}

/** The game's result, once it is over. */
export function finalize(state) {
  return {
    game: state.game,
    status: state.status,
    winner: state.winner,
    turns: state.turn,
    reason: state.reason,
    board: state.board.join(''),
    eval: state.eval,
  };
}

export function freeRow(board, column) {
  for (let row = 0; row < ROWS; row++) if (board[row * COLUMNS + column] === 0) return row;
  return -1;
}

const refuse = (code, message) => ({ error: { code, message } });

function wins(board, row, column, who) {
  for (const [dr, dc] of [
    [0, 1],
    [1, 0],
    [1, 1],
    [1, -1],
  ]) {
    let n = 1;
    for (const s of [1, -1]) {
      for (let k = 1; k < 4; k++) {
        const r = row + s * k * dr;
        const c = column + s * k * dc;
        if (r < 0 || r >= ROWS || c < 0 || c >= COLUMNS || board[r * COLUMNS + c] !== who) break;
        n++;
      }
    }
    if (n >= 4) return true;
  }
  return false;
}

// Every line of four on the board, as cell indexes.
const WINDOWS = (() => {
  const out = [];
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < COLUMNS; c++) {
      for (const [dr, dc] of [
        [0, 1],
        [1, 0],
        [1, 1],
        [1, -1],
      ]) {
        const end = [r + 3 * dr, c + 3 * dc];
        if (end[0] < 0 || end[0] >= ROWS || end[1] < 0 || end[1] >= COLUMNS) continue;
        out.push([0, 1, 2, 3].map((k) => (r + k * dr) * COLUMNS + c + k * dc));
      }
    }
  }
  return out;
})();

/** Scores every line of four `rounds` times, folding the scores into a 32-bit hash (deterministic). */
export function analyse(board, rounds, seed) {
  let h = seed >>> 0;
  for (let i = 0; i < rounds; i++) {
    for (const w of WINDOWS) {
      let a = 0;
      let b = 0;
      for (const cell of w) {
        const v = board[cell];
        if (v === 1) a++;
        else if (v === 2) b++;
      }
      h = Math.imul(h ^ (a * 5 + b + i), 0x9e3779b1) >>> 0;
      h ^= h >>> 15;
    }
  }
  return h >>> 0;
}

/** How many rounds of `analyse` take about `micros` µs on this machine (measured now). */
export function calibrate(micros) {
  if (micros <= 0) return 0;
  const board = Array.from({ length: COLUMNS * ROWS }, (_, i) => (i * 7) % 3);
  analyse(board, 2000, 1);
  const rounds = 20_000;
  const t0 = process.hrtime.bigint();
  analyse(board, rounds, 1);
  const perRoundUs = Number(process.hrtime.bigint() - t0) / 1000 / rounds;
  return Math.max(1, Math.round(micros / perRoundUs));
}
