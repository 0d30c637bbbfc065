import { describe, expect, it } from 'vitest';
import { defaultSecretTarget, effectiveFiles, effectiveSecrets, MAX_CONTENT_BYTES, normalizeFiles } from '../../reconciler/spec/files.js';
import type { PathError } from '../../reconciler/spec/normalize.js';
import { parseSpecFile } from '../../reconciler/spec/parse.js';
import { formatSpecError, type UserSpec } from '../../reconciler/spec/types.js';

const base = 'image: {layers: [/l]}\ncommand: [sleep, "1"]\n';
const parse = (text: string) => parseSpecFile(text, '/d/web.yaml', { dir: '/d', file: 'web.yaml' });
/** The one spec of a text that must parse. */
const ok = (text: string) => {
  const r = parse(text);
  expect(r.errors.map(formatSpecError)).toEqual([]);
  return r.specs[0]!;
};
/** The formatted errors of a text that must not parse. */
const bad = (text: string): string[] => {
  const r = parse(text);
  const errors = r.errors.map(formatSpecError);
  expect(errors, 'the spec must be refused').not.toEqual([]);
  expect(r.specs).toEqual([]);
  return errors;
};

describe('files and secrets: defaults', () => {
  it('fills in mode 0644, uid/gid 0, onChange restart and an empty digest for a file, and leaves them out of the user spec', () => {
    const d = ok(`${base}files:\n  - target: /etc/app.conf\n    content: "a=1\\n"\n  - {target: /etc/b.conf, source: b.conf}\n`);
    expect(d.spec.files).toEqual([
      { target: '/etc/app.conf', mode: 0o644, uid: 0, gid: 0, onChange: 'restart', digest: '' },
      { target: '/etc/b.conf', source: 'b.conf', mode: 0o644, uid: 0, gid: 0, onChange: 'restart', digest: '' },
    ]);
    expect(d.user.files).toEqual([
      { target: '/etc/app.conf', content: 'a=1\n' },
      { target: '/etc/b.conf', source: 'b.conf' },
    ]);
    expect(d.spec.secrets).toEqual([]);
    expect('secrets' in d.user).toBe(false);
  });

  it('never puts the inline content into the effective spec (only the user spec, which the hash covers)', () => {
    const d = ok(`${base}files: [{target: /etc/app.conf, content: "inline-bytes-here"}]\n`);
    expect(JSON.stringify(d.spec)).not.toContain('inline-bytes-here');
    expect(d.user.files?.[0]?.content).toBe('inline-bytes-here');
  });

  it('fills in target /run/secrets/NAME, mode 0400, uid/gid 0 and onChange restart for a secret', () => {
    const d = ok(`${base}secrets: [{name: db-password}, {name: api.key, target: /etc/api.key}]\n`);
    expect(d.spec.secrets).toEqual([
      { name: 'db-password', target: '/run/secrets/db-password', mode: 0o400, uid: 0, gid: 0, onChange: 'restart', digest: '' },
      { name: 'api.key', target: '/etc/api.key', mode: 0o400, uid: 0, gid: 0, onChange: 'restart', digest: '' },
    ]);
    expect(d.user.secrets).toEqual([{ name: 'db-password' }, { name: 'api.key', target: '/etc/api.key' }]);
    expect(d.spec.files).toEqual([]);
    expect('files' in d.user).toBe(false);
  });

  it('defaultSecretTarget is /run/secrets/NAME', () => {
    expect(defaultSecretTarget('db')).toBe('/run/secrets/db');
    expect(defaultSecretTarget('a.b-c_d')).toBe('/run/secrets/a.b-c_d');
  });

  it('takes modes in octal with or without a leading 0, owners and onChange as written', () => {
    const d = ok(
      `${base}files:\n` +
        `  - {target: /a, content: x, mode: "0600", uid: 1000, gid: 2000, onChange: none}\n` +
        `  - {target: /b, content: x, mode: "755", onChange: "signal:USR1"}\n` +
        `secrets:\n  - {name: s, mode: "0440", uid: 33, gid: 44, onChange: none}\n`,
    );
    expect(d.spec.files.map((f) => [f.mode, f.uid, f.gid, f.onChange])).toEqual([
      [0o600, 1000, 2000, 'none'],
      [0o755, 0, 0, 'signal:SIGUSR1'],
    ]);
    expect(d.spec.secrets.map((s) => [s.mode, s.uid, s.gid, s.onChange])).toEqual([[0o440, 33, 44, 'none']]);
    expect(d.user.files?.[0]).toEqual({ target: '/a', content: 'x', mode: 0o600, uid: 1000, gid: 2000, onChange: 'none' });
    expect(d.user.secrets?.[0]).toEqual({ name: 's', mode: 0o440, uid: 33, gid: 44, onChange: 'none' });
  });

  it('leaves out an onChange of restart and a secret target that is the default: the hash is that of not writing them', () => {
    const plain = ok(`${base}files: [{target: /a, content: x}]\nsecrets: [{name: s}]\n`);
    const explicit = ok(
      `${base}files: [{target: /a, content: x, onChange: restart}]\nsecrets: [{name: s, target: /run/secrets/s, onChange: restart}]\n`,
    );
    expect(explicit.user).toEqual(plain.user);
    expect(explicit.hash).toBe(plain.hash);
    expect(explicit.spec.secrets).toEqual(plain.spec.secrets);
  });

  it('leaves the hash of a spec without files or secrets as it was (empty lists are no lists)', () => {
    const plain = ok(base);
    const empty = ok(`${base}files: []\nsecrets: []\n`);
    expect('files' in empty.user || 'secrets' in empty.user).toBe(false);
    expect(empty.hash).toBe(plain.hash);
    expect(plain.spec.files).toEqual([]);
    expect(plain.spec.secrets).toEqual([]);
  });
});

