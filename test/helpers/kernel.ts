import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { detectDriver } from '../../reconciler/cgroups/detect.js';
import { NodeHost } from '../../reconciler/host/nodeHost.js';
import { monitorBinary, packageRoot } from '../../reconciler/native.js';

/** What a real-kernel test needs that this machine lacks (empty when everything is there). */
export function kernelRequirements(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('needs root');
  if (!existsSync(monitorBinary())) missing.push(`monitor not built (${monitorBinary()}; run npm run build:native)`);
  if (!existsSync(join(packageRoot(), 'native', 'build', 'Release', 'pocker.node')))
    missing.push('native addon not built (npm run build:native)');
  if (!readFileSync('/proc/filesystems', 'utf8').includes('overlay')) missing.push('overlayfs not available');
  try {
    detectDriver(new NodeHost(), 'pocker-probe');
  } catch (e) {
    missing.push(`cgroups: ${(e as Error).message}`);
  }
  if (!process.env.POCKER_TEST_LAYER) missing.push(process.env.POCKER_TEST_LAYER_ERROR ?? 'busybox layer missing');
  return missing;
}

/**
 * describe() for tests on the real kernel. When requirements are missing they are skipped with
 * the reason in the name — except on CI (CI=true), where they fail instead: there a real-kernel
 * test must never be skipped.
 */
export function describeKernel(name: string, fn: () => void): void {
  const missing = kernelRequirements();
  if (!missing.length) {
    describe(name, fn);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('has what real-kernel tests need', () => {
        throw new Error(`real-kernel tests cannot run on CI: ${missing.join('; ')}`);
      });
    });
  } else {
    describe.skip(`${name} [skipped: ${missing.join('; ')}]`, fn);
  }
}
