import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadSpecFiles } from '../../reconciler/spec/load.js';
import { parseSpecFile } from '../../reconciler/spec/parse.js';
import { formatSpecError } from '../../reconciler/spec/types.js';
import { plan } from '../../reconciler/plan/plan.js';
import { DEFAULT_BACKOFF } from '../../reconciler/plan/backoff.js';
import { CORPUS, CORPUS_DIR, corpusFile } from '../helpers/corpus.js';

const FACTS = { pageSize: 4096, cpuPeriodUs: 100_000, defaultCpuset: '0-1', memswSupported: true, cpuWeightUnit: 'shares' as const };

describe('the bad-input corpus', () => {
  it(`has at least 100 files`, () => {
    expect(Object.keys(CORPUS).length).toBeGreaterThanOrEqual(100);
  });
  for (const [name, pattern] of Object.entries(CORPUS)) {
    it(`${name}: a clear file:line:col error, quickly, no crash`, () => {
      const file = corpusFile(name);
      const t0 = performance.now();
      const r = loadSpecFiles(CORPUS_DIR, [file], (f) => join(CORPUS_DIR, f));
      expect(performance.now() - t0).toBeLessThan(2000);
      expect(r.desired).toEqual([]);
      expect(r.failedFiles.has(file)).toBe(true);
      const lines = r.errors.map(formatSpecError);
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines)
        expect(l).toMatch(
          new RegExp(`^${CORPUS_DIR.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/${file.replace('.', '\\.')}:[1-9][0-9]*:[1-9][0-9]*: \\S`),
        );
      if (pattern) expect(lines.join('\n')).toMatch(new RegExp(pattern));
    });
  }
});

const VALID = `name: web
hostname: web
image:
  layers: [/layers/busybox, /layers/app]
command: [httpd, -f, -p, "8080"]
env: {GREETING: hi, MODE: prod}
workingDir: /srv
resources: {cpus: 0.5, cpuset: "0-1", memory: 64Mi, memsw: 96Mi, pids: 64}
network: {mode: none}
mounts: [{source: /srv/data, target: /data, readOnly: true}]
restart: on-failure
stopGracePeriod: 5s
healthcheck: {exec: [wget, -q, localhost:8080], interval: 5s, retries: 2}
`;

/** Random edits of a valid spec: characters deleted, inserted, lines swapped or duplicated, values replaced. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 20 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.string({
      unit: fc.constantFrom(
        '{',
        '}',
        '[',
        ']',
        ':',
        '-',
        ' ',
        '\n',
        '"',
        "'",
        '&a',
        '*a',
        '#',
        '\t',
        '!!',
        '\\',
        'x',
        '0',
        '..',
        '/',
        '\u00ff',
        '\u0000',
      ),
      maxLength: 8,
    }),
  }),
  fc.record({ kind: fc.constant('swap' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ kind: fc.constant('dup' as const), a: fc.nat() }),
  fc.record({ kind: fc.constant('value' as const), a: fc.nat(), json: fc.jsonValue({ maxDepth: 3 }) }),
);

function mutate(text: string, ms: ReadonlyArray<Record<string, unknown>>): string {
  let t = text;
  for (const m of ms as Array<{ kind: string; at?: number; len?: number; text?: string; a?: number; b?: number; json?: unknown }>) {
    const lines = t.split('\n');
    if (m.kind === 'delete') {
      const at = m.at! % (t.length + 1);
      t = t.slice(0, at) + t.slice(at + m.len!);
    } else if (m.kind === 'insert') {
      const at = m.at! % (t.length + 1);
      t = t.slice(0, at) + m.text + t.slice(at);
    } else if (m.kind === 'swap' && lines.length > 1) {
      const a = m.a! % lines.length;
      const b = m.b! % lines.length;
      [lines[a], lines[b]] = [lines[b]!, lines[a]!];
      t = lines.join('\n');
    } else if (m.kind === 'dup') {
      const a = m.a! % lines.length;
      lines.splice(a, 0, lines[a]!);
      t = lines.join('\n');
    } else if (m.kind === 'value') {
      const a = m.a! % lines.length;
      const colon = lines[a]!.indexOf(':');
      if (colon > 0) lines[a] = `${lines[a]!.slice(0, colon + 1)} ${JSON.stringify(m.json)}`;
      t = lines.join('\n');
    }
  }
  return t;
}

describe('fuzzing the loader and the planner with mutated specs', () => {
  it('never throws: every outcome is valid specs or file:line:col errors, and valid specs plan', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (ms) => {
        const text = mutate(VALID, ms);
        const r = parseSpecFile(text, '/specs/web.yaml', { dir: '/specs', file: 'web.yaml' });
        for (const e of r.errors) {
          expect(e.line).toBeGreaterThanOrEqual(1);
          expect(e.col).toBeGreaterThanOrEqual(1);
          expect(e.message.length).toBeGreaterThan(0);
        }
        expect(r.errors.length === 0 || r.specs.length === 0).toBe(true);
        const p = plan({
          source: '/specs',
          load: { status: 'ok', files: ['web.yaml'], desired: r.specs, failedFiles: new Set(r.errors.length ? ['web.yaml'] : []) },
          actual: { containers: new Map(), leftovers: [], strangers: [] },
          facts: FACTS,
          allowEmpty: false,
          now: Date.now(),
          backoff: DEFAULT_BACKOFF,
        });
        expect(p.actions.every((a) => a.kind === 'create')).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
