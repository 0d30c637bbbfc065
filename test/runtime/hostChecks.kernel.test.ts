import { beforeEach, expect, it } from 'vitest';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';

describeKernel('a new version that cannot start never takes the running one down', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  beforeEach(async () => {
    inst = current();
    inst.writeSpec('web.yaml', inst.spec('web'));
    expect((await inst.reconcile()).ok).toBe(true);
  });

  const refused: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a user the image does not have', { user: 'nosuchuser' }, /user nosuchuser not found in the image's \/etc\/passwd/],
    ['a group the image does not have', { user: 'nobody:nosuchgroup' }, /group nosuchgroup not found in the image's \/etc\/group/],
    [
      'more environment variables than the monitor takes',
      { env: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`V${i}`, 'x'])) },
      /env has 303 entries .*at most 256/,
    ],
    [
      'an argument longer than the kernel takes',
      { command: ['echo', 'x'.repeat(131_072)] },
      /command\[1\] is 131072 bytes long: the kernel takes at most 131071/,
    ],
  ];
  for (const [what, change, message] of refused) {
    it(`refuses ${what} before stopping the old container`, async () => {
      const pid = inst.pid('web');
      inst.writeSpec('web.yaml', inst.spec('web', change));
      const r = await inst.reconcile();
      expect(r.ok).toBe(false);
      expect(r.results.map((x) => [x.kind, x.errorCode])).toEqual([['recreate', 'HOST_CHECK']]);
      expect(r.results[0]!.error).toMatch(message);
      expect(inst.pid('web')).toBe(pid);
    });
  }

  it('accepts a numeric uid the image has no entry for, and a user it has', async () => {
    inst.writeSpec('web.yaml', inst.spec('web', { user: '12345' }));
    expect((await inst.reconcile()).ok).toBe(true);
    inst.writeSpec('web.yaml', inst.spec('web', { user: 'www-data:nogroup' }));
    expect((await inst.reconcile()).ok).toBe(true);
  });
});
