// Only a default export is a function: `records` and `batch` here are not, and are passed over.
export { default } from './which.js';
export const records = 'not a function';
export const batch = 42;
