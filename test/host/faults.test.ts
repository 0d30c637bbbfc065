import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../../reconciler/native.js';
import { AUTO_UPDATE_STEPS, FAULT_OPERATIONS, FAULT_STEPS, faultPoint, setFaults } from '../../reconciler/host/faults.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('fault points', () => {
  it('lists every point the code calls, each called exactly once per step', () => {
    const calls = sources(join(packageRoot(), 'reconciler')).flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/faultPoint\('([^']+)'/g)].map((m) => m[1]!),
    );
    const steps = calls.filter((c) => c.includes(':'));
    // A container's create/update/remove steps (the fault harness walks them) and an auto-update's, apart.
    expect(steps.filter((c) => !c.startsWith('auto-update:')).sort()).toEqual([...FAULT_STEPS].sort());
    expect(steps.filter((c) => c.startsWith('auto-update:')).sort()).toEqual([...AUTO_UPDATE_STEPS].sort());
    expect([...new Set(calls.filter((c) => !c.includes(':')))].sort()).toEqual([...FAULT_OPERATIONS].sort());
  });

  it('keeps the auto-update steps out of the create/update/remove steps', () => {
    expect(AUTO_UPDATE_STEPS.filter((s) => (FAULT_STEPS as readonly string[]).includes(s))).toEqual([]);
    expect(AUTO_UPDATE_STEPS.every((s) => s.startsWith('auto-update:'))).toBe(true);
  });
});

describe('auto-update fault rules', () => {
  afterEach(() => setFaults(null));

  const thrown = (f: () => void): (Error & { code?: string }) | null => {
    try {
      f();
      return null;
    } catch (e) {
      return e as Error & { code?: string };
    }
  };

  it('fails auto-update:moved of the named container only, with the errno given', () => {
    setFaults('auto-update:moved:web=EIO');
    expect(thrown(() => faultPoint('auto-update:moved', 'api'))).toBeNull();
    expect(thrown(() => faultPoint('auto-update:moved'))).toBeNull();
    for (const other of AUTO_UPDATE_STEPS.filter((s) => s !== 'auto-update:moved'))
      expect(thrown(() => faultPoint(other, 'web'))).toBeNull();
    expect(thrown(() => faultPoint('update:cgroup', 'web'))).toBeNull();
    const e = thrown(() => faultPoint('auto-update:moved', 'web'));
    expect(e).toBeInstanceOf(Error);
    expect(e!.code).toBe('EIO');
    expect(e!.message).toBe('injected fault EIO at auto-update:moved of web');
    // With no count it fires every time.
    expect(thrown(() => faultPoint('auto-update:moved', 'web'))?.code).toBe('EIO');
  });

  it('fires a counted rule that many times, and a rule without a container for any', () => {
    setFaults('auto-update:rolling-back:web=ENOSPC*2, auto-update:updating=EROFS');
    expect(thrown(() => faultPoint('auto-update:rolling-back', 'web'))?.code).toBe('ENOSPC');
    expect(thrown(() => faultPoint('auto-update:rolling-back', 'web'))?.code).toBe('ENOSPC');
    expect(thrown(() => faultPoint('auto-update:rolling-back', 'web'))).toBeNull();
    expect(thrown(() => faultPoint('auto-update:updating', 'api'))?.code).toBe('EROFS');
    expect(thrown(() => faultPoint('auto-update:updating'))?.message).toBe('injected fault EROFS at auto-update:updating');
  });

  it('does nothing once the rules are cleared', () => {
    setFaults('auto-update:moved:web=EIO');
    setFaults('');
    expect(thrown(() => faultPoint('auto-update:moved', 'web'))).toBeNull();
  });
});