describe('files and secrets: onChange signals', () => {
  it('canonicalises signal:HUP, signal:hup, signal:SIGHUP and signal:1 to signal:SIGHUP', () => {
    for (const w of ['HUP', 'hup', 'SIGHUP', '1']) {
      const d = ok(`${base}files: [{target: /a, content: x, onChange: "signal:${w}"}]\nsecrets: [{name: s, onChange: "signal:${w}"}]\n`);
      expect(d.spec.files[0]!.onChange).toBe('signal:SIGHUP');
      expect(d.spec.secrets[0]!.onChange).toBe('signal:SIGHUP');
      expect(d.user.files![0]!.onChange).toBe('signal:SIGHUP');
    }
  });

  it('hashes signal:HUP and signal:SIGHUP alike', () => {
    const a = ok(`${base}files: [{target: /a, content: x, onChange: "signal:HUP"}]\n`);
    const b = ok(`${base}files: [{target: /a, content: x, onChange: "signal:SIGHUP"}]\n`);
    expect(a.hash).toBe(b.hash);
  });

  it('refuses signal:KILL at the line of the onChange', () => {
    const errors = bad(`${base}files:\n  - target: /a\n    content: x\n    onChange: "signal:KILL"\n`);
    expect(errors).toEqual([expect.stringMatching(/^\/d\/web\.yaml:6:\d+: .*onChange: .*SIGKILL/)]);
  });

  it('refuses signal:KILL on a secret too, at its line', () => {
    const errors = bad(`${base}secrets:\n  - name: s\n    onChange: "signal:KILL"\n`);
    expect(errors).toEqual([expect.stringMatching(/^\/d\/web\.yaml:5:\d+: .*onChange: .*SIGKILL/)]);
  });

  it('refuses SIGSTOP, signal numbers of SIGKILL, unknown signals and signals the init does not pass on', () => {
    for (const s of ['STOP', '9', 'NOPE', 'ALRM']) {
      expect(bad(`${base}files: [{target: /a, content: x, onChange: "signal:${s}"}]\n`).join('\n')).toMatch(/onChange/);
    }
  });

  it('refuses an onChange that is neither restart, none nor signal:NAME', () => {
    for (const v of ['reload', 'signal:', 'signal:HUP;rm', 'SIGHUP', 'Restart']) {
      expect(bad(`${base}files: [{target: /a, content: x, onChange: "${v}"}]\n`)).not.toEqual([]);
    }
  });
});

