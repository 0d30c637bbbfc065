import { describe, expect, it } from 'vitest';
import { RuntimeError } from '../../reconciler/host/errors.js';
import type { AttachedNetwork } from '../../reconciler/network/attach.js';
import { contentFilePath, rewriteContainerFiles, writeContainerFiles } from '../../reconciler/runtime/files.js';
import { monitorConfig } from '../../reconciler/runtime/monitorConfig.js';
import { argMaxFor, MONITOR_MAX_LIST, startSizeProblems } from '../../reconciler/runtime/startLimits.js';
import { resolveContents, type ContentReader } from '../../reconciler/spec/contents.js';
import { MAX_CONTENT_BYTES } from '../../reconciler/spec/files.js';
import type { DesiredContainer } from '../../reconciler/spec/types.js';
import { containerPaths, contentFileName } from '../../reconciler/state/layout.js';
import { FakeHost } from '../helpers/fakeHost.js';
import { desired, specObj } from '../helpers/specs.js';
import { parseSpecFile } from '../../reconciler/spec/parse.js';
import { stringify } from 'yaml';

const DIRS = { stateDir: '/run/p', dataDir: '/var/lib/p', cgroupParent: 'p' };
const paths = containerPaths(DIRS, 'web');

const WATCHED = new Set(['mkdir', 'mountTmpfs', 'writeFileAtomic', 'writeFileInPlace', 'chmod', 'chown', 'unmount']);

interface Call {
  m: string;
  args: unknown[];
}

