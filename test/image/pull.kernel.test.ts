import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { WatchController } from '../../reconciler/controller/watch.js';
import { imageStorePaths, readRefs, storedLayers } from '../../reconciler/image/store.js';
import { POCKER_BIN, instanceFlags, pocker } from '../helpers/cli.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';
import { pushTestImage, pushTestIndex, registryBlobPath, useTestRegistry, type TestFile, type TestRegistry } from '../helpers/registry.js';
import { restoreBootId, simulateReboot } from '../helpers/reboot.js';
import { until } from '../helpers/wait.js';

const RUN_SH =
  '#!/bin/sh\necho "args=$*"\necho "greeting=$GREETING"\necho "pwd=$(pwd)"\necho "uid=$(id -u)"\necho "marker=$(cat /marker)"\nexec sleep 3600\n';

/** A runnable image: busybox, a user, a script as Entrypoint, Cmd, Env, WorkingDir, User; a deleted file and an opaque dir in its upper layers. */
function appImage(base: Record<string, TestFile>, marker: string, extra: Record<string, TestFile> = {}) {
  return {
    layers: [
      {
        files: {
          ...base,
          'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234:app:/app:/bin/sh\n',
          'etc/group': 'root:x:0:\napp:x:1234:\n',
          'gone.txt': 'x',
          'cache/old': 'x',
        },
      },
      { files: { 'app/run.sh': { data: RUN_SH, mode: 0o755 }, 'gone.txt': null, marker, ...extra }, opaque: ['cache'] },
    ],
    config: {
      entrypoint: ['/bin/sh', '/app/run.sh'],
      cmd: ['hello'],
      env: { GREETING: 'from-image', PATH: '/bin:/sbin:/usr/bin' },
      workingDir: '/app',
      user: 'app',
      stopSignal: 'SIGINT',
    },
  };
}

