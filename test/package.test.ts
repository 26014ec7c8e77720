// The package as a user gets it: `npm pack`, installed into a new project, type-checked with
// the strictest settings a user may have (no DOM library, skipLibCheck off), imported, and
// required (which must fail with a way out).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const typesNode = JSON.parse(readFileSync(join(root, 'node_modules/@types/node/package.json'), 'utf8')).version as string;

let dir: string;
let files: string[];

const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
const node = (args: string[]) => spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', timeout: 30_000 });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ringbus-consumer-'));
  // The tests run against the build that `npm test` made: pack it as it is, without rebuilding.
  const [pack] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir], root));
  files = pack.files.map((f: { path: string }) => f.path);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', join(dir, pack.filename), `@types/node@${typesNode}`], dir);
}, 180_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the published package', () => {
  it('holds the license, the core and the build, and no benchmark results', () => {
    expect(files).toContain('LICENSE');
    expect(files).toContain('build/ringbus.wasm');
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files.filter((f) => f.startsWith('docs/') && !f.endsWith('.md'))).toEqual([]);
    expect(files.filter((f) => /^(bench|test|src|assembly)\//.test(f))).toEqual([]);
  });

  it('ships source maps that carry their sources', () => {
    const maps = files.filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    for (const map of maps) {
      const { sources, sourcesContent } = JSON.parse(readFileSync(join(dir, 'node_modules/ringbus', map), 'utf8'));
      expect(sourcesContent, map).toHaveLength(sources.length);
      expect(
        sourcesContent.every((s: unknown) => typeof s === 'string' && s.length > 0),
        map,
      ).toBe(true);
    }
  });

  it('type-checks in a project with lib ES2022 and skipLibCheck off', () => {
    writeConsumerTsconfig(dir, 'check.ts');
    writeFileSync(
      join(dir, 'check.ts'),
      [
        "import { createBus, attach, RingbusError, type BusHandle } from 'ringbus';",
        "const bus = createBus({ capacity: 4096, topics: ['a'] });",
        'const handle: BusHandle = bus.handle;',
        'void attach;',
        "bus.publish('a', { n: 1 });",
        "const reader = bus.reader<{ n: number }>('r');",
        'reader.poll((value) => { const n: number = value.n; void n; }, 10);',
        'export const error: RingbusError | undefined = undefined;',
        'export { handle };',
      ].join('\n'),
    );
    const result = node([tsc, '-p', 'tsconfig.json']);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('types and exports only the public API: no internal module, no ring behind a Bus or Reader', () => {
    writeConsumerTsconfig(dir, 'internals.ts');
    writeFileSync(
      join(dir, 'internals.ts'),
      [
        "import { createBus } from 'ringbus';",
        "const bus = createBus({ topics: ['a'] });",
        'bus.publishByIds([0], [1], true);',
        "bus.topicIdOf('a');",
        "bus.reader('r').readInto(1, [], [], []);",
      ].join('\n'),
    );
    const checked = node([tsc, '-p', 'tsconfig.json']);
    const errors = (checked.stdout.match(/error TS2339/g) ?? []).length; // property does not exist
    expect(errors, checked.stdout).toBe(3);
    const declarations =
      readFileSync(join(dir, 'node_modules/ringbus/dist/bus.d.ts'), 'utf8') + readFileSync(join(dir, 'node_modules/ringbus/dist/reader.d.ts'), 'utf8');
    expect(declarations).not.toMatch(/@internal|publishByIds|topicIdOf|readInto|private /);
    const imported = node(['--input-type=module', '-e', "await import('ringbus/internal')"]);
    expect(imported.status).not.toBe(0);
    expect(imported.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  it('imports as an ES module and carries events', () => {
    writeFileSync(
      join(dir, 'main.mjs'),
      [
        "import { createBus } from 'ringbus';",
        "const bus = createBus({ capacity: 4096, topics: ['a'] });",
        "const reader = bus.reader('r');",
        "bus.publishBatch('a', [1, 2, 3]);",
        'const got = [];',
        'reader.poll((value) => got.push(value), 10);',
        'console.log(got.join(","));',
        'bus.close();',
      ].join('\n'),
    );
    const result = node(['main.mjs']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('1,2,3\n');
  });

  it('refuses require() with an error that says what to do', () => {
    for (const entry of ['ringbus', 'ringbus/metrics']) {
      const result = node(['-e', `require(${JSON.stringify(entry)})`]);
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain('ringbus is ESM-only: use import() or set "type": "module"');
    }
  });
});

/** A consumer project's tsconfig as strict as a user's can be: no DOM library, library types checked. */
function writeConsumerTsconfig(dir: string, file: string): void {
  const compilerOptions = {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2022'],
    types: ['node'],
    strict: true,
    skipLibCheck: false,
    noEmit: true,
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: [file] }));
}
