import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import { WatchController } from '../../reconciler/controller/watch.js';
import { containerPaths } from '../../reconciler/state/layout.js';
import { pocker as runPocker } from '../helpers/cli.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';

/** Every file under dir, by path, skipping the mount points given (they are read through other means). */
function filesUnder(dir: string, skip: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (skip.has(p)) continue;
    if (e.isDirectory()) out.push(...filesUnder(p, skip));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

describeKernel('files and secrets on the real kernel', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  beforeEach(() => {
    inst = current();
  });
  const outputs: string[] = [];
  const pocker = (verb: string, ...args: string[]) => {
    const r = runPocker(inst, verb, args);
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  const sh = (name: string, script: string) => pocker('exec', name, '--', 'sh', '-c', script);
  /** Runs a command that prints what the test checks the secret by (its sha256): left out of the outputs checked for it. */
  const checkSecret = (name: string, script: string) => runPocker(inst, 'exec', [name, '--', 'sh', '-c', script]);
  const writeSecret = (name: string, value: string, mode = 0o400) => {
    writeFileSync(join(inst.secretsDir, name), value, { mode });
    chmodSync(join(inst.secretsDir, name), mode);
  };
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');

  it('a secret is readable at its target with its mode, lives on a tmpfs, and its value appears in no output, record or log', () => {
    outputs.length = 0;
    const value = `s3cret-${randomBytes(12).toString('hex')}`;
    writeSecret('dbpass', value);
    inst.writeSpec('app.yaml', inst.spec('app', { secrets: [{ name: 'dbpass', mode: '0440', gid: 10 }] }));
    expect(pocker('reconcile', '--once', '--log-level', 'debug').status).toBe(0);
    const seen = checkSecret('app', 'sha256sum /run/secrets/dbpass; stat -c "%a %u %g" /run/secrets/dbpass; echo x > /run/secrets/dbpass');
    expect(seen.stdout).toBe(`${sha(value)}  /run/secrets/dbpass\n440 0 10\n`);
    expect(seen.stderr).toMatch(/Read-only file system/);

    const paths = containerPaths(inst.dirs, 'app');
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
    expect(mounts.some((l) => l.split(' ')[4] === paths.secrets && l.includes(' - tmpfs '))).toBe(true);

    // A changed value applies like a changed file (onChange restart: the same writable layer, a new run).
    expect(sh('app', 'echo kept > /layer-marker').status).toBe(0);
    const pid = inst.pid('app');
    const next = `n3xt-${randomBytes(12).toString('hex')}`;
    writeSecret('dbpass', next);
    const plan = pocker('plan');
    expect(plan.stdout).toMatch(/restart\s+app\s.*secret \/run\/secrets\/dbpass \(onChange: restart\)/);
    expect(pocker('reconcile', '--once', '--log-level', 'debug').status).toBe(0);
    expect(inst.pid('app')).not.toBe(pid);
    expect(checkSecret('app', 'sha256sum /run/secrets/dbpass; cat /layer-marker').stdout).toBe(`${sha(next)}  /run/secrets/dbpass\nkept\n`);

    // A secret others can read is refused before anything stops.
    const pid2 = inst.pid('app');
    writeSecret('dbpass', value, 0o644);
    const refused = pocker('reconcile', '--once');
    expect(refused.status).not.toBe(0);
    expect(refused.stderr + refused.stdout).toMatch(/HOST_CHECK: secrets\[0\] \(dbpass\): refusing .*dbpass: mode 644 lets others in/);
    expect(inst.pid('app')).toBe(pid2);
    writeSecret('dbpass', next);

    for (const verb of [['inspect', 'app'], ['ps'], ['ps', '-o', 'json'], ['logs', 'app'], ['status'], ['plan']])
      pocker(verb[0]!, ...verb.slice(1));
    const onDisk = filesUnder(inst.root, new Set([paths.secrets, inst.secretsDir])).map((f) => readFileSync(f, 'latin1'));
    for (const text of [...outputs, ...onDisk]) {
      for (const v of [value, next]) {
        expect(text).not.toContain(v);
        expect(text).not.toContain(sha(v));
      }
    }
    const record = readFileSync(paths.record, 'utf8');
    expect(record).toMatch(/"digest":"hmac-sha256:[0-9a-f]{64}"/);
  });

  it('files from content and from a source: written read-only with mode and owner; a change rewrites in place, then restart, a signal or nothing', async () => {
    const source = join(inst.specDir, 'app.conf');
    writeFileSync(source, 'level=1\n');
    const files = (inline: string, onChange = 'none') => [
      { target: '/etc/app/inline.conf', content: inline, mode: '0640', uid: 1000, gid: 1000, onChange },
      { target: '/etc/app/app.conf', source: 'app.conf', onChange: 'signal:USR1' },
    ];
    const script = 'trap "echo got USR1; cat /etc/app/app.conf" USR1; while :; do sleep 0.1; done';
    inst.writeSpec('app.yaml', inst.spec('app', { command: ['sh', '-c', script], files: files('a=1\n') }));
    expect(pocker('reconcile', '--once').status).toBe(0);
    expect(sh('app', 'cat /etc/app/inline.conf /etc/app/app.conf; stat -c "%a %u %g" /etc/app/inline.conf /etc/app/app.conf').stdout).toBe(
      'a=1\nlevel=1\n640 1000 1000\n644 0 0\n',
    );
    expect(sh('app', 'echo x > /etc/app/app.conf').stderr).toMatch(/Read-only file system/);
    const pid = inst.pid('app');

    // The source changes, its spec does not: rewritten in place, then SIGUSR1; the same process.
    writeFileSync(source, 'level=2\n');
    const r = await inst.reconcile();
    expect(r.results.map((x) => [x.name, x.kind, x.ok])).toEqual([['app', 'update', true]]);
    expect(r.results[0]!.reason).toMatch(
      /files changed: \/etc\/app\/app.conf \(onChange: signal:SIGUSR1\); rewritten in place, then SIGUSR1/,
    );
    await expect.poll(() => inst.log('app'), { timeout: 5000 }).toContain('got USR1\nlevel=2\n');
    expect(inst.pid('app')).toBe(pid);

    // Inline content with onChange none: rewritten, nothing else.
    inst.writeSpec('app.yaml', inst.spec('app', { command: ['sh', '-c', script], files: files('a=2\n') }));
    expect((await inst.reconcile()).results.map((x) => x.kind)).toEqual(['update']);
    expect(sh('app', 'cat /etc/app/inline.conf').stdout).toBe('a=2\n');
    expect(inst.pid('app')).toBe(pid);
    expect((await inst.reconcile()).results).toEqual([]);

    // onChange restart: a new run on the same writable layer, never a recreate.
    expect(sh('app', 'echo kept > /layer-marker').status).toBe(0);
    inst.writeSpec('app.yaml', inst.spec('app', { command: ['sh', '-c', script], files: files('a=3\n', 'restart') }));
    expect((await inst.reconcile()).results.map((x) => x.kind)).toEqual(['restart']);
    expect(inst.pid('app')).not.toBe(pid);
    expect(sh('app', 'cat /etc/app/inline.conf /layer-marker').stdout).toBe('a=3\nkept\n');

    // A missing source is a host-check error before anything stops.
    const pid2 = inst.pid('app');
    writeFileSync(source, 'level=3\n');
    inst.writeSpec(
      'app.yaml',
      inst.spec('app', { command: ['sh', '-c', script], files: [{ target: '/etc/app/app.conf', source: join(inst.root, 'nope.conf') }] }),
    );
    const missing = await inst.reconcile();
    expect(missing.ok).toBe(false);
    expect(missing.plan.problems.map((p) => p.message).join('\n')).toMatch(
      /HOST_CHECK: files\[0\] \(\/etc\/app\/app.conf\): source .*nope.conf: ENOENT; the container is left as it is/,
    );
    expect(inst.pid('app')).toBe(pid2);

    // A new target changes the mounts: that recreates.
    inst.writeSpec(
      'app.yaml',
      inst.spec('app', {
        command: ['sh', '-c', script],
        files: [...files('a=3\n', 'restart'), { target: '/etc/app/new.conf', content: 'new\n' }],
      }),
    );
    const re = await inst.reconcile();
    expect(re.results.map((x) => x.kind)).toEqual(['recreate']);
    expect(re.results[0]!.reason).toMatch(/changed: files/);
    expect(sh('app', 'cat /etc/app/new.conf').stdout).toBe('new\n');
    expect(statSync(containerPaths(inst.dirs, 'app').files).mode & 0o777).toBe(0o700);
  });

  it('the watching controller applies a changed secret and a changed source at the top of the spec dir at once, without waiting for a resync', async () => {
    writeSecret('token', 'one');
    writeFileSync(join(inst.specDir, 'app.conf'), 'v1\n');
    const script = 'trap "cat /etc/app.conf" HUP; while :; do sleep 0.1; done';
    inst.writeSpec(
      'app.yaml',
      inst.spec('app', {
        command: ['sh', '-c', script],
        secrets: [{ name: 'token', onChange: 'none' }],
        files: [{ target: '/etc/app.conf', source: 'app.conf', onChange: 'signal:HUP' }],
      }),
    );
    const ctl = new WatchController({
      dir: inst.specDir,
      dirs: inst.dirs,
      secretsDir: inst.secretsDir,
      host: inst.host,
      driver: inst.driver,
      resyncMs: 3_600_000,
      removalDelayMs: 50,
      healthChecks: false,
    });
    await ctl.start();
    try {
      await expect.poll(() => inst.runningPid('app'), { timeout: 10_000 }).not.toBeNull();
      const pid = inst.pid('app');
      writeFileSync(join(inst.specDir, 'app.conf'), 'v2\n');
      await expect.poll(() => inst.log('app'), { timeout: 5000 }).toContain('v2\n');
      writeSecret('token', 'two');
      await expect.poll(() => checkSecret('app', 'cat /run/secrets/token').stdout, { timeout: 5000 }).toBe('two');
      expect(inst.pid('app')).toBe(pid);
    } finally {
      await ctl.stop();
    }
  });
});
