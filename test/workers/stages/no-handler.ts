// A stage module that forgot to export its handler.
export const handle = 1;
