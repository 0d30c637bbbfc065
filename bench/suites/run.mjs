// 7. Ad-hoc run of one short command: `pocker run --rm LAYER true` (attached: it returns once the
// command has exited and the container is removed) vs overlay mount + `runc run` (attached; runc
// deletes the container when the command exits) + unmount, same layer and limits.
import { spawnSync } from 'node:child_process';
import { LIMITS } from '../lib/env.mjs';
import { BENCH_USERNS, PockerInstance } from '../lib/pocker.mjs';
import { RuncFleet } from '../lib/runc.mjs';
import { PodmanPeer, podmanMissing } from '../lib/podman.mjs';
import { median, p99, round, timeSync } from '../lib/stats.mjs';

export async function runSuite(env, { tries }) {
  const p = new PockerInstance(env, 'run');
  const limits = ['--cpus', String(LIMITS.cpus), '-m', String(LIMITS.memory), '--pids-limit', String(LIMITS.pids)];
  const pocker = [];
  try {
    for (let i = 0; i < tries; i++) {
      let r;
      pocker.push(
        timeSync(
          () =>
            (r = spawnSync(
              env.pockerBin,
              ['run', ...p.args, '--rm', ...limits, ...(BENCH_USERNS ? ['--userns', BENCH_USERNS] : []), env.layer, 'true'],
              { encoding: 'utf8' },
            )),
        ),
      );
      if (r.status !== 0) throw new Error(`pocker run exited ${r.status}: ${r.stderr}`);
    }
  } finally {
    await p.close();
  }
  const r = new RuncFleet(env, 'run');
  const runc = [];
  try {
    r.prepare(['once'], ['true']);
    for (let i = 0; i < tries; i++) runc.push(timeSync(() => r.runAttached('once')));
  } finally {
    r.close();
  }
  const noPodman = podmanMissing();
  const podman = [];
  if (!noPodman) {
    const pm = new PodmanPeer(env, 'run');
    try {
      pm.runOnce();
      for (let i = 0; i < tries; i++) podman.push(timeSync(() => pm.runOnce()));
    } finally {
      pm.close();
    }
  }
  const ratio = round(median(pocker) / median(runc), 3);
  const ratioPodman = podman.length ? round(median(pocker) / median(podman), 3) : null;
  return {
    name: 'run',
    chart: [
      {
        label: 'run --rm true',
        bars: [
          { series: 'pocker', ms: round(median(pocker)) },
          { series: 'runc', ms: round(median(runc)) },
          { series: 'podman', ms: podman.length ? round(median(podman)) : null },
        ],
      },
    ],
    title: `Ad-hoc run of \`true\` (${tries} tries): \`pocker run --rm\` vs overlay mount + \`runc run\` + unmount, and \`podman run --rm --rootfs LAYER:O\``,
    header: [
      'tries',
      'pocker median (ms)',
      'pocker p99 (ms)',
      'runc median (ms)',
      'runc p99 (ms)',
      'podman median (ms)',
      'vs runc',
      'vs podman',
    ],
    table: [
      [
        tries,
        round(median(pocker)),
        round(p99(pocker)),
        round(median(runc)),
        round(p99(runc)),
        podman.length ? round(median(podman)) : '-',
        `${ratio}x`,
        ratioPodman === null ? '-' : `${ratioPodman}x`,
      ],
    ],
    notes: [
      'One ad-hoc container is one node process start-up plus one container; runc is the floor, podman the peer users choose between for scripts.',
      ...(noPodman
        ? [`podman: ${noPodman}`]
        : ['podman runs with --ulimit nofile=1024:1024 --ulimit nproc=1024:1024: root here lacks CAP_SYS_RESOURCE.']),
    ],
    targets:
      ratioPodman === null
        ? []
        : [{ what: 'pocker run --rm / podman run --rm', value: ratioPodman, target: 0.75, unit: 'x', ok: ratioPodman <= 0.75 }],
    rows: { pocker, runc, podman },
  };
}