describeKernel('registry images: pulled, run with their config, pinned', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  const registry = useTestRegistry({ timeoutMs: 5_000, attempts: 2 });
  let reg: TestRegistry;
  let base: Record<string, TestFile>;
  beforeAll(() => {
    ({ reg, base } = registry);
  });
  beforeEach(() => {
    inst = current();
  });
  afterEach(() => restoreBootId());
  const client = registry.client;
  const pass = (extra = {}) => inst.reconcile({ registry: client, ...extra });
  const image = (name: string) => `${reg.host}/test/${name}`;
  const psImage = (name: string): string => {
    const out = pocker(inst, 'ps', ['-o', 'json']);
    return (JSON.parse(out.stdout) as Array<{ name: string; image: string }>).find((e) => e.name === name)!.image;
  };

  it("runs an image's Entrypoint + Cmd with its Env, WorkingDir and User, pinned to the digest it pulled", async () => {
    const digest = await pushTestImage(reg, 'test/app', '1', appImage(base, 'one'));
    inst.writeSpec('web.yaml', { name: 'web', image: image('app:1'), stopGracePeriod: '2s' });
    const r = await pass();
    expect(r.ok, JSON.stringify([r.results, r.plan.problems, r.load.errors])).toBe(true);
    expect(r.plan.actions[0]!.reason).toBe(`new spec, image ${image('app:1')}@${digest}`);
    await inst.waitForLog('web', /marker=one/);
    const log = inst.log('web');
    for (const line of ['args=hello', 'greeting=from-image', 'pwd=/app', 'uid=1234']) expect(log).toContain(line);
    expect(psImage('web')).toBe(`${image('app:1')}@${digest}`);
    const rec = inst.container('web').record!;
    expect(rec.spec.image).toEqual({ reference: image('app:1'), digest });
    expect(rec.spec.stopSignal).toBe('SIGINT');
    const paths = imageStorePaths(inst.dirs.dataDir);
    expect(readRefs(inst.host, paths).refs[image('app:1')]?.manifest).toBe(digest);
    expect(readdirSync(paths.tmp)).toEqual([]);
    // The deleted file and the opaque dir of the upper layer hide the lower layer's.
    const check = spawnSync(
      process.execPath,
      [POCKER_BIN, 'exec', ...instanceFlags(inst), 'web', '--', 'sh', '-c', 'ls /gone.txt /cache/old 2>&1; echo done'],
      { encoding: 'utf8' },
    );
    expect(check.stdout).toMatch(/gone\.txt.*No such file[\s\S]*cache\/old.*No such file[\s\S]*done/);
    expect((await pass()).plan.actions.map((a) => a.kind)).toEqual(['none']);
  }, 60_000);

  it('args replace the Cmd, command replaces the Entrypoint, env overrides per key, user and workingDir apply', async () => {
    await pushTestImage(reg, 'test/app', '1', appImage(base, 'one'));
    inst.writeSpec('a.yaml', { name: 'a', image: image('app:1'), args: ['bye', 'now'], env: { GREETING: 'from-spec' } });
    inst.writeSpec('c.yaml', {
      name: 'c',
      image: image('app:1'),
      command: ['/bin/sh', '-c', 'echo "cmd $0 $GREETING $(pwd) $(id -u)"; exec sleep 3600'],
      user: '0',
      workingDir: '/tmp',
    });
    const r = await pass();
    expect(r.ok, JSON.stringify(r.results)).toBe(true);
    await inst.waitForLog('a', /marker=one/);
    expect(inst.log('a')).toContain('args=bye now');
    expect(inst.log('a')).toContain('greeting=from-spec');
    await inst.waitForLog('c', /cmd/);
    expect(inst.log('c')).toMatch(/cmd \/bin\/sh from-image \/tmp 0/);
  }, 60_000);

  it('keeps the pinned digest when the tag moves and across a reboot; image update moves it', async () => {
    const one = await pushTestImage(reg, 'test/pin', '1', appImage(base, 'one'));
    inst.writeSpec('web.yaml', { name: 'web', image: image('pin:1'), stopGracePeriod: '2s' });
    expect((await pass()).ok).toBe(true);
    const pid = inst.pid('web');
    const two = await pushTestImage(reg, 'test/pin', '1', appImage(base, 'two'));
    expect(two).not.toBe(one);
    const pulled = pocker(inst, 'image', ['pull', image('pin:1')], { timeoutMs: 60_000 });
    expect(pulled.status, pulled.stderr).toBe(0);
    expect(pulled.stdout).toContain(`pulled ${image('pin:1')} ${two}`);
    expect(pulled.stdout).toContain('containers stay on their pinned digest');
    expect((await pass()).plan.actions.map((a) => a.kind)).toEqual(['none']);
    expect(inst.pid('web')).toBe(pid);
    await simulateReboot(inst);
    const after = await pass();
    expect(after.plan.actions.map((a) => a.kind)).toEqual(['restart']);
    await inst.waitForLog('web', /marker=one[\s\S]*marker=one/);
    expect(psImage('web')).toBe(`${image('pin:1')}@${one}`);
    const update = pocker(inst, 'image', ['update', 'web'], { timeoutMs: 60_000 });
    expect(update.status, `${update.stdout}${update.stderr}`).toBe(0);
    expect(update.stdout).toMatch(
      new RegExp(`web: moved ${image('pin:1').replace(/[.]/g, '\\.')} ${one.slice(7, 19)} -> ${two.slice(7, 19)}`),
    );
    expect(psImage('web')).toBe(`${image('pin:1')}@${two}`);
    await inst.waitForLog('web', /marker=two/);
    expect((await pass()).plan.actions.map((a) => a.kind)).toEqual(['none']);
    const again = pocker(inst, 'image', ['update', 'web'], { timeoutMs: 60_000 });
    expect(again.stdout).toMatch(/web: current/);
  }, 120_000);

  it('pull: never runs an image imported under the same name, and is an error of the file otherwise', async () => {
    await pushTestImage(reg, 'test/app', '1', appImage(base, 'imported'));
    const layout = mkdtempSync(join(tmpdir(), 'pocker-layout-'));
    try {
      const copy = spawnSync('skopeo', ['copy', '--src-tls-verify=false', `docker://${image('app:1')}`, `oci:${layout}:1`], {
        encoding: 'utf8',
      });
      expect(copy.status, copy.stderr).toBe(0);
      const imp = pocker(inst, 'image', ['import', layout, '--name', 'local/app:1']);
      expect(imp.status, imp.stderr).toBe(0);
    } finally {
      rmSync(layout, { recursive: true, force: true });
    }
    inst.writeSpec('web.yaml', { name: 'web', image: 'local/app:1', pull: 'never' });
    const r = await pass();
    expect(r.ok, JSON.stringify([r.results, r.load.errors])).toBe(true);
    await inst.waitForLog('web', /marker=imported/);
    inst.writeSpec('other.yaml', { name: 'other', image: 'local/other:1', pull: 'never' });
    const bad = await pass();
    expect(bad.ok).toBe(false);
    expect(bad.load.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/docker\.io\/local\/other:1 is not in the image store and the spec says pull: never/),
    ]);
  }, 60_000);

  it('the watching controller pulls in the background and starts the container when the image is there', async () => {
    await pushTestImage(reg, 'test/app', '1', appImage(base, 'watched'));
    const ctl = new WatchController({
      dir: inst.specDir,
      dirs: inst.dirs,
      host: inst.host,
      driver: inst.driver,
      registry: client,
      resyncMs: 3_600_000,
      healthChecks: false,
    });
    await ctl.start();
    try {
      inst.writeSpec('web.yaml', { name: 'web', image: image('app:1') });
      await until(() => inst.runningPid('web') !== null, 'web started after its pull', 30_000, 50);
      await inst.waitForLog('web', /marker=watched/);
    } finally {
      await ctl.stop();
    }
  }, 60_000);

  describeFaults();

  function describeFaults(): void {
    /** A running container the faults must leave alone, and what each fault must leave in the store: nothing half-made. */
    const keep = async (): Promise<{ pid: number; layers: string[] }> => {
      inst.writeSpec('keep.yaml', inst.spec('keep'));
      expect((await pass()).ok).toBe(true);
      return { pid: inst.pid('keep'), layers: storedLayers(inst.host, imageStorePaths(inst.dirs.dataDir)).sort() };
    };
    const unharmed = (before: { pid: number; layers: string[] }): void => {
      expect(inst.pid('keep')).toBe(before.pid);
      const paths = imageStorePaths(inst.dirs.dataDir);
      expect(storedLayers(inst.host, paths).sort()).toEqual(before.layers);
      expect(existsSync(paths.tmp) ? readdirSync(paths.tmp) : []).toEqual([]);
      expect(inst.actual().containers.has('bad')).toBe(false);
    };
    const failsWith = async (img: string, message: RegExp, extra = {}): Promise<void> => {
      const before = await keep();
      inst.writeSpec('bad.yaml', { name: 'bad', image: img, ...extra });
      const r = await pass();
      expect(r.ok).toBe(false);
      expect(r.plan.problems.map((p) => p.message).join('\n')).toMatch(message);
      unharmed(before);
      inst.removeSpec('bad.yaml');
    };

    it('an unknown host, a refused connection and a missing tag fail that container only, naming the image', async () => {
      await failsWith('nosuchhost.invalid/test/app:1', /pull of nosuchhost\.invalid\/test\/app:1 failed: .*nosuchhost\.invalid/);
      await failsWith('127.0.0.1:9/test/app:1', /pull of 127\.0\.0\.1:9\/test\/app:1 failed: .*(ECONNREFUSED|refused)/);
      await failsWith(
        image('nothing:1'),
        /pull of 127\.0\.0\.1:\d+\/test\/nothing:1 failed: .*(not found|404|MANIFEST_UNKNOWN|NAME_UNKNOWN)/i,
      );
    }, 60_000);

    it('an index with only another platform is refused, listing what it has', async () => {
      await pushTestIndex(reg, 'test/arm', '1', [{ ...appImage(base, 'arm'), platform: { architecture: 'arm64' } }]);
      await failsWith(image('arm:1'), /linux\/arm64/);
    }, 60_000);

    it('a blob whose bytes do not match its digest is discarded whole', async () => {
      const big = randomBytes(256 * 1024);
      const digest = await pushTestImage(reg, 'test/corrupt', '1', appImage(base, 'c', { 'data.bin': big }));
      const manifest = JSON.parse(
        spawnSync(
          'curl',
          ['-s', '-H', 'Accept: application/vnd.oci.image.manifest.v1+json', `${reg.url}/v2/test/corrupt/manifests/${digest}`],
          { encoding: 'utf8' },
        ).stdout,
      ) as { layers: Array<{ digest: string }> };
      const blob = registryBlobPath(reg, manifest.layers[1]!.digest);
      const bytes = readFileSync(blob);
      bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
      writeFileSync(blob, bytes);
      await failsWith(image('corrupt:1'), /digest/i);
    }, 60_000);

    it('a registry killed in the middle of a blob leaves nothing half-made, and the next pull completes', async () => {
      const big = randomBytes(48 * 1024 * 1024);
      await pushTestImage(reg, 'test/big', '1', appImage(base, 'big', { 'data.bin': big }));
      const before = await keep();
      const paths = imageStorePaths(inst.dirs.dataDir);
      const pull = spawn(process.execPath, [POCKER_BIN, 'image', 'pull', ...instanceFlags(inst), image('big:1')], { stdio: 'ignore' });
      try {
        await until(
          () => existsSync(paths.tmp) && readdirSync(paths.tmp).some((d) => d.startsWith('layer-')),
          'a layer being unpacked',
          30_000,
          5,
        );
        reg.kill();
        const code = await new Promise<number | null>((r) => pull.once('exit', (c) => r(c)));
        expect(code).not.toBe(0);
        unharmed(before);
      } finally {
        pull.kill('SIGKILL');
        await reg.restart();
      }
      const again = pocker(inst, 'image', ['pull', image('big:1')], { timeoutMs: 120_000 });
      expect(again.status, again.stderr).toBe(0);
      expect(readdirSync(paths.tmp)).toEqual([]);
    }, 180_000);

    it('a pull killed with SIGKILL leaves no orphan temporary files: the next one cleans up and completes', async () => {
      const big = randomBytes(32 * 1024 * 1024);
      await pushTestImage(reg, 'test/killed', '1', appImage(base, 'k', { 'data.bin': big }));
      const before = await keep();
      const paths = imageStorePaths(inst.dirs.dataDir);
      const pull = spawn(process.execPath, [POCKER_BIN, 'image', 'pull', ...instanceFlags(inst), image('killed:1')], { stdio: 'ignore' });
      await until(
        () => existsSync(paths.tmp) && readdirSync(paths.tmp).some((d) => d.startsWith('layer-')),
        'a layer being unpacked',
        30_000,
        5,
      );
      pull.kill('SIGKILL');
      await new Promise((r) => pull.once('exit', r));
      expect(readdirSync(paths.tmp).length).toBeGreaterThan(0);
      expect(inst.pid('keep')).toBe(before.pid);
      const again = pocker(inst, 'image', ['pull', image('killed:1')], { timeoutMs: 120_000 });
      expect(again.status, again.stderr).toBe(0);
      expect(readdirSync(paths.tmp)).toEqual([]);
    }, 180_000);

    it('a disk that fills up while a layer is unpacked fails the pull with ENOSPC and leaves nothing', async () => {
      const big = randomBytes(8 * 1024 * 1024);
      await pushTestImage(reg, 'test/full', '1', appImage(base, 'f', { 'data.bin': big }));
      const before = await keep();
      const paths = imageStorePaths(inst.dirs.dataDir);
      const tmp = paths.tmp;
      mkdirSync(tmp, { recursive: true, mode: 0o700 });
      expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', tmp]).status).toBe(0);
      try {
        const full = pocker(inst, 'image', ['pull', image('full:1')], { timeoutMs: 60_000 });
        expect(full.status).not.toBe(0);
        expect(full.stderr).toMatch(/ENOSPC|no space left/i);
        expect(readdirSync(tmp)).toEqual([]);
        expect(inst.pid('keep')).toBe(before.pid);
        expect(storedLayers(inst.host, paths).sort()).toEqual(before.layers);
      } finally {
        spawnSync('umount', [tmp]);
      }
    }, 60_000);
  }
});
