import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  createPipeline,
  describePipeline,
  DuplicateStageError,
  InvalidOptionError,
  StageLoadError,
  UnconsumedInputError,
  UnproducedOutputError,
  UnproducedTopicError,
  type StageDeclaration,
} from 'ringbus';
import { collect, stageUrl } from './pipeline-helpers.js';

const m = stageUrl('step');
const stage = (name: string, consumes: string[], produces: string[] = []): StageDeclaration => ({ name, module: m, consumes, produces });

describe('pipeline topology', () => {
  it('derives order, fan-out, joins and loops from what stages consume and produce', () => {
    const d = describePipeline({
      inputs: ['in'],
      outputs: ['done'],
      stages: [
        stage('join', ['l', 'r'], ['joined']),
        stage('split', ['in'], ['l', 'r']),
        stage('retry', ['joined', 'again'], ['again', 'checked']),
        stage('finish', ['checked'], ['done', 'audit']),
      ],
    });
    expect(d.components).toEqual([['split'], ['join'], ['retry'], ['finish']]);
    expect(d.cycles).toEqual([['retry']]);
    expect(d.edges).toContainEqual({ from: 'split', to: 'join', topic: 'l', feedback: false });
    expect(d.edges).toContainEqual({ from: 'retry', to: 'retry', topic: 'again', feedback: true });
    expect(d.unconsumed).toEqual(['audit']); // produced, consumed by nobody, not declared an output: reported
    expect(d.topics.find((t) => t.name === 'done')).toMatchObject({ output: true, producers: ['finish'], consumers: [] });
    expect(d.stages.find((s) => s.name === 'retry')).toMatchObject({ inCycle: true });
  });

  it('a stage that repairs dead letters and feeds them back is a loop', () => {
    const d = describePipeline({ inputs: ['in'], stages: [stage('work', ['in', 'fixed'], ['out']), stage('repair', ['dead-letter'], ['fixed'])] });
    expect(d.cycles).toEqual([['work', 'repair']]);
    expect(d.edges).toContainEqual({ from: 'work', to: 'repair', topic: 'dead-letter', feedback: true });
    expect(d.edges).not.toContainEqual(expect.objectContaining({ from: 'repair', to: 'repair' }));
  });

  it('renders Mermaid and DOT', () => {
    const options = {
      inputs: ['in'],
      outputs: ['out'],
      stages: [{ ...stage('a', ['in', 'back'], ['mid']), concurrency: 2 }, stage('b', ['mid'], ['out', 'back'])],
    };
    const mermaid = describePipeline(options, 'mermaid');
    expect(mermaid.split('\n')[0]).toBe('flowchart LR');
    expect(mermaid).toContain('s0["a ×2"]');
    expect(mermaid).toContain('in -- "in" --> s0');
    expect(mermaid).toContain('s1 -. "back" .-> s0'); // feedback edges dotted
    expect(mermaid).toContain('s1 -- "out" --> out');
    const dot = describePipeline(options, 'dot');
    expect(dot).toMatch(/^digraph pipeline \{/);
    expect(dot).toContain('s1 -> s0 [label="back", style=dashed];');
    expect(dot.trim().endsWith('}')).toBe(true);
  });

  it('draws stages named "in" and "out" as stages, apart from the input and output nodes', () => {
    const options = { inputs: ['x'], outputs: ['y'], stages: [stage('in', ['x'], ['m']), stage('out', ['m'], ['y'])] };
    const mermaid = describePipeline(options, 'mermaid');
    expect(mermaid).toContain('s0["in"]');
    expect(mermaid).toContain('s1["out"]');
    expect(mermaid).toContain('in -- "x" --> s0');
    expect(mermaid).toContain('s0 -- "m" --> s1');
    expect(mermaid).toContain('s1 -- "y" --> out');
    const dot = describePipeline(options, 'dot');
    expect(dot).toContain('in -> s0 [label="x"];');
    expect(dot).toContain('s1 -> out [label="y"];');
  });

  it('every invalid declaration gives its typed error', () => {
    expect(() => describePipeline({ stages: [stage('a', ['in'])], inputs: ['in'] })).not.toThrow();
    expect(() => describePipeline({ stages: [stage('a', ['in']), stage('a', ['in'])], inputs: ['in'] })).toThrow(DuplicateStageError);
    const unproduced = (() => {
      try {
        describePipeline({ stages: [stage('a', ['in'], ['x']), stage('b', ['y'])], inputs: ['in'] });
      } catch (error) {
        return error as UnproducedTopicError;
      }
    })();
    expect(unproduced).toBeInstanceOf(UnproducedTopicError);
    expect(unproduced).toMatchObject({ topic: 'y', stages: ['b'], code: 'ERR_RINGBUS_UNPRODUCED_TOPIC' });
    expect(unproduced!.message).toContain('inputs: ["y"]');
    expect(() => describePipeline({ stages: [] })).toThrow(InvalidOptionError);
    expect(() => describePipeline({ stages: [{ name: 'a', module: m, consumes: [] }] })).toThrow(/consume at least one topic/);
    expect(() => describePipeline({ stages: [{ name: 'a', module: '', consumes: ['in'] }], inputs: ['in'] })).toThrow(/module must be a URL or a path/);
    expect(() => describePipeline({ stages: [{ ...stage('a', ['in']), concurrency: 0 }], inputs: ['in'] })).toThrow(/concurrency/);
    expect(() => describePipeline({ stages: [{ ...stage('a', ['in']), concurrency: 1e6 }], inputs: ['in'] })).toThrow(/concurrency is at most 1016/);
    expect(() => describePipeline({ stages: [{ ...stage('a', ['in']), retry: { attempts: 0 } }], inputs: ['in'] })).toThrow(/retry.attempts/);
    expect(() => describePipeline({ stages: [{ ...stage('a', ['in']), consume: ['x'] } as StageDeclaration], inputs: ['in'] })).toThrow(
      /unknown option "consume"/,
    );
    expect(() => createPipeline({ stages: [stage('a', ['in'])], inputs: ['in'], capcity: 1 } as any)).toThrow(/unknown option "capcity"/);
    expect(() => (createPipeline as any)()).toThrow(InvalidOptionError);
    expect(() => (describePipeline as any)()).toThrow(InvalidOptionError);
    expect(() => describePipeline({ stages: [stage('a', ['in'])], inputs: ['in'], stagez: [] } as any)).toThrow(/unknown option "stagez"/);
    expect(() => describePipeline({ stages: [{ ...stage('a', ['in']), export: '' }], inputs: ['in'] })).toThrow(/export must be the name/);
    expect(() => createPipeline({ stages: [stage('a', ['in'])], inputs: ['in'], resourceLimits: { maxYoungGenerationMb: 8 } } as any)).toThrow(
      /unknown option "maxYoungGenerationMb" in resourceLimits/,
    );
    expect(() => createPipeline({ stages: [stage('a', ['in'])], inputs: ['in'], resourceLimits: { maxOldGenerationSizeMb: 0 } })).toThrow(InvalidOptionError);
    expect(() => createPipeline({ stages: [stage('a', ['in'])], inputs: ['in'], resourceLimits: { stackSizeMb: '4' as any } })).toThrow(
      /resourceLimits.stackSizeMb must be a positive number/,
    );
  });

  it('a module that does not load, or exports no handler, fails start() with StageLoadError', async () => {
    for (const [module, message] of [
      [new URL('./no-such-stage.js', stageUrl('step')), /did not load/],
      [stageUrl('no-handler'), /exports no handler function: export one as "handler" or as the default export/],
    ] as const) {
      const p = createPipeline({ inputs: ['in'], standby: 0, stages: [{ name: 'broken', module, consumes: ['in'] }] });
      const error = await p.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StageLoadError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).toContain('stage "broken"');
      await p.close();
    }
  });

  it('an emit into an undeclared topic fails the attempt with UndeclaredTopicError, which the dead letter carries', async () => {
    const p = createPipeline({ inputs: ['in'], stages: [{ name: 'stray', module: stageUrl('stray'), consumes: ['in'], retry: { attempts: 1 } }] });
    try {
      const dead = p.output.reader<any>('dead');
      await p.start();
      await p.publishAsync('in', { id: 1 });
      const [letter] = await collect(dead, 1, 10_000);
      expect(letter.value.error).toMatchObject({ name: 'UndeclaredTopicError' });
      expect(letter.value.error.message).toContain('add "nowhere" to its produces');
      await expect(p.publishAsync('nowhere', 1)).rejects.toThrow(/not an input of this pipeline/);
      expect(() => p.tryPublish('nowhere', 1)).toThrow(/not an input of this pipeline/);
    } finally {
      await p.close();
    }
  });

  it('an output that no stage produces, and an input that no stage consumes, are typed errors naming the topic and the stages', () => {
    const unproduced = (() => {
      try {
        describePipeline({ inputs: ['in'], outputs: ['result'], stages: [stage('a', ['in'], ['out']), stage('b', ['out'], ['done'])] });
      } catch (error) {
        return error;
      }
    })();
    expect(unproduced).toBeInstanceOf(UnproducedOutputError);
    expect(unproduced).toMatchObject({ topic: 'result', stages: ['a', 'b'], code: 'ERR_RINGBUS_UNPRODUCED_OUTPUT' });
    expect((unproduced as Error).message).toMatch(/output topic "result" is produced by no stage.*"a", "b"/);
    const unconsumed = (() => {
      try {
        createPipeline({ inputs: ['in', 'orders'], outputs: ['out'], stages: [stage('a', ['in'], ['out'])] });
      } catch (error) {
        return error;
      }
    })();
    expect(unconsumed).toBeInstanceOf(UnconsumedInputError);
    expect(unconsumed).toMatchObject({ topic: 'orders', stages: ['a'], code: 'ERR_RINGBUS_UNCONSUMED_INPUT' });
    expect((unconsumed as Error).message).toMatch(/input topic "orders" is consumed by no stage.*"a"/);
    // the dead-letter topic is produced by every stage: an output without a producer of its own
    expect(() => describePipeline({ inputs: ['in'], outputs: ['out', 'dead-letter'], stages: [stage('a', ['in'], ['out'])] })).not.toThrow();
  });

  it('a produced topic that no stage consumes is reported and warned about, and not drawn as an output', async () => {
    const warnings: Error[] = [];
    const listen = (warning: Error) => void warnings.push(warning);
    process.on('warning', listen);
    try {
      const options = { inputs: ['in'], outputs: ['out'], stages: [stage('a', ['in'], ['out', 'audit'])] };
      const p = createPipeline(options);
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      expect(p.describe().unconsumed).toEqual(['audit']);
      const mermaid = describePipeline(options, 'mermaid');
      expect(mermaid).toContain('s0 -- "out" --> out');
      expect(mermaid).not.toContain('"audit"');
      expect(describePipeline(options, 'dot')).not.toContain('"audit"');
      const mine = warnings.filter((w) => (w as { code?: string }).code === 'RINGBUS_UNCONSUMED_TOPIC');
      expect(mine).toHaveLength(1);
      expect(mine[0].message).toContain('topic "audit" is produced by "a" but consumed by no stage');
      await p.close();
    } finally {
      process.off('warning', listen);
    }
  });

  it("stage modules load from absolute and relative paths, file: URLs, and paths with '#', '%' and spaces", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringbus stage #1 %41 '));
    try {
      const step = fileURLToPath(stageUrl('step'));
      const files = ['plain.js', 'with#hash.js', 'with%25percent.js', 'with space.js'].map((name) => {
        const sub = join(dir, name.replace('.js', ''));
        mkdirSync(sub);
        const file = join(sub, name);
        copyFileSync(step, file);
        return file;
      });
      const modules: (string | URL)[] = [...files, relative(process.cwd(), files[1]), pathToFileURL(files[2]).href, pathToFileURL(files[3])];
      const p = createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        standby: 0,
        stages: modules.map((module, i) => ({
          name: `s${i}`,
          module,
          consumes: [i === 0 ? 'in' : `t${i}`],
          produces: [i === modules.length - 1 ? 'out' : `t${i + 1}`],
          options: { op: 'add', k: 1, to: [i === modules.length - 1 ? 'out' : `t${i + 1}`] },
        })),
      });
      try {
        const out = p.output.reader<any>('check');
        await p.start();
        await p.publishAsync('in', { id: 1, x: 0, trail: '' });
        const [event] = await collect(out, 1, 20_000);
        expect(event.value).toEqual({ id: 1, x: modules.length, trail: modules.map((_, i) => `s${i}.`).join('') });
      } finally {
        await p.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('1,000 stages in a chain derive without recursion, in order', () => {
    const stages = Array.from({ length: 1000 }, (_, i) => stage(`s${i}`, [i === 0 ? 'in' : `t${i - 1}`], [`t${i}`]));
    const d = describePipeline({ inputs: ['in'], outputs: ['t999'], stages: stages.reverse() });
    expect(d.components.map((c) => c[0])).toEqual(Array.from({ length: 1000 }, (_, i) => `s${i}`));
    expect(d.cycles).toEqual([]);
  });

  it('components match mutual reachability on random graphs, upstream first', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(fc.tuple(fc.nat(11), fc.nat(11)), { maxLength: 30 }), (n, pairs) => {
        const edges = pairs.filter(([a, b]) => a < n && b < n);
        const stages = Array.from({ length: n }, (_, i) =>
          stage(
            `s${i}`,
            [`in${i}`, ...edges.filter(([, b]) => b === i).map(([a]) => `e${a}_${i}`)],
            edges.filter(([a]) => a === i).map(([, b]) => `e${i}_${b}`),
          ),
        );
        const d = describePipeline({ inputs: Array.from({ length: n }, (_, i) => `in${i}`), stages });
        // reachability by brute force: a transitive closure by repetition
        const reach = Array.from({ length: n }, (_, i) => new Set([i, ...edges.filter(([a]) => a === i).map(([, b]) => b)]));
        for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) for (const j of [...reach[i]]) for (const x of reach[j]) reach[i].add(x);
        const comp = new Map<string, number>();
        d.components.forEach((c, ci) => c.forEach((s) => comp.set(s, ci)));
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            const same = reach[i].has(j) && reach[j].has(i);
            expect(comp.get(`s${i}`) === comp.get(`s${j}`)).toBe(same);
            if (!same && reach[i].has(j)) expect(comp.get(`s${i}`)!).toBeLessThan(comp.get(`s${j}`)!);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
