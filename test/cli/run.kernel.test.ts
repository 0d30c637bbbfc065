import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { packageRoot } from '../../reconciler/native.js';
import { containerPaths } from '../../reconciler/state/layout.js';
import { describeKernel } from '../helpers/kernel.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { until } from '../helpers/wait.js';
import { writeLayout } from '../image/oci.js';
import { create as createTar } from 'tar';

const bin = join(packageRoot(), 'bin', 'pocker');

function instanceFlags(inst: TestInstance): string[] {
  return ['--state-dir', inst.dirs.stateDir, '--data-dir', inst.dirs.dataDir, '--cgroup-parent', inst.dirs.cgroupParent];
}

/** Runs `pocker VERB --instance-flags ARGS...` to completion. */
function pocker(inst: TestInstance, verb: string, args: string[], input?: string) {
  return spawnSync(process.execPath, [bin, verb, ...instanceFlags(inst), ...args], {
    encoding: 'utf8',
    input: input ?? '',
    timeout: 30_000,
  });
}

describeKernel('pocker run (ad-hoc containers)', () => {
  const inst = useTestInstance();

  it("-it gives a real terminal inside: typed commands run there and their exit code is pocker's", () => {
    const i = inst();
    const drive = {
      argv: [process.execPath, bin, 'run', ...instanceFlags(i), '-it', '--rm', '--hostname', 'ptybox', i.layer, 'sh'],
      wait_for: '# ',
      input: 'hostname; tty; exit 3\n',
    };
    const r = spawnSync('python3', [join(packageRoot(), 'test', 'helpers', 'ptyDrive.py'), JSON.stringify(drive)], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { output: string; exit: number; typed: boolean };
    expect(result.typed, result.output).toBe(true);
    expect(result.output).toMatch(/\r\nptybox\r\n/);
    expect(result.output).toMatch(/\r\n\/dev\/pts\/0\r\n/);
    expect(result.exit).toBe(3);
    expect(i.actual().containers.size).toBe(0);
  });

  it('attached: prints the output, passes stdin with -i, ends with the exit code (128+N for a signal)', () => {
    const i = inst();
    const r = pocker(i, 'run', ['--rm', '-i', '--name', 'cat1', i.layer, 'sh', '-c', 'cat; echo err >&2; exit 7'], 'from stdin\n');
    expect(r.stdout).toBe('from stdin\n');
    expect(r.stderr).toBe('err\n');
    expect(r.status).toBe(7);
    const killed = pocker(i, 'run', ['--rm', i.layer, 'sh', '-c', 'kill -9 $$']);
    expect(killed.status).toBe(137);
    const missing = pocker(i, 'run', ['--rm', i.layer, 'no-such-command']);
    expect(missing.status).toBe(125);
    expect(missing.stderr).toMatch(/no-such-command/);
  });

  it("--rm leaves nothing; limits from the seeds' flags land in the cgroup", () => {
    const i = inst();
    const r = pocker(i, 'run', [
      '--rm',
      '--name',
      'lim',
      '--cpus',
      '0.5',
      '-m',
      '64m',
      '--memory-swap',
      '96m',
      '--pids-limit',
      '50',
      i.layer,
      'sh',
      '-c',
      'cat /proc/self/cgroup >/dev/null; echo done',
    ]);
    expect(r.stdout).toBe('done\n');
    expect(r.status).toBe(0);
    expect(i.actual().containers.size).toBe(0);
    expect(existsSync(containerPaths(i.dirs, 'lim').dataDir)).toBe(false);
    expect(i.leftovers()).toEqual([]);
    const d = pocker(i, 'run', ['-d', '--name', 'lim2', '-m', '64m', '--memory-swap', '96m', i.layer, 'sleep', '3600']);
    expect(d.status, d.stderr).toBe(0);
    expect(d.stdout.trim()).toBe('lim2');
    expect(i.container('lim2').limits).toMatchObject({ memory: 64 * 2 ** 20, memsw: 96 * 2 ** 20 });
    expect(pocker(i, 'rm', ['-f', 'lim2']).status).toBe(0);
  });

  it('-d: listed as ad hoc, left alone by reconcile passes; stop keeps the writable layer for start; rm', async () => {
    const i = inst();
    const d = pocker(i, 'run', ['-d', '--name', 'adhoc', i.layer, 'sh', '-c', 'echo kept >>/data.txt; exec sleep 3600']);
    expect(d.status, d.stderr).toBe(0);
    const pid = i.pid('adhoc');
    i.writeSpec('other.yaml', i.spec('other'));
    expect((await i.reconcile()).ok).toBe(true);
    expect((await i.reconcile({ allowEmpty: true })).ok).toBe(true);
    expect(i.pid('adhoc')).toBe(pid);
    const ps = pocker(i, 'ps', []);
    expect(ps.stdout).toMatch(/adhoc\s+running.*pocker run/);

    i.writeSpec('clash.yaml', i.spec('adhoc'));
    const clash = await i.reconcile();
    expect(clash.ok).toBe(false);
    expect(clash.plan.problems.map((p) => p.message).join('\n')).toMatch(/"adhoc" was started by pocker run/);
    expect(i.pid('adhoc')).toBe(pid);
    i.removeSpec('clash.yaml');

    expect(pocker(i, 'rm', ['adhoc']).stderr).toMatch(/is running/);
    expect(pocker(i, 'stop', ['adhoc']).status).toBe(0);
    expect(i.runningPid('adhoc')).toBeNull();
    expect(pocker(i, 'ps', []).stdout).toMatch(/adhoc\s+stopped/);
    expect(pocker(i, 'start', ['adhoc']).status).toBe(0);
    const data = join(containerPaths(i.dirs, 'adhoc').upper, 'data.txt');
    await until(
      () => i.runningPid('adhoc') !== null && readFileSync(data, 'utf8') === 'kept\nkept\n',
      'adhoc running again on its writable layer',
      5000,
    );
    expect(pocker(i, 'rm', ['-f', 'adhoc']).status).toBe(0);
    expect(existsSync(containerPaths(i.dirs, 'adhoc').dataDir)).toBe(false);
    expect((await i.reconcile({ allowEmpty: true })).ok).toBe(true);
  });

  it('stop, start and rm refuse containers declared in a spec file, naming the file', async () => {
    const i = inst();
    i.writeSpec('decl.yaml', i.spec('decl'));
    expect((await i.reconcile()).ok).toBe(true);
    const pid = i.pid('decl');
    for (const verb of ['stop', 'start', 'rm']) {
      const r = pocker(i, verb, verb === 'rm' ? ['-f', 'decl'] : ['decl']);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/DECLARATIVE: container "decl" is declared in .*decl\.yaml/);
    }
    expect(i.pid('decl')).toBe(pid);
  });

  it('a name in use is refused without touching the container that has it; bad flags are usage errors', async () => {
    const i = inst();
    i.writeSpec('taken.yaml', i.spec('taken'));
    expect((await i.reconcile()).ok).toBe(true);
    const pid = i.pid('taken');
    const r = pocker(i, 'run', ['--name', 'taken', i.layer, 'true']);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/EXISTS: a container named "taken" already exists/);
    expect(i.pid('taken')).toBe(pid);
    expect(pocker(i, 'run', ['--memory-swap', '1g', i.layer, 'true']).stderr).toMatch(/--memory-swap needs --memory/);
    expect(pocker(i, 'run', ['-m', '64m', '--memory-swap', '32m', i.layer, 'true']).stderr).toMatch(/memsw .* must be at least memory/);
    expect(pocker(i, 'run', ['-d', '--rm', i.layer, 'true']).status).toBe(2);
  });
  it('runs an imported image by reference; an unknown reference is pulled, and refused before anything is made when it cannot be', () => {
    const i = inst();
    const file = join(i.root, 'busybox.tar');
    createTar({ cwd: i.layer, sync: true, file, portable: true }, ['.']);
    writeLayout(join(i.root, 'oci'), [{ tar: readFileSync(file), gzip: true }], { 'org.opencontainers.image.ref.name': 'local/busybox:1' });
    const imported = pocker(i, 'image', ['import', join(i.root, 'oci')]);
    expect(imported.status, imported.stderr).toBe(0);
    const r = pocker(i, 'run', ['--rm', 'local/busybox:1', 'sh', '-c', 'echo from-image']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('from-image\n');
    expect(r.status).toBe(0);
    const never = pocker(i, 'run', ['--rm', '--pull', 'never', 'local/nothing', 'true']);
    expect(never.status).toBe(125);
    expect(never.stderr).toMatch(/image docker\.io\/local\/nothing:latest is not in the image store and the spec says pull: never/);
    // Not in the store: pulled from its registry, which this host cannot reach.
    const missing = pocker(i, 'run', ['--rm', 'local/nothing', 'true']);
    expect(missing.status).toBe(125);
    expect(missing.stderr).toMatch(/pocker run: pull of docker\.io\/local\/nothing:latest failed: /);
    expect(i.actual().containers.size).toBe(0);
    expect(pocker(i, 'image', ['rm', 'local/busybox:1']).status).toBe(0);
  });
});