describe('files and secrets: refusals', () => {
  it('refuses a file with both content and source, and one with neither, at the entry', () => {
    const both = bad(`${base}files:\n  - {target: /a, content: x, source: /srv/a}\n`);
    expect(both).toEqual([expect.stringMatching(/^\/d\/web\.yaml:4:\d+: .*exactly one of content and source/)]);
    const neither = bad(`${base}files:\n  - {target: /ok, content: x}\n  - {target: /a}\n`);
    expect(neither).toEqual([expect.stringMatching(/^\/d\/web\.yaml:5:\d+: .*files\[1\].*exactly one of content and source/)]);
  });

  it('refuses an empty source, and a source with a NUL byte', () => {
    expect(bad(`${base}files: [{target: /a, source: ""}]\n`)).not.toEqual([]);
    expect(bad(`${base}files: [{target: /a, source: "a\\0b"}]\n`).join('\n')).toMatch(/NUL/);
  });

  it('refuses a mode that is not octal permission bits, and one written as a YAML number', () => {
    for (const m of ['"0999"', '"rw-r--r--"', '"07777"', '"64"', '0644']) {
      expect(bad(`${base}files: [{target: /a, content: x, mode: ${m}}]\n`)).not.toEqual([]);
      expect(bad(`${base}secrets: [{name: s, mode: ${m}}]\n`)).not.toEqual([]);
    }
  });

  it('refuses an inline content longer than 1 MiB (schema)', () => {
    const big = 'x'.repeat(MAX_CONTENT_BYTES + 1);
    expect(bad(`${base}files: [{target: /a, content: "${big}"}]\n`)).not.toEqual([]);
  });

  it('refuses two files with one target, naming the first', () => {
    const errors = bad(`${base}files:\n  - {target: /etc/a, content: x}\n  - {target: /etc/a, content: y}\n`);
    expect(errors).toEqual([expect.stringMatching(/^\/d\/web\.yaml:5:\d+: .*target \/etc\/a is already used by files\[0\]/)]);
  });

  it('refuses a file and a secret at one target, the default secret target included', () => {
    const explicit = bad(`${base}files: [{target: /etc/k, content: x}]\nsecrets: [{name: k, target: /etc/k}]\n`);
    expect(explicit.join('\n')).toMatch(/target \/etc\/k is already used by files\[0\]/);
    const byDefault = bad(`${base}files: [{target: /run/secrets/k, content: x}]\nsecrets: [{name: k}]\n`);
    expect(byDefault.join('\n')).toMatch(/target \/run\/secrets\/k is already used by files\[0\]/);
  });

  it('refuses two secrets at one target', () => {
    const errors = bad(`${base}secrets: [{name: a, target: /etc/s}, {name: b, target: /etc/s}]\n`);
    expect(errors.join('\n')).toMatch(/target \/etc\/s is already used by secrets\[0\]/);
  });

  it('refuses a file or secret at the target of a mount, a volume or a tmpfs', () => {
    expect(bad(`${base}mounts: [{source: /srv, target: /x}]\nfiles: [{target: /x, content: y}]\n`).join('\n')).toMatch(
      /target \/x is already used by mounts\[0\]/,
    );
    expect(bad(`${base}volumes: [{name: v, target: /x}]\nsecrets: [{name: s, target: /x}]\n`).join('\n')).toMatch(
      /target \/x is already used by volumes\[0\]/,
    );
    expect(bad(`${base}tmpfs: [{target: /x}]\nfiles: [{target: /x, content: y}]\n`).join('\n')).toMatch(
      /target \/x is already used by tmpfs\[0\]/,
    );
  });

  it('refuses a file target inside a mount, a volume or a tmpfs target, at the line of the target, naming the mount', () => {
    const m = bad(`${base}mounts: [{source: /srv, target: /srv}]\nfiles:\n  - target: /srv/app.conf\n    content: y\n`);
    expect(m).toEqual([expect.stringMatching(/^\/d\/web\.yaml:5:\d+: .*target \/srv\/app\.conf lies inside mounts\[0\] \(\/srv\)/)]);
    const v = bad(`${base}volumes: [{name: data, target: /data}]\nfiles: [{target: /data/deep/x.conf, content: y}]\n`);
    expect(v.join('\n')).toMatch(/lies inside volumes\[0\] \(\/data\)/);
    const t = bad(`${base}tmpfs: [{target: /tmp}]\nfiles: [{target: /tmp/x, content: y}]\n`);
    expect(t.join('\n')).toMatch(/lies inside tmpfs\[0\] \(\/tmp\)/);
  });

  it('refuses a secret whose default target lies inside a tmpfs at /run', () => {
    const errors = bad(`${base}tmpfs: [{target: /run}]\nsecrets: [{name: db}]\n`);
    expect(errors.join('\n')).toMatch(/target \/run\/secrets\/db lies inside tmpfs\[0\] \(\/run\)/);
  });

  it('accepts a file beside a mount whose target is a prefix of the name only', () => {
    const d = ok(
      `${base}mounts: [{source: /srv, target: /data}]\nfiles: [{target: /database.conf, content: y}, {target: /data2/x, content: z}]\n`,
    );
    expect(d.spec.files.map((f) => f.target)).toEqual(['/database.conf', '/data2/x']);
  });

  it('refuses targets in /proc, /sys and /dev, the root, relative, trailing-slash and dotted targets', () => {
    for (const t of ['/proc/x', '/proc', '/sys/kernel/x', '/dev/shm/x']) {
      expect(bad(`${base}files: [{target: ${t}, content: y}]\n`).join('\n')).toMatch(/inside \/proc, \/sys or \/dev/);
      expect(bad(`${base}secrets: [{name: s, target: ${t}}]\n`).join('\n')).toMatch(/inside \/proc, \/sys or \/dev/);
    }
    for (const t of ['/', 'etc/a', '/etc/a/', '/etc/../proc/x', '/etc//a', '/./a']) {
      expect(bad(`${base}files: [{target: "${t}", content: y}]\n`)).not.toEqual([]);
      expect(bad(`${base}secrets: [{name: s, target: "${t}"}]\n`)).not.toEqual([]);
    }
  });

  it('locates a target in /proc at the line of the target', () => {
    const errors = bad(`${base}files:\n  - content: y\n    target: /proc/sys/x\n`);
    expect(errors).toEqual([expect.stringMatching(/^\/d\/web\.yaml:5:\d+: .*\/proc/)]);
  });

  it('refuses a secret named twice, at the second name', () => {
    const errors = bad(`${base}secrets:\n  - {name: db, target: /etc/db1}\n  - {name: db, target: /etc/db2}\n`);
    expect(errors).toEqual([expect.stringMatching(/^\/d\/web\.yaml:5:\d+: .*secret db is named twice/)]);
  });

  it('refuses secret names that could leave the secrets dir or hide in it', () => {
    for (const n of ['../x', 'a/b', '.hidden', '', 'a'.repeat(64), 'a b']) {
      expect(bad(`${base}secrets: [{name: "${n}"}]\n`)).not.toEqual([]);
    }
    expect(ok(`${base}secrets: [{name: "${'a'.repeat(63)}"}]\n`).spec.secrets[0]!.name).toHaveLength(63);
  });

  it('refuses unknown keys of a file or secret entry', () => {
    expect(bad(`${base}files: [{target: /a, content: x, owner: root}]\n`)).not.toEqual([]);
    expect(bad(`${base}secrets: [{name: s, value: hunter2}]\n`)).not.toEqual([]);
  });

  it('refuses a target below another file target: a file cannot hold a mount point', () => {
    const errors = bad(`${base}files: [{target: /etc/app, content: x}, {target: /etc/app/inner.conf, content: y}]\n`);
    expect(errors.join('\n')).toMatch(/\/etc\/app\/inner\.conf/);
  });

  it('refuses a mount whose target lies below a file target', () => {
    const errors = bad(`${base}files: [{target: /etc/app, content: x}]\nmounts: [{source: /srv, target: /etc/app/sub}]\n`);
    expect(errors.join('\n')).toMatch(/\/etc\/app/);
  });

  it('reports every problem of one spec at once', () => {
    const errors = bad(
      `${base}files:\n  - {target: /proc/a, content: x}\n  - {target: /b}\n  - {target: /c, content: x, onChange: "signal:KILL"}\nsecrets: [{name: s}, {name: s, target: /e}]\n`,
    );
    expect(errors).toHaveLength(4);
  });
});

