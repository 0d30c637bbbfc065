import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { pocker } from '../helpers/cli.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeNetwork, TestNetwork } from '../helpers/network.js';
import { until } from '../helpers/wait.js';

/** Processes whose command line names dir (a plugin and whatever it started). */
function processesNaming(dir: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describeNetwork('CNI plugins that are gone or hang never block a pass', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  let net: TestNetwork;
  let bin: string;
  beforeEach(() => {
    inst = current();
    net = new TestNetwork(inst);
    bin = join(inst.root, 'cni-bin');
    mkdirSync(bin);
    for (const p of ['bridge', 'host-local', 'portmap', 'loopback']) symlinkSync(`/usr/lib/cni/${p}`, join(bin, p));
  });
  afterEach(async () => {
    const { failed, left } = await net.tearDown();
    expect(failed).toEqual([]);
    expect(left).toEqual([]);
  });
  const hang = (plugin: string): void => {
    rmSync(join(bin, plugin));
    writeFileSync(join(bin, plugin), `#!/bin/sh\n# ${bin}\nsleep 600 &\nwait\n`);
    chmodSync(join(bin, plugin), 0o755);
  };
  const config = (): string => {
    const f = join(inst.root, 'pocker.yaml');
    writeFileSync(f, 'timeouts:\n  cni: 2s\n');
    return f;
  };

  it('removes a container whose CNI plugin binary is gone, releasing its namespace, veth, address and nat rules itself', async () => {
    inst.writeSpec('web.yaml', inst.spec('web', { network: net.spec([{ host: 31555, container: 80 }]) }));
    expect((await inst.reconcile({ network: { ...net.opts, binDir: bin } })).ok).toBe(true);
    expect(net.allocations()).toHaveLength(1);
    rmSync(join(bin, 'bridge'));
    rmSync(join(bin, 'portmap'));
    inst.removeSpec('web.yaml');
    const r = await inst.reconcile({ network: { ...net.opts, binDir: bin }, allowEmpty: true });
    expect(r.results.map((x) => [x.name, x.kind, x.ok])).toEqual([['web', 'remove', true]]);
    expect(inst.actual().containers.has('web')).toBe(false);
    expect(net.leftovers()).toEqual([]);
    const again = await inst.reconcile({ network: { ...net.opts, binDir: bin }, allowEmpty: true });
    expect(again.results).toEqual([]);
  });

  it('a bridge plugin that hangs on ADD times out with a clear error, its process group killed, the old container untouched, nothing half-made', () => {
    inst.writeSpec('keep.yaml', inst.spec('keep'));
    expect(pocker(inst, 'reconcile', ['--once']).status).toBe(0);
    const keepPid = inst.pid('keep');
    hang('bridge');
    inst.writeSpec('web.yaml', inst.spec('web', { network: net.spec() }));
    const t0 = Date.now();
    const r = pocker(inst, 'reconcile', ['--once', '--config', config(), '--cni-conf-dir', net.opts.confDir, '--cni-bin-dir', bin], {
      timeoutMs: 60_000,
    });
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/CNI ADD bridge .*timed out after 2000 ms/);
    expect(processesNaming(bin)).toEqual([]);
    expect(inst.pid('keep')).toBe(keepPid);
    expect(inst.actual().containers.has('web')).toBe(false);
    expect(net.allocations()).toEqual([]);
  });

  it('a plugin that hangs on DEL does not keep a removal from finishing', async () => {
    inst.writeSpec('web.yaml', inst.spec('web', { network: net.spec() }));
    expect((await inst.reconcile({ network: { ...net.opts, binDir: bin } })).ok).toBe(true);
    hang('bridge');
    inst.removeSpec('web.yaml');
    const r = pocker(
      inst,
      'reconcile',
      ['--once', '--allow-empty', '--config', config(), '--cni-conf-dir', net.opts.confDir, '--cni-bin-dir', bin],
      { timeoutMs: 60_000 },
    );
    expect(r.status, r.stdout + r.stderr).toBe(0);
    await until(() => processesNaming(bin).length === 0, 'the hung plugin killed');
    expect(inst.actual().containers.has('web')).toBe(false);
    expect(net.leftovers()).toEqual([]);
  });
});
