import { describe, expect, it } from 'vitest';
import { unthrottled, type IoDeviceLimits } from '../../reconciler/limits/io.js';
import { resolveBlockDevice } from '../../reconciler/runtime/blockDevices.js';
import { detectDriver } from '../../reconciler/cgroups/detect.js';
import { ioMaxLine, ioMaxWrites, parseIoMax, parseV1Throttles, v1ThrottleWrites } from '../../reconciler/cgroups/io.js';
import { FakeHost } from '../helpers/fakeHost.js';

const dev = (d: string, l: Partial<IoDeviceLimits>): IoDeviceLimits => ({ ...unthrottled(d), ...l });

describe('cgroup v2 io.max', () => {
  it('parses the kernel format, one device per line, into canonical form', () => {
    expect(parseIoMax('8:16 rbps=1048576 wbps=max riops=max wiops=max\n')).toEqual([dev('8:16', { rbps: 1048576 })]);
    // The kernel lists the newest device first; canonical is by device number.
    expect(
      parseIoMax(
        '259:0 rbps=max wbps=max riops=max wiops=50\n7:1 rbps=2 wbps=9007199254740992 riops=4294967294 wiops=max\n8:0 rbps=max wbps=4194304 riops=max wiops=max\n',
      ),
    ).toEqual([dev('7:1', { rbps: 2, wbps: 2 ** 53, riops: 4294967294 }), dev('8:0', { wbps: 4194304 }), dev('259:0', { wiops: 50 })]);
    expect(parseIoMax('')).toEqual([]);
    expect(parseIoMax('7:0 rbps=max wbps=max riops=max wiops=max\n')).toEqual([]);
  });

  it('reads all-ones as unlimited and ignores keys it does not know', () => {
    expect(parseIoMax('7:0 rbps=18446744073709551615 wbps=100 riops=4294967295 wiops=max later=3\n')).toEqual([dev('7:0', { wbps: 100 })]);
  });

  it('writes one full line per changed device, max for what it lifts', () => {
    expect(ioMaxLine(dev('8:16', { rbps: 1048576, wiops: 50 }))).toBe('8:16 rbps=1048576 wbps=max riops=max wiops=50');
    const have = [dev('7:0', { wbps: 4194304 }), dev('8:0', { riops: 100 })];
    const want = [dev('7:0', { wbps: 8388608 }), dev('8:16', { rbps: 1024 })];
    expect(ioMaxWrites(want, have)).toEqual([
      '7:0 rbps=max wbps=8388608 riops=max wiops=max',
      '8:0 rbps=max wbps=max riops=max wiops=max',
      '8:16 rbps=1024 wbps=max riops=max wiops=max',
    ]);
    expect(ioMaxWrites(have, have)).toEqual([]);
  });
});

describe('cgroup v1 blkio.throttle files', () => {
  it('joins the four files per device', () => {
    const files = { rbps: '8:16 1048576\n7:0 10\n', wbps: '7:0 4194304\n', riops: '', wiops: '8:16 50\n' };
    expect(parseV1Throttles(files)).toEqual([dev('7:0', { rbps: 10, wbps: 4194304 }), dev('8:16', { rbps: 1048576, wiops: 50 })]);
    expect(parseV1Throttles({ rbps: null, wbps: null, riops: null, wiops: null })).toEqual([]);
  });

  it('writes only the throttles that change; 0 lifts one', () => {
    const have = [dev('7:0', { rbps: 10, wbps: 4194304 })];
    const want = [dev('7:0', { wbps: 4194304, riops: 100 }), dev('8:0', { wiops: 7 })];
    expect(v1ThrottleWrites(want, have)).toEqual([
      { file: 'blkio.throttle.read_bps_device', value: '7:0 0' },
      { file: 'blkio.throttle.read_iops_device', value: '7:0 100' },
      { file: 'blkio.throttle.write_iops_device', value: '8:0 7' },
    ]);
    expect(v1ThrottleWrites([], have)).toEqual([
      { file: 'blkio.throttle.read_bps_device', value: '7:0 0' },
      { file: 'blkio.throttle.write_bps_device', value: '7:0 0' },
    ]);
  });
});

describe('block device resolution', () => {
  it('resolves a block device to MAJ:MIN and says why anything else cannot be throttled', () => {
    const fake = new FakeHost('v2');
    fake.devices.set('/dev/vdb', { kind: 'block', major: 254, minor: 16 });
    fake.devices.set('/dev/vdb1', { kind: 'block', major: 254, minor: 17 });
    fake.devices.set('/dev/null', { kind: 'char', major: 1, minor: 3 });
    fake.mkdir('/sys/dev/block/254:17');
    fake.writeFileAtomic('/sys/dev/block/254:17/partition', '1\n');
    expect(resolveBlockDevice(fake, '/dev/vdb')).toEqual({ dev: '254:16' });
    expect(resolveBlockDevice(fake, '/dev/vdx')).toEqual({ error: 'no such file (ENOENT)' });
    expect(resolveBlockDevice(fake, '/dev/null')).toEqual({ error: 'a character device (1:3), not a block device' });
    expect(resolveBlockDevice(fake, '/sys/dev/block/254:17/partition')).toEqual({ error: 'not a block device' });
    expect(resolveBlockDevice(fake, '/dev/vdb1')).toEqual({ error: 'a partition (254:17); throttles apply to whole disks only' });
  });
});

describe.each(['v1', 'v2'] as const)('the %s driver against a fake kernel', (version) => {
  it('enables io, writes throttles at create, changes and lifts them in place, reads them back', () => {
    const fake = new FakeHost(version);
    fake.devices.set('/dev/a', { kind: 'block', major: 7, minor: 0 });
    fake.devices.set('/dev/b', { kind: 'block', major: 8, minor: 16 });
    const driver = detectDriver(fake, 'pocker');
    expect(driver.facts(fake).ioSupported).toBe(true);
    driver.ensureParent(fake);
    if (version === 'v2') expect(fake.readFile('/sys/fs/cgroup/pocker/cgroup.subtree_control')).toContain('io');
    const base = driver.read('x', fake);
    expect(base).toBeNull();
    const none = {
      cpuQuotaUs: 'max',
      cpuPeriodUs: 100_000,
      cpusetCpus: version === 'v2' ? '' : '0-3',
      memory: 'max',
      memsw: 'max',
      pids: 'max',
      cpuWeight: version === 'v2' ? 100 : 1024,
      frozen: false,
    } as const;
    const first = { ...none, io: [dev('7:0', { wbps: 4194304, riops: 100 })] };
    driver.create('x', first, fake);
    expect(driver.read('x', fake)).toEqual(first);
    const second = { ...none, io: [dev('7:0', { wbps: 8388608 }), dev('8:16', { rbps: 1024 })] };
    driver.update('x', second, first, fake);
    expect(driver.read('x', fake)).toEqual(second);
    driver.update('x', { ...none, io: [] }, second, fake);
    expect(driver.read('x', fake)).toEqual({ ...none, io: [] });
  });

  it('fails with the cgroup file and ENODEV when a device is gone', () => {
    const fake = new FakeHost(version);
    const driver = detectDriver(fake, 'pocker');
    driver.ensureParent(fake);
    const none = { ...driver.read('_monitors', fake)!, io: [] };
    expect(() => driver.create('x', { ...none, io: [dev('9:9', { rbps: 100 })] }, fake)).toThrow(
      /write .*9:9 .*(io\.max|read_bps_device).*ENODEV/,
    );
  });
});
