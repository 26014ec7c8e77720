// overhead-20us: the pipeline's coordination overhead when each stage does 20 µs of real
// work per event (see ../pipeline/overhead.ts and docs/BENCHMARKS.md for the definition).
import { overheadScenario } from '../pipeline/overhead.js';

export default overheadScenario(20);
