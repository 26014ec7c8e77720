// A stage for tests: the step stage, in a module that takes 400 ms to load (a thread that
// loads it, standby or new worker, is ready that much later).
await new Promise((resolve) => setTimeout(resolve, 400));

export { handler } from './step.js';
