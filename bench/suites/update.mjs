// 5. In-place update: memory and cpus of a running container changed in its spec file (renamed
// in) -> both cgroup values applied, with a running `pocker reconcile`; vs `runc update` of the
// same change (the command returns once runc has written the values).
import { join } from 'node:path';
import { cgroupValue, LIMITS } from '../lib/env.mjs';
import { PockerInstance } from '../lib/pocker.mjs';
import { RuncFleet } from '../lib/runc.mjs';
import { median, p99, round, timeSync } from '../lib/stats.mjs';

/** Reads the memory limit and cpu quota (µs per 100 ms) of a cgroup, v1 or v2. */
function readLimits(rel) {
  const v2 = cgroupValue(join('/sys/fs/cgroup', rel, 'memory.max'));
  if (v2 !== null) return { memory: v2, quota: (cgroupValue(join('/sys/fs/cgroup', rel, 'cpu.max')) ?? '').split(' ')[0] };
  return {
    memory: cgroupValue(join('/sys/fs/cgroup/memory', rel, 'memory.limit_in_bytes')),
    quota: cgroupValue(join('/sys/fs/cgroup/cpu', rel, 'cpu.cfs_quota_us')),
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const STEPS = [
  { memory: LIMITS.memory * 1.5, cpus: 0.75 },
  { memory: LIMITS.memory, cpus: LIMITS.cpus },
];

export async function updateSuite(env, { tries }) {
  const p = new PockerInstance(env, 'update');
  const pocker = [];
  try {
    await p.startDaemon();
    p.renameSpecIn('u');
    await p.until(() => p.pids('u'), 'u running');
    const pid = p.pids('u').initPid;
    const rel = join(p.cgroupParent, 'u');
    for (let i = 0; i < tries; i++) {
      const want = STEPS[i % 2];
      const t0 = p.renameSpecIn('u', { memory: want.memory, cpus: want.cpus });
      const wantQuota = String(Math.round(want.cpus * 100000));
      for (;;) {
        const have = readLimits(rel);
        if (have.memory === String(want.memory) && have.quota === wantQuota) break;
        await sleep(1);
      }
      pocker.push(Number(process.hrtime.bigint() - t0) / 1e6);
      await sleep(100);
    }
    if (p.pids('u').initPid !== pid) throw new Error('the update restarted the container');
  } finally {
    await p.close();
  }
  const r = new RuncFleet(env, 'update');
  const runc = [];
  try {
    r.prepare(['u']);
    r.start('u');
    for (let i = 0; i < tries; i++) runc.push(timeSync(() => r.update('u', STEPS[i % 2])));
  } finally {
    r.close();
  }
  const p50 = round(median(pocker));
  return {
    name: 'update',
    chart: [
      {
        label: 'update p50',
        bars: [
          { series: 'pocker', ms: p50 },
          { series: 'runc', ms: round(median(runc)) },
        ],
      },
    ],
    title: `In-place update of memory + cpus (${tries} changes): spec file renamed in -> cgroup values applied, vs \`runc update\``,
    header: ['changes', 'pocker p50 (ms)', 'pocker p99 (ms)', 'runc update p50 (ms)', 'runc p99 (ms)', 'ratio (p50)'],
    table: [[tries, p50, round(p99(pocker)), round(median(runc)), round(p99(runc)), `${round(median(pocker) / median(runc), 3)}x`]],
    targets: [{ what: 'in-place update p50', value: p50, target: 10, unit: 'ms', ok: p50 <= 10 }],
    rows: { pocker, runc },
  };
}
