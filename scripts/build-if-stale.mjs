// Rebuilds the WebAssembly core and the TypeScript when a source is newer than its output,
// so `npm test` and `npm run bench` always run what the tree says.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newest(paths) {
  let time = 0;
  for (const path of paths) {
    if (!existsSync(path)) continue;
    const stat = statSync(path);
    if (stat.isDirectory()) time = Math.max(time, newest(readdirSync(path).map((name) => join(path, name))));
    else time = Math.max(time, stat.mtimeMs);
  }
  return time;
}

function oldest(paths) {
  let time = Infinity;
  for (const path of paths) time = Math.min(time, existsSync(path) ? newest([path]) : 0);
  return time;
}

const run = (command) => execSync(command, { stdio: 'inherit' });

if (newest(['assembly', 'src/layout.ts', 'asconfig.json']) > oldest(['build/ringbus.wasm'])) run('npm run build:wasm');
if (newest(['src', 'bench', 'test/workers', 'tsconfig.json', 'tsconfig.dev.json', 'tsconfig.base.json']) > oldest(['dist/index.js', 'dist-dev']))
  run('npm run build:ts');