/** A FakeHost whose file and mount calls are recorded; `fail` makes one method throw for one path. */
function recordingHost(): { host: FakeHost; calls: Call[]; fail: { method?: string; path?: string } } {
  const inner = new FakeHost('v2');
  const calls: Call[] = [];
  const fail: { method?: string; path?: string } = {};
  const host = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function' || typeof prop !== 'string' || !WATCHED.has(prop)) return v;
      return (...args: unknown[]) => {
        calls.push({ m: prop, args });
        if (fail.method === prop && (fail.path === undefined || fail.path === args[0]))
          throw Object.assign(new Error(`EIO: ${prop} ${String(args[0])}`), { code: 'EIO' });
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { host, calls, fail };
}

function reader(sources: Record<string, string | Buffer> = {}, secrets: Record<string, string | Buffer> = {}): ContentReader {
  return {
    readSource: (p) => (sources[p] !== undefined ? { data: Buffer.from(sources[p]!) } : { error: 'ENOENT' }),
    readSecret: (n) => (secrets[n] !== undefined ? { data: Buffer.from(secrets[n]!) } : { error: 'ENOENT' }),
    secretDigest: (d) => `hmac-sha256:${d.length.toString(16).padStart(64, '0')}`,
  };
}

const SECRET_VALUE = 'pw-value-3c9e';

/** Two files (inline, source) and two secrets, contents read. */
function full(v = '1', extra: { fileMode?: string; secretUid?: number } = {}): DesiredContainer {
  const d = desired(
    specObj('web', {
      files: [
        { target: '/etc/app.conf', content: `app-${v}`, ...(extra.fileMode && { mode: extra.fileMode }), uid: 1000, gid: 1001 },
        { target: '/etc/b.conf', source: 'b.conf', onChange: 'none' },
      ],
      secrets: [
        { name: 'db', ...(extra.secretUid !== undefined && { uid: extra.secretUid }) },
        { name: 'api', target: '/etc/api.key', mode: '0440', gid: 33 },
      ],
    }),
  );
  const r = resolveContents(d, reader({ '/specs/b.conf': `b-${v}` }, { db: `${SECRET_VALUE}-${v}`, api: `api-${v}` }));
  expect(r.contentProblem).toBeUndefined();
  return r;
}

const at = (kind: 'file' | 'secret', target: string): string => contentFilePath(paths, kind, target);
const callsOf = (calls: Call[], m: string): unknown[][] => calls.filter((c) => c.m === m).map((c) => c.args);

describe('contentFilePath', () => {
  it('puts files under the data dir files/ and secrets under secrets/, one name per target', () => {
    expect(at('file', '/etc/a')).toBe(`${paths.files}/${contentFileName('/etc/a')}`);
    expect(at('secret', '/etc/a')).toBe(`${paths.secrets}/${contentFileName('/etc/a')}`);
    expect(paths.files).toBe(`${paths.dataDir}/files`);
    expect(paths.secrets).toBe(`${paths.dataDir}/secrets`);
    expect(contentFileName('/etc/a')).toMatch(/^[0-9a-f]{16}$/);
    expect(contentFileName('/etc/a')).toBe(contentFileName('/etc/a'));
    expect(contentFileName('/etc/a')).not.toBe(contentFileName('/etc/b'));
    expect(contentFileName('/run/secrets/x')).not.toContain('/');
  });
});

describe('writeContainerFiles', () => {
  it('writes each file under the data dir files/, with its content, mode and owner', () => {
    const { host, calls } = recordingHost();
    const d = full();
    writeContainerFiles(host, paths, d);
    expect(callsOf(calls, 'mkdir')).toContainEqual([paths.files, 0o700]);
    expect(host.readFile(at('file', '/etc/app.conf'))).toBe('app-1');
    expect(host.readFile(at('file', '/etc/b.conf'))).toBe('b-1');
    expect(host.owner(at('file', '/etc/app.conf'))!.mode).toBe(0o644);
    expect(callsOf(calls, 'chown')).toContainEqual([at('file', '/etc/app.conf'), 1000, 1001]);
    expect(callsOf(calls, 'chown')).toContainEqual([at('file', '/etc/b.conf'), 0, 0]);
    expect(callsOf(calls, 'chmod')).toContainEqual([at('file', '/etc/app.conf'), 0o644]);
    expect(callsOf(calls, 'writeFileInPlace')).toEqual([]);
  });

  it('writes secrets on a tmpfs of their own at the data dir secrets/, mounted 0700 and big enough for all of them', () => {
    const { host, calls } = recordingHost();
    writeContainerFiles(host, paths, full());
    const mounts = callsOf(calls, 'mountTmpfs');
    expect(mounts).toHaveLength(1);
    expect(mounts[0]![0]).toBe(paths.secrets);
    expect(mounts[0]![1]).toBeGreaterThanOrEqual(2 * MAX_CONTENT_BYTES);
    expect(mounts[0]![2]).toBe(0o700);
    expect(callsOf(calls, 'mkdir')).toContainEqual([paths.secrets, 0o700]);
    expect([...host.mounts]).toEqual([paths.secrets]);
    expect(host.readFile(at('secret', '/run/secrets/db'))).toBe(`${SECRET_VALUE}-1`);
    expect(host.readFile(at('secret', '/etc/api.key'))).toBe('api-1');
    expect(host.owner(at('secret', '/run/secrets/db'))!.mode).toBe(0o400);
    expect(host.owner(at('secret', '/etc/api.key'))!.mode).toBe(0o440);
    expect(callsOf(calls, 'chown')).toContainEqual([at('secret', '/etc/api.key'), 0, 33]);
    // The tmpfs is mounted before any secret is written on it.
    const order = calls.map((c) => `${c.m} ${String(c.args[0])}`);
    expect(order.indexOf(`mountTmpfs ${paths.secrets}`)).toBeLessThan(order.indexOf(`writeFileAtomic ${at('secret', '/run/secrets/db')}`));
  });

  it('does not mount the secrets tmpfs again on a second start, and mounts it again once it is gone (a reboot)', () => {
    const { host, calls } = recordingHost();
    writeContainerFiles(host, paths, full('1'));
    writeContainerFiles(host, paths, full('2'));
    expect(callsOf(calls, 'mountTmpfs')).toHaveLength(1);
    expect(host.readFile(at('secret', '/run/secrets/db'))).toBe(`${SECRET_VALUE}-2`);
    expect(host.readFile(at('file', '/etc/app.conf'))).toBe('app-2');
    host.mounts.clear();
    writeContainerFiles(host, paths, full('3'));
    expect(callsOf(calls, 'mountTmpfs')).toHaveLength(2);
  });

  it('mounts nothing and makes no secrets dir for a container without secrets, and no files dir without files', () => {
    const { host, calls } = recordingHost();
    const onlyFiles = resolveContents(desired(specObj('web', { files: [{ target: '/a', content: 'x' }] })), reader());
    writeContainerFiles(host, paths, onlyFiles);
    expect(callsOf(calls, 'mountTmpfs')).toEqual([]);
    expect(host.kind(paths.secrets)).toBeNull();
    const h2 = recordingHost();
    const onlySecrets = resolveContents(desired(specObj('web', { secrets: [{ name: 's' }] })), reader({}, { s: 'v' }));
    writeContainerFiles(h2.host, paths, onlySecrets);
    expect(h2.host.kind(paths.files)).toBeNull();
    expect(callsOf(h2.calls, 'mountTmpfs')).toHaveLength(1);
    const h3 = recordingHost();
    writeContainerFiles(h3.host, paths, desired(specObj('web')));
    expect(h3.calls).toEqual([]);
  });

  it('writes binary contents byte for byte', () => {
    const { host } = recordingHost();
    const bin = Buffer.from([0, 0xff, 0x80, 0x0a, 0x7f]);
    const d = resolveContents(desired(specObj('web', { files: [{ target: '/bin', source: '/srv/bin' }] })), reader({ '/srv/bin': bin }));
    writeContainerFiles(host, paths, d);
    expect(host.readBytes(at('file', '/bin'))!.equals(bin)).toBe(true);
  });

  it('throws a FILES RuntimeError, writing no file, when a content was not read by this pass', () => {
    const { host, calls } = recordingHost();
    const unread = desired(specObj('web', { files: [{ target: '/etc/app.conf', content: 'x' }] }));
    let err: unknown;
    try {
      writeContainerFiles(host, paths, unread);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).code).toBe('FILES');
    expect((err as RuntimeError).message).toMatch(/\/etc\/app\.conf/);
    expect((err as RuntimeError).details.container).toBe('web');
    expect(callsOf(calls, 'writeFileAtomic')).toEqual([]);
    const unreadSecret = desired(specObj('web', { secrets: [{ name: 'db' }] }));
    expect(() => writeContainerFiles(recordingHost().host, paths, unreadSecret)).toThrow(RuntimeError);
  });

  it('gives a failed write as a FILES RuntimeError naming the secret by name and path, never its value', () => {
    const { host, fail } = recordingHost();
    fail.method = 'writeFileAtomic';
    fail.path = at('secret', '/run/secrets/db');
    let err: unknown;
    try {
      writeContainerFiles(host, paths, full());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RuntimeError);
    const re = err as RuntimeError;
    expect(re.code).toBe('FILES');
    expect(re.message).toContain('secret db');
    expect(re.message).toContain(at('secret', '/run/secrets/db'));
    expect(re.message).toMatch(/EIO/);
    expect(re.message).not.toContain(SECRET_VALUE);
    expect(re.details).toMatchObject({ container: 'web', path: at('secret', '/run/secrets/db') });
  });

  it('gives a failed chown of a file as a FILES RuntimeError naming the file target', () => {
    const { host, fail } = recordingHost();
    fail.method = 'chown';
    fail.path = at('file', '/etc/b.conf');
    expect(() => writeContainerFiles(host, paths, full())).toThrow(/write file \/etc\/b\.conf at .*EIO/);
  });
});

