import { spawn, spawnSync } from 'node:child_process';
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { startExec } from '../../reconciler/host/execProcess.js';
import { execConfig } from '../../reconciler/runtime/exec.js';
import { monitorBinary, packageRoot } from '../../reconciler/native.js';
import { useTestInstance } from '../helpers/instance.js';
import { kernelRequirements } from '../helpers/kernel.js';

const EXAMPLE_DIR = join(packageRoot(), 'examples', 'debian');
const SCRIPT = join(EXAMPLE_DIR, 'make-debian-layer.sh');
/** Kept between runs: the first build downloads from the mirror, later runs find it complete. */
const LAYER = '/var/lib/pocker-test-cache/debian-bookworm';
const BUILD_TIMEOUT_MS = 15 * 60_000;

/** What building the layer needs beyond the real-kernel requirements. */
function debootstrapRequirement(): string[] {
  const r = spawnSync('sh', ['-c', 'command -v debootstrap'], {
    env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` },
  });
  return r.status === 0 ? [] : ['debootstrap not installed (apt-get install debootstrap)'];
}

/** describeKernel with debootstrap as one more requirement: skipped with the reason, failing on CI. */
function describeDebian(name: string, fn: () => void): void {
  const missing = [...kernelRequirements(), ...debootstrapRequirement()];
  if (!missing.length) {
    describe(name, fn);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('has what the Debian example needs', () => {
        throw new Error(`the Debian example cannot run on CI: ${missing.join('; ')}`);
      });
    });
  } else {
    describe.skip(`${name} [skipped: ${missing.join('; ')}]`, fn);
  }
}

/**
 * Runs the build script in its own process group, so that a timeout stops debootstrap too (the
 * script then removes its temp dir). Resolves to its output; rejects on failure.
 */
function buildLayer(timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', [SCRIPT, LAYER], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGTERM'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`make-debian-layer.sh failed (${signal ?? `exit ${code}`}):\n${out}`));
    });
  });
}

describeDebian('the Debian example (debootstrap layer, lxc-debian configuration)', () => {
  const current = useTestInstance();

  beforeAll(async () => {
    const started = Date.now();
    const out = await buildLayer(BUILD_TIMEOUT_MS - 30_000);
    console.log(`${out.trim()}\n(${Math.round((Date.now() - started) / 1000)} s)`);
  }, BUILD_TIMEOUT_MS);

  /** Runs a command inside the container through pocker exec's machinery. */
  const execIn = (name: string, argv: string[]): Promise<{ code: number | null; out: string }> => {
    const inst = current();
    const a = inst.container(name);
    const child = startExec(
      monitorBinary(),
      execConfig(a.record!.spec, a.pids!, inst.driver.placement(name), { argv }, !!a.record!.userns),
      'pipe',
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (out += d));
    return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out: out.trim() })));
  };

  it('builds a complete layer once: no device nodes, the host name, hosts, apt sources and service policy of lxc-debian', () => {
    expect(readFileSync(join(LAYER, 'etc', 'pocker-layer'), 'utf8')).toMatch(/^suite=bookworm$/m);
    expect(readdirSync(join(LAYER, 'dev'))).toEqual([]);
    expect(readFileSync(join(LAYER, 'etc', 'hostname'), 'utf8')).toBe('debian\n');
    expect(readFileSync(join(LAYER, 'etc', 'hosts'), 'utf8')).toMatch(/^127\.0\.1\.1\s+debian$/m);
    expect(readFileSync(join(LAYER, 'etc', 'resolv.conf'), 'utf8')).toBe('');
    expect(readlinkSync(join(LAYER, 'etc', 'mtab'))).toBe('/proc/self/mounts');
    expect(readFileSync(join(LAYER, 'etc', 'apt', 'sources.list.d', 'debian.sources'), 'utf8')).toMatch(/^Suites: bookworm-security$/m);
    expect(readFileSync(join(LAYER, 'usr', 'sbin', 'policy-rc.d'), 'utf8')).toMatch(/^exit 101$/m);
    for (const unit of ['getty@.service', 'console-getty.service', 'container-getty@.service', 'systemd-udevd.service']) {
      expect(readlinkSync(join(LAYER, 'etc', 'systemd', 'system', unit)), unit).toBe('/dev/null');
    }
    expect(readdirSync(join(LAYER, 'var', 'lib', 'apt', 'lists'))).toEqual(['partial']);
    const marker = lstatSync(join(LAYER, 'etc', 'pocker-layer')).mtimeMs;
    const again = spawnSync('sh', [SCRIPT, LAYER], { encoding: 'utf8' });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already built/);
    expect(lstatSync(join(LAYER, 'etc', 'pocker-layer')).mtimeMs).toBe(marker);
  });

  it("runs the example spec: Debian 12 under the spec's hostname, dpkg and apt working on the installed packages", async () => {
    const inst = current();
    const spec = parse(readFileSync(join(EXAMPLE_DIR, 'debian.yaml'), 'utf8')) as Record<string, unknown> & { hostname: string };
    inst.writeSpec('debian.yaml', { ...spec, image: { layers: [LAYER] } });
    const r = await inst.reconcile();
    expect(r.ok, JSON.stringify(r.results)).toBe(true);
    await inst.waitForLog('debian', new RegExp(`^${spec.hostname}: Debian 12\\.\\d+, \\d+ packages$`, 'm'));

    const version = await execIn('debian', ['cat', '/etc/debian_version']);
    expect(version.out).toMatch(/^12\./);
    expect(await execIn('debian', ['hostname'])).toEqual({ code: 0, out: spec.hostname });
    const status = await execIn('debian', ['dpkg', '-s', 'base-files']);
    expect(status.code, status.out).toBe(0);
    expect(status.out).toMatch(/^Status: install ok installed$/m);
    const check = await execIn('debian', ['apt-get', 'check']);
    expect(check.code, check.out).toBe(0);
    const policy = await execIn('debian', ['apt-cache', 'policy', 'dpkg']);
    expect(policy.out).toMatch(/Installed: 1\.21\./);
    expect(await execIn('debian', ['sh', '-c', 'test -c /dev/null && echo ok'])).toEqual({ code: 0, out: 'ok' });
    expect(await execIn('debian', ['sh', '-c', 'echo "$LANG"; ls /usr/lib/locale'])).toEqual({ code: 0, out: 'C.UTF-8\nC.utf8' });
  });
});
