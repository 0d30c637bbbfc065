import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../reconciler/native.js';
import { FAULT_OPERATIONS, FAULT_STEPS } from '../../reconciler/host/faults.js';

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
    expect([...steps].sort()).toEqual([...FAULT_STEPS].sort());
    expect([...new Set(calls.filter((c) => !c.includes(':')))].sort()).toEqual([...FAULT_OPERATIONS].sort());
  });
});
