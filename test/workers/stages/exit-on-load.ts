// Ends its thread while it loads, as a module that calls process.exit() at its top level does.
process.exit(4);

export function handler(): void {}
