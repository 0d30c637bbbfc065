import { describe, expect, it } from 'vitest';
import { formatExactBytes, formatExactDuration, formatKubeCpu, kubeBytes, kubeCpus } from '../../../reconciler/spec/kube/quantity.js';

describe('Kubernetes quantities', () => {
  it('reads bytes and CPUs as Kubernetes does (rounded up)', () => {
    expect(kubeBytes('64Mi')).toEqual({ bytes: 64 * 2 ** 20 });
    expect(kubeBytes('1G')).toEqual({ bytes: 1e9 });
    expect(kubeBytes('1k')).toEqual({ bytes: 1000 });
    expect(kubeBytes('1.5Ki')).toEqual({ bytes: 1536 });
    expect(kubeBytes('1e6')).toEqual({ bytes: 1e6 });
    expect(kubeBytes(128974848)).toEqual({ bytes: 128974848 });
    expect(kubeBytes('100m')).toEqual({ bytes: 1 });
    expect(kubeCpus('500m')).toEqual({ cpus: 0.5 });
    expect(kubeCpus('0.1')).toEqual({ cpus: 0.1 });
    expect(kubeCpus(2)).toEqual({ cpus: 2 });
    expect(kubeCpus('1.2345')).toEqual({ cpus: 1.235 });
    expect(kubeBytes('64MB')).toEqual({ error: '"64MB" is not a Kubernetes quantity (examples: 500m, 0.5, 64Mi, 1G)' });
    expect(kubeBytes('-1')).toEqual({ error: '"-1" is negative' });
  });

  it('writes what both Kubernetes and pocker read back exactly', () => {
    expect(formatExactBytes(64 * 2 ** 20)).toBe('64Mi');
    expect(formatExactBytes(67108865)).toBe('67108865');
    expect(formatKubeCpu(0.5)).toBe('500m');
    expect(formatKubeCpu(2)).toBe('2');
    expect(formatKubeCpu(1.234)).toBe('1234m');
    expect(formatExactDuration(2500)).toBe('2500ms');
    expect(formatExactDuration(60_000)).toBe('60s');
    for (const b of [4 * 2 ** 20, 67108865, 2 ** 40, 1e9]) expect(kubeBytes(formatExactBytes(b))).toEqual({ bytes: b });
    for (const c of [0.01, 0.5, 1, 1.234, 4096]) expect(kubeCpus(formatKubeCpu(c))).toEqual({ cpus: c });
  });
});
