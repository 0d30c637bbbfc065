import { describe, expect, it } from 'vitest';
import { splitAtImage } from '../../reconciler/cli/run.js';
import { dockerQuantity, parsePublish, parseVolume, runSpec } from '../../reconciler/cli/runSpec.js';
import { desiredFromObject } from '../../reconciler/spec/object.js';
import { adhocSource } from '../../reconciler/state/adhoc.js';

const image = { layers: ['/layers/busybox'] };

describe('pocker run flags', () => {
  it("reads the command's own options as the command's", () => {
    const opts = {
      name: { type: 'string' as const },
      memory: { type: 'string' as const, short: 'm' },
      interactive: { type: 'boolean' as const, short: 'i' },
      tty: { type: 'boolean' as const, short: 't' },
    };
    expect(splitAtImage(['-it', '-m', '50m', '--name', 'x', 'img', 'sh', '-c', 'echo -m'], opts)).toEqual({
      head: ['-it', '-m', '50m', '--name', 'x'],
      tail: ['img', 'sh', '-c', 'echo -m'],
    });
    expect(splitAtImage(['--name=x', '-m50m', '--', '-img', 'ls'], opts)).toEqual({ head: ['--name=x', '-m50m'], tail: ['-img', 'ls'] });
    expect(splitAtImage(['-im', '1g', 'img', 'true'], opts)).toEqual({ head: ['-im', '1g'], tail: ['img', 'true'] });
  });

  it("sizes as Docker writes them are binary; pocker's own forms pass through", () => {
    expect(dockerQuantity('-m', '50m')).toBe('50Mi');
    expect(dockerQuantity('-m', '1G')).toBe('1Gi');
    expect(dockerQuantity('-m', '512k')).toBe('512Ki');
    expect(dockerQuantity('-m', '1048576')).toBe('1048576');
    expect(dockerQuantity('-m', '64Mi')).toBe('64Mi');
    expect(dockerQuantity('--device-write-bps', '10mb')).toBe('10Mi');
    expect(() => dockerQuantity('-m', 'lots')).toThrow(/not a size/);
  });

  it('--memory-swap is memory + swap as in Docker: -1 unlimited, 0 or unset no swap, needs --memory', () => {
    const memsw = (flags: Record<string, string>) => {
      const d = desiredFromObject(runSpec('x', image, ['true'], flags), 'x', adhocSource('x'));
      if ('errors' in d) throw new Error(JSON.stringify(d.errors));
      return [d.desired.spec.resources.memory, d.desired.spec.resources.memsw];
    };
    expect(memsw({ memory: '50m', 'memory-swap': '1024m' })).toEqual([50 * 2 ** 20, 1024 * 2 ** 20]);
    expect(memsw({ memory: '50m', 'memory-swap': '-1' })).toEqual([50 * 2 ** 20, 'unlimited']);
    expect(memsw({ memory: '50m' })).toEqual([50 * 2 ** 20, undefined]);
    expect(memsw({ memory: '50m', 'memory-swap': '0' })).toEqual([50 * 2 ** 20, undefined]);
    expect(() => runSpec('x', image, ['true'], { 'memory-swap': '1g' })).toThrow(/needs --memory/);
  });

  it("builds the spec the seeds' flags describe, checked like a spec file", () => {
    const raw = runSpec('web', image, ['sh'], {
      cpus: '0.5',
      'cpuset-cpus': '0',
      'pids-limit': '64',
      'cpu-shares': '512',
      env: ['A=1'],
      volume: ['/srv:/data:ro'],
      network: 'bridge',
      publish: ['8080:80'],
      tty: true,
      hostname: 'h',
    });
    const d = desiredFromObject(raw, 'web', adhocSource('web'));
    if ('errors' in d) throw new Error(JSON.stringify(d.errors));
    const s = d.desired.spec;
    expect(s.resources).toMatchObject({ cpus: 0.5, cpuset: '0', pids: 64, cpuShares: 512 });
    expect(s.env).toEqual({ A: '1' });
    expect(s.mounts).toEqual([{ source: '/srv', target: '/data', readOnly: true, idmap: true }]);
    expect(s.network).toMatchObject({ mode: 'bridge', ports: [{ host: 8080, container: 80, protocol: 'tcp' }] });
    expect(s.tty).toBe(true);
    expect(s.restart).toBe('never');
    expect(s.hostname).toBe('h');
    const bad = desiredFromObject(runSpec('x', image, ['true'], { cpus: '-1' }), 'x', adhocSource('x'));
    expect('errors' in bad && bad.errors.length).toBeTruthy();
  });

  it('--device-*-bps/iops become one resources.io entry per device', () => {
    const raw = runSpec('x', image, ['true'], {
      'device-write-bps': ['/dev/loop0:4mb'],
      'device-read-iops': ['/dev/loop0:100', '/dev/vdb:50'],
    });
    const d = desiredFromObject(raw, 'x', adhocSource('x'));
    if ('errors' in d) throw new Error(JSON.stringify(d.errors));
    expect(d.desired.spec.resources.io).toEqual([
      { device: '/dev/loop0', writeBps: 4 * 2 ** 20, readIops: 100 },
      { device: '/dev/vdb', readIops: 50 },
    ]);
    expect(() => runSpec('x', image, ['true'], { 'device-write-bps': ['4mb'] })).toThrow(/DEVICE:RATE/);
  });

  it('-p and -v are checked', () => {
    expect(parsePublish('127.0.0.1:8080:80/udp')).toEqual({ host: 8080, container: 80, protocol: 'udp', hostIP: '127.0.0.1' });
    expect(() => parsePublish('80')).toThrow(/expected/);
    expect(parseVolume('/a:/b')).toEqual({ source: '/a', target: '/b' });
    expect(() => parseVolume('/a:/b:rx')).toThrow(/expected/);
    expect(() => runSpec('x', image, ['true'], { publish: ['80:80'] })).toThrow(/-p needs --network bridge/);
  });
});
