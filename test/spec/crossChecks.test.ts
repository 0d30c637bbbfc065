import { describe, expect, it } from 'vitest';
import { loadSpecFiles } from '../../reconciler/spec/load.js';
import { formatSpecError } from '../../reconciler/spec/types.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const root = mkdtempSync(join(tmpdir(), 'pocker-cross-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let seq = 0;

/** Loads these files (name -> YAML) as one dir, or as a partial set (pocker validate FILE...). */
function load(files: Record<string, string>, partial = false) {
  const dir = join(root, `d${seq++}`);
  mkdirSync(dir);
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  const r = loadSpecFiles(dir, Object.keys(files), (f) => join(dir, f), undefined, undefined, undefined, partial);
  return { ...r, messages: r.errors.map(formatSpecError), dir };
}

const spec = (name: string, extra = ''): string => `name: ${name}\nimage: {layers: [/l]}\ncommand: [sleep, "1"]\n${extra}`;
const bridge = (extra = ''): string => `network:\n  mode: bridge\n${extra}`;

describe('checks of a spec dir as a whole', () => {
  it('refuses a name or alias claimed twice on one network, naming both files', () => {
    const r = load({ 'a.yaml': spec('a', bridge('  aliases: [cache]\n')), 'b.yaml': spec('b', bridge('  aliases: [cache]\n')) });
    expect(r.messages).toEqual([
      expect.stringMatching(/a\.yaml:1:1: the name "cache" on network pocker is claimed by "a" and by "b" \(.*b\.yaml\)/),
      expect.stringMatching(/b\.yaml:1:1: the name "cache" on network pocker is claimed by "b" and by "a" \(.*a\.yaml\)/),
    ]);
    const hostname = load({ 'a.yaml': spec('a', `hostname: b\n${bridge()}`), 'b.yaml': spec('b', bridge()) });
    expect(hostname.messages).toHaveLength(2);
    const apart = load({
      'a.yaml': spec('a', bridge('  name: one\n  aliases: [cache]\n')),
      'b.yaml': spec('b', bridge('  name: two\n  aliases: [cache]\n')),
    });
    expect(apart.messages).toEqual([]);
  });

  it('refuses unknown dependencies, healthy edges to a container without a check, and cycles', () => {
    const unknown = load({ 'web.yaml': spec('web', 'dependsOn: [{name: db}]\n') });
    expect(unknown.messages).toEqual([expect.stringMatching(/web\.yaml:1:1: dependsOn: "db" is not a container of this spec dir/)]);
    const nocheck = load({ 'web.yaml': spec('web', 'dependsOn: [{name: db, condition: healthy}]\n'), 'db.yaml': spec('db') });
    expect(nocheck.messages).toEqual([
      expect.stringMatching(/web\.yaml:1:1: dependsOn: "db" has no healthcheck \(.*db\.yaml\), so it can never be healthy/),
    ]);
    const cycle = load({
      'a.yaml': spec('a', 'dependsOn: [{name: b}]\n'),
      'b.yaml': spec('b', 'dependsOn: [{name: c}]\n'),
      'c.yaml': spec('c', 'dependsOn: [{name: a}]\n'),
      'd.yaml': spec('d', 'dependsOn: [{name: a}]\n'),
    });
    expect(cycle.messages.sort()).toEqual([
      expect.stringMatching(/a\.yaml:1:1: dependsOn forms a cycle: a -> b -> c -> a/),
      expect.stringMatching(/b\.yaml:1:1: dependsOn forms a cycle: a -> b -> c -> a/),
      expect.stringMatching(/c\.yaml:1:1: dependsOn forms a cycle: a -> b -> c -> a/),
    ]);
    expect(cycle.desired.map((d) => d.spec.name)).toEqual(['d']);
    const self = load({ 'a.yaml': spec('a', 'dependsOn: [{name: a}]\n') });
    expect(self.messages).toEqual([expect.stringMatching(/a container cannot depend on itself/)]);
  });

  it('only warns of an unknown dependency when some files of a dir are checked alone', () => {
    const r = load({ 'web.yaml': spec('web', 'dependsOn: [{name: db, condition: completed, restartWith: true}]\n') }, true);
    expect(r.messages).toEqual([]);
    expect(r.warnings).toEqual([expect.stringMatching(/web\.yaml: dependsOn: "db" is not defined in the files checked/)]);
    expect(r.desired[0]!.spec.dependsOn).toEqual([{ name: 'db', condition: 'completed', restartWith: true }]);
    expect(r.desired[0]!.user.dependsOn).toEqual([{ name: 'db', condition: 'completed', restartWith: true }]);
  });

  it('takes http and tcp health checks, and exactly one kind', () => {
    const ok = load({
      'a.yaml': spec('a', 'healthcheck: {http: {port: 8080}, interval: 1s}\n'),
      'b.yaml': spec('b', 'healthcheck: {tcp: {port: 6379}}\n'),
    });
    expect(ok.messages).toEqual([]);
    expect(ok.desired[0]!.spec.healthcheck).toMatchObject({ http: { port: 8080, path: '/' }, intervalMs: 1000 });
    expect(ok.desired[1]!.spec.healthcheck).toMatchObject({ tcp: { port: 6379 } });
    const both = load({ 'a.yaml': spec('a', 'healthcheck: {tcp: {port: 1}, exec: ["true"]}\n') });
    expect(both.messages).toEqual([
      expect.stringMatching(
        /:4:14: healthcheck needs exactly one of exec \(a command\), http \(\{port, path\}\) or tcp \(\{port\}\), not exec and tcp/,
      ),
    ]);
    const none = load({ 'a.yaml': spec('a', 'healthcheck: {interval: 1s}\n') });
    expect(none.messages).toEqual([expect.stringMatching(/healthcheck needs exactly one of exec/)]);
  });
});