describe('files and secrets: the spec hash', () => {
  it('changes with inline content, target, source path, mode, owner and onChange', () => {
    const h = (files: string) => ok(`${base}files: [${files}]\n`).hash;
    const first = h('{target: /a, content: one}');
    expect(h('{target: /a, content: one}')).toBe(first);
    for (const other of [
      '{target: /a, content: two}',
      '{target: /b, content: one}',
      '{target: /a, content: one, mode: "0600"}',
      '{target: /a, content: one, uid: 1}',
      '{target: /a, content: one, gid: 1}',
      '{target: /a, content: one, onChange: none}',
      '{target: /a, source: one}',
    ])
      expect(h(other)).not.toBe(first);
    expect(h('{target: /a, source: x.conf}')).not.toBe(h('{target: /a, source: y.conf}'));
  });

  it("changes with a secret's name, target, mode, owner and onChange", () => {
    const h = (secrets: string) => ok(`${base}secrets: [${secrets}]\n`).hash;
    const first = h('{name: s}');
    for (const other of ['{name: t}', '{name: s, target: /s}', '{name: s, mode: "0440"}', '{name: s, uid: 1}', '{name: s, onChange: none}'])
      expect(h(other)).not.toBe(first);
  });

  it("does not cover a source file's content: the spec names the path only", () => {
    const d = ok(`${base}files: [{target: /a, source: conf/app.conf}]\n`);
    expect(d.user.files).toEqual([{ target: '/a', source: 'conf/app.conf' }]);
    expect(d.spec.files[0]!.digest).toBe('');
    // Parsing is pure: the same text parses to the same hash whatever the host file holds.
    expect(ok(`${base}files: [{target: /a, source: conf/app.conf}]\n`).hash).toBe(d.hash);
  });
});