describe('rewriteContainerFiles', () => {
  it('rewrites the changed files and secrets in place (same inode), with their modes and owners, and says so', () => {
    const { host, calls } = recordingHost();
    writeContainerFiles(host, paths, full('1'));
    calls.length = 0;
    const now = full('2', { fileMode: '0600', secretUid: 7 });
    const ok = rewriteContainerFiles(host, paths, now, [
      { kind: 'file', target: '/etc/app.conf', onChange: 'restart' },
      { kind: 'secret', target: '/run/secrets/db', onChange: 'restart' },
    ]);
    expect(ok).toBe(true);
    expect(callsOf(calls, 'writeFileInPlace').map((a) => a[0])).toEqual([at('file', '/etc/app.conf'), at('secret', '/run/secrets/db')]);
    expect(callsOf(calls, 'writeFileAtomic')).toEqual([]);
    expect(callsOf(calls, 'mountTmpfs')).toEqual([]);
    expect(host.readFile(at('file', '/etc/app.conf'))).toBe('app-2');
    expect(host.readFile(at('secret', '/run/secrets/db'))).toBe(`${SECRET_VALUE}-2`);
    // What did not change is not touched.
    expect(host.readFile(at('file', '/etc/b.conf'))).toBe('b-1');
    expect(host.readFile(at('secret', '/etc/api.key'))).toBe('api-1');
    expect(host.owner(at('file', '/etc/app.conf'))!.mode).toBe(0o600);
    expect(callsOf(calls, 'chown')).toEqual([
      [at('file', '/etc/app.conf'), 1000, 1001],
      [at('secret', '/run/secrets/db'), 7, 0],
    ]);
  });

  it('returns false and writes nothing when a host file to rewrite is missing', () => {
    const { host, calls } = recordingHost();
    writeContainerFiles(host, paths, full('1'));
    host.removeFile(at('secret', '/run/secrets/db'));
    calls.length = 0;
    const changes = [
      { kind: 'file' as const, target: '/etc/app.conf', onChange: 'none' as const },
      { kind: 'secret' as const, target: '/run/secrets/db', onChange: 'none' as const },
    ];
    expect(rewriteContainerFiles(host, paths, full('2'), changes)).toBe(false);
    expect(callsOf(calls, 'writeFileInPlace')).toEqual([]);
    expect(callsOf(calls, 'writeFileAtomic')).toEqual([]);
    expect(callsOf(calls, 'chmod')).toEqual([]);
    expect(callsOf(calls, 'chown')).toEqual([]);
    expect(host.readFile(at('file', '/etc/app.conf'))).toBe('app-1');
  });

  it('returns false when nothing was ever written (a fresh data dir)', () => {
    const { host, calls } = recordingHost();
    expect(rewriteContainerFiles(host, paths, full('2'), [{ kind: 'file', target: '/etc/app.conf', onChange: 'none' }])).toBe(false);
    expect(callsOf(calls, 'writeFileInPlace')).toEqual([]);
  });

  it('throws a FILES RuntimeError when a content to rewrite was not read, writing nothing', () => {
    const { host, calls } = recordingHost();
    writeContainerFiles(host, paths, full('1'));
    calls.length = 0;
    const unread = desired(
      specObj('web', {
        files: [
          { target: '/etc/app.conf', content: 'x' },
          { target: '/etc/b.conf', source: 'b.conf' },
        ],
      }),
    );
    let err: unknown;
    try {
      rewriteContainerFiles(host, paths, unread, [
        { kind: 'file', target: '/etc/app.conf', onChange: 'none' },
        { kind: 'file', target: '/etc/b.conf', onChange: 'none' },
      ]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).code).toBe('FILES');
    expect(callsOf(calls, 'writeFileInPlace')).toEqual([]);
  });

  it('throws a FILES RuntimeError for a change at a target the spec does not have (or of the other kind)', () => {
    const { host } = recordingHost();
    writeContainerFiles(host, paths, full('1'));
    for (const c of [
      { kind: 'file' as const, target: '/nowhere', onChange: 'none' as const },
      { kind: 'file' as const, target: '/run/secrets/db', onChange: 'none' as const },
      { kind: 'secret' as const, target: '/etc/app.conf', onChange: 'none' as const },
    ]) {
      let err: unknown;
      try {
        rewriteContainerFiles(host, paths, full('2'), [c]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RuntimeError);
      expect((err as RuntimeError).code).toBe('FILES');
    }
  });

  it('returns true and writes nothing for no changes', () => {
    const { host, calls } = recordingHost();
    writeContainerFiles(host, paths, full('1'));
    calls.length = 0;
    expect(rewriteContainerFiles(host, paths, full('2'), [])).toBe(true);
    expect(calls).toEqual([]);
  });

  it('gives a failed rewrite as a FILES RuntimeError without the value of the secret', () => {
    const { host, fail } = recordingHost();
    writeContainerFiles(host, paths, full('1'));
    fail.method = 'writeFileInPlace';
    let err: unknown;
    try {
      rewriteContainerFiles(host, paths, full('2'), [{ kind: 'secret', target: '/run/secrets/db', onChange: 'none' }]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).code).toBe('FILES');
    expect((err as RuntimeError).message).toContain('secret db');
    expect((err as RuntimeError).message).not.toContain(SECRET_VALUE);
  });
});

describe('monitorConfig: files and secrets', () => {
  const placement = { taskFiles: [], monitorTaskFiles: [], oomFile: '/x' };
  const contentPath = (kind: 'file' | 'secret', target: string): string => contentFilePath(paths, kind, target);
  const pairsOf = (buf: Buffer): Array<[string, string]> => {
    const parts = buf.toString().split('\0');
    const out: Array<[string, string]> = [];
    for (let i = 0; i + 1 < parts.length; i += 2) out.push([parts[i]!, parts[i + 1]!]);
    return out;
  };
  const binds = (pairs: Array<[string, string]>): Array<[string, string, string]> => {
    const out: Array<[string, string, string]> = [];
    pairs.forEach(([k, v], i) => {
      if (k === 'bind_src') out.push([v, pairs[i + 1]![1], pairs[i + 2]![1]]);
    });
    return out;
  };

  it('binds each file and secret read-only, as a file, from its host file to its target', () => {
    const d = full();
    const pairs = pairsOf(
      monitorConfig(d.spec, { paths, placement, sourceIsDir: () => true, volumePath: (n) => `/v/${n}`, contentPath, bootId: 'b' }),
    );
    expect(binds(pairs)).toEqual([
      [contentPath('file', '/etc/app.conf'), '/etc/app.conf', 'ro,file'],
      [contentPath('file', '/etc/b.conf'), '/etc/b.conf', 'ro,file'],
      [contentPath('secret', '/run/secrets/db'), '/run/secrets/db', 'ro,file'],
      [contentPath('secret', '/etc/api.key'), '/etc/api.key', 'ro,file'],
    ]);
    // Each bind is a bind_src, bind_dst, bind_flags triple in a row.
    const i = pairs.findIndex(([k, v]) => k === 'bind_src' && v === contentPath('secret', '/run/secrets/db'));
    expect(pairs.slice(i, i + 3).map(([k]) => k)).toEqual(['bind_src', 'bind_dst', 'bind_flags']);
  });

  it('binds files after mounts and volumes (their mount points may lie in no other mount)', () => {
    const d = resolveContents(
      desired(
        specObj('web', {
          mounts: [{ source: '/srv/www', target: '/www' }],
          volumes: [{ name: 'data', target: '/data' }],
          files: [{ target: '/etc/app.conf', content: 'x' }],
        }),
      ),
      reader(),
    );
    const b = binds(
      pairsOf(monitorConfig(d.spec, { paths, placement, sourceIsDir: () => true, volumePath: (n) => `/v/${n}`, contentPath, bootId: 'b' })),
    );
    expect(b.map((x) => x[1])).toEqual(['/www', '/data', '/etc/app.conf']);
  });

  it('asks for no content path and adds no bind for a spec without files or secrets', () => {
    const d = desired(specObj('web'));
    const asked: string[] = [];
    const pairs = pairsOf(
      monitorConfig(d.spec, {
        paths,
        placement,
        sourceIsDir: () => true,
        volumePath: (n) => `/v/${n}`,
        contentPath: (k, t) => {
          asked.push(`${k} ${t}`);
          return '/x';
        },
        bootId: 'b',
      }),
    );
    expect(asked).toEqual([]);
    expect(binds(pairs)).toEqual([]);
  });

  it('never lets a network bind hide a file of the spec at the same target (bridge mode /etc/resolv.conf)', () => {
    const text = stringify(
      specObj('web', { network: { mode: 'bridge' }, files: [{ target: '/etc/resolv.conf', content: 'nameserver 10.0.0.1\n' }] }),
    );
    const parsed = parseSpecFile(text, '/specs/web.yaml', { dir: '/specs', file: 'web.yaml' });
    // Refusing the spec would do as well: what must not happen is a file that is silently not there.
    if (parsed.errors.length) return;
    const d = resolveContents(parsed.specs[0]!, reader());
    const net: AttachedNetwork = {
      netns: '/run/p/web/netns',
      binds: ['hostname', 'hosts', 'resolv.conf'].map((f) => ({ source: `/run/p/web/etc/${f}`, target: `/etc/${f}` })),
    };
    const b = binds(
      pairsOf(
        monitorConfig(d.spec, { paths, placement, sourceIsDir: () => true, volumePath: (n) => `/v/${n}`, contentPath, bootId: 'b', net }),
      ),
    ).filter((x) => x[1] === '/etc/resolv.conf');
    // The last bind at a target is the one the workload sees.
    expect(b.at(-1)![0]).toBe(contentPath('file', '/etc/resolv.conf'));
  });
});

describe('startSizeProblems: files and secrets', () => {
  it('counts the binds of files and secrets against the monitor list limit, before anything stops', () => {
    const files = Array.from({ length: 250 }, (_, i) => ({ target: `/etc/f${i}`, content: 'x' }));
    const secrets = Array.from({ length: 10 }, (_, i) => ({ name: `s${i}` }));
    const d = desired(specObj('web', { files, secrets }));
    expect(d.spec.files.length + d.spec.secrets.length).toBeGreaterThan(MONITOR_MAX_LIST);
    expect(startSizeProblems(d.spec, paths, argMaxFor(8 * 2 ** 20))).toEqual([expect.stringMatching(/bind mounts/)]);
    const fits = desired(specObj('web', { files: files.slice(0, 200), secrets }));
    expect(startSizeProblems(fits.spec, paths, argMaxFor(8 * 2 ** 20))).toEqual([]);
  });
});