describe('normalizeFiles', () => {
  it('locates every problem by field path', () => {
    const errors: PathError[] = [];
    normalizeFiles(
      {
        files: [{ target: '/a' }, { target: '/m/x', content: 'x', onChange: 'signal:KILL' }],
        secrets: [{ name: 's' }, { name: 's', target: '/proc/s' }],
      },
      new Map([['/m', 'mounts[0]']]),
      errors,
    );
    const byPath = (paths: Array<Array<string | number>>) => paths.map((p) => JSON.stringify(p)).sort();
    expect(byPath(errors.map((e) => e.path))).toEqual(
      byPath([
        ['files', 0],
        ['files', 1, 'onChange'],
        ['secrets', 1, 'name'],
        ['files', 1, 'target'],
        ['secrets', 1, 'target'],
      ]),
    );
  });

  it('returns no fields for no entries, and leaves defaults out', () => {
    const errors: PathError[] = [];
    expect(normalizeFiles({}, new Map(), errors)).toEqual({});
    expect(normalizeFiles({ files: [], secrets: [] }, new Map(), errors)).toEqual({});
    expect(
      normalizeFiles(
        {
          files: [{ target: '/a', content: '', onChange: 'restart' }],
          secrets: [{ name: 's', target: '/run/secrets/s', onChange: 'restart' }],
        },
        new Map(),
        errors,
      ),
    ).toEqual({ files: [{ target: '/a', content: '' }], secrets: [{ name: 's' }] });
    expect(errors).toEqual([]);
  });

  it('keeps an empty inline content (a file may be empty)', () => {
    const d = ok(`${base}files: [{target: /a, content: ""}]\n`);
    expect(d.user.files).toEqual([{ target: '/a', content: '' }]);
  });
});

describe('effectiveFiles and effectiveSecrets', () => {
  it('fill in every default, keep the source, drop the content, and leave digests empty', () => {
    const user: UserSpec = {
      name: 'c',
      image: { layers: ['/l'] },
      files: [
        { target: '/a', content: 'x' },
        { target: '/b', source: 'b', mode: 0o600, uid: 5, gid: 6, onChange: 'signal:SIGHUP' },
      ],
      secrets: [{ name: 's' }, { name: 't', target: '/t', mode: 0o440, uid: 7, gid: 8, onChange: 'none' }],
    };
    expect(effectiveFiles(user)).toEqual([
      { target: '/a', mode: 0o644, uid: 0, gid: 0, onChange: 'restart', digest: '' },
      { target: '/b', source: 'b', mode: 0o600, uid: 5, gid: 6, onChange: 'signal:SIGHUP', digest: '' },
    ]);
    expect(effectiveSecrets(user)).toEqual([
      { name: 's', target: '/run/secrets/s', mode: 0o400, uid: 0, gid: 0, onChange: 'restart', digest: '' },
      { name: 't', target: '/t', mode: 0o440, uid: 7, gid: 8, onChange: 'none', digest: '' },
    ]);
  });

  it('give empty lists for a spec without them', () => {
    const user: UserSpec = { name: 'c', image: { layers: ['/l'] } };
    expect(effectiveFiles(user)).toEqual([]);
    expect(effectiveSecrets(user)).toEqual([]);
  });
});
