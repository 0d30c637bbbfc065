// 8. Image pull: a ~140 MB Debian 12 image (3 gzip layers: the rootfs and two small app layers)
// from a local registry (Debian's docker-registry on 127.0.0.1) into an empty store. Per run, in
// this order: `pocker image pull` into a fresh instance; `podman pull` into a fresh store (the
// peer); `skopeo copy docker:// oci:` + `pocker image import`; and the floor, `tar -xzf` of the
// same three blobs from local files (decompression + extraction alone). Then the warm re-pull
// (every layer already in the store) minus node's start-up (`pocker --version`). Wall times of
// whole processes; `sync` before each timed step so one step's writeback does not land on the next.
// Caches kept between runs (see lib/registry.mjs): /var/cache/pocker-bench/debian-bookworm (the
// rootfs; built once from a Debian mirror) and /var/cache/pocker-bench/debian-oci (its OCI
// layout). Everything else (registry, stores, instances, temp dirs) is removed at the end.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { PockerInstance } from '../lib/pocker.mjs';
import { debianLayout, debianRootfs, layoutLayers, pushImage, startRegistry } from '../lib/registry.mjs';
import { median, round, timeSync } from '../lib/stats.mjs';
import { removeTreeDetached } from '../lib/proc.mjs';

/** Runs a command to completion; throws with its output when it fails. */
function check(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (r.status !== 0) throw new Error(`bench: ${cmd} ${args.join(' ')} exited ${r.status}: ${`${r.stdout}${r.stderr}`.slice(-2000)}`);
  return r;
}

/** Wall time in ms of one command, after a sync that flushes what earlier steps wrote. */
function timed(cmd, args) {
  spawnSync('sync');
  return timeSync(() => check(cmd, args));
}

/** A fresh pocker instance around fn(instance); closed (and its files removed) afterwards. */
async function withInstance(env, label, fn) {
  const p = new PockerInstance(env, label);
  try {
    return await fn(p);
  } finally {
    await p.close();
  }
}

/** A fresh temp dir in the bench's scratch dir around fn(dir); removed afterwards. */
function withTemp(env, label, fn) {
  const dir = mkdtempSync(join(env.work, `${label}-`));
  try {
    return fn(dir);
  } finally {
    removeTreeDetached(env, dir);
  }
}

const pockerBin = (env, p, args) => [env.pockerBin, [...args, ...p.args, '--log-level', 'silent']];

function coldPocker(env, ref, i) {
  return withInstance(env, `pull-cold-${i}`, (p) => timed(...pockerBin(env, p, ['image', 'pull', ref])));
}

/** podman with every piece of state in dir: store, run root, libpod tmp; no events journal, no systemd. */
function podmanArgs(dir, driver, args) {
  const rr = join(dir, 'runroot');
  return [
    '--root',
    join(dir, 'root'),
    '--runroot',
    rr,
    '--tmpdir',
    join(rr, 'libpod-tmp'),
    '--storage-driver',
    driver,
    '--events-backend',
    'none',
    '--cgroup-manager',
    'cgroupfs',
    ...args,
  ];
}

// podman's overlay driver refuses a run root of more than 50 characters: hence the short label
// (/tmp/pocker-bench-XXXXXX/pm-XXXXXX/runroot is 42).
function withPodmanStore(env, fn) {
  return withTemp(env, 'pm', fn);
}

function coldPodman(env, ref, driver) {
  return withPodmanStore(env, (dir) => timed('podman', podmanArgs(dir, driver, ['pull', '--quiet', '--tls-verify=false', ref])));
}

/** overlay, or vfs with the reason when podman's overlay driver fails on this host (one untimed pull, which also warms both ends). */
function podmanDriver(env, ref) {
  const r = withPodmanStore(env, (dir) =>
    spawnSync('podman', podmanArgs(dir, 'overlay', ['pull', '--quiet', '--tls-verify=false', ref]), { encoding: 'utf8' }),
  );
  if (r.status === 0) return { driver: 'overlay' };
  return { driver: 'vfs', why: `${r.stderr}`.trim().split('\n').pop() };
}

function coldSkopeoImport(env, ref, i) {
  return withInstance(env, `pull-import-${i}`, (p) => {
    const dir = join(p.base, 'oci');
    const copy = timed('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${dir}:12`]);
    return copy + timeSync(() => check(...pockerBin(env, p, ['image', 'import', dir, '--name', 'bench/debian:12'])));
  });
}

/** tar -xzf of each layer blob in turn into one fresh dir; returns the extraction time and the writeback (sync) after it. */
function floor(env, blobs, i) {
  return withTemp(env, `floor-${i}`, (dir) => {
    const root = join(dir, 'rootfs');
    mkdirSync(root);
    spawnSync('sync');
    const extract = blobs.reduce((ms, b) => ms + timeSync(() => check('tar', ['-xzf', b.path, '-C', root])), 0);
    return { extract, writeback: timeSync(() => spawnSync('sync')) };
  });
}

/** Re-pulls into an instance that has every layer, each next to a `pocker --version` (node start-up). */
function warm(env, p, ref, runs) {
  const pull = [];
  const version = [];
  for (let i = 0; i < runs; i++) {
    version.push(timed(env.pockerBin, ['--version']));
    pull.push(timed(...pockerBin(env, p, ['image', 'pull', ref])));
  }
  return { pull, version };
}

/** The interleaved cold runs, then the warm re-pulls into `w`, which already holds the image. */
async function measure(env, w, ref, blobs, podmanDriver, runs) {
  const rows = { pocker: [], podman: [], skopeoImport: [], floor: [], floorWriteback: [] };
  for (let i = 0; i < runs; i++) {
    rows.pocker.push(await coldPocker(env, ref, i));
    rows.podman.push(coldPodman(env, ref, podmanDriver));
    rows.skopeoImport.push(await coldSkopeoImport(env, ref, i));
    const f = floor(env, blobs, i);
    rows.floor.push(f.extract);
    rows.floorWriteback.push(f.writeback);
  }
  const { pull, version } = warm(env, w, ref, runs);
  return { ...rows, warmPull: pull, version };
}

const spread = (xs) => [round(median(xs)), round(Math.min(...xs)), round(Math.max(...xs))];

export async function pullSuite(env, { runs }) {
  const layout = debianLayout(debianRootfs(env.root));
  const blobs = layoutLayers(layout);
  const reg = await startRegistry(env.work);
  try {
    const ref = `${reg.host}/bench/debian:12`;
    pushImage(layout, ref);
    const podman = podmanDriver(env, ref);
    // The warm instance's first pull (untimed) is also pocker's warm-up, as the probe is podman's.
    const rows = await withInstance(env, 'pull-warm', (w) => {
      check(...pockerBin(env, w, ['image', 'pull', ref]));
      return measure(env, w, ref, blobs, podman.driver, runs);
    });
    return report(rows, { runs, blobs, podman });
  } finally {
    await reg.stop();
  }
}

function report(rows, { runs, blobs, podman }) {
  const ratio = round(median(rows.pocker) / median(rows.podman), 3);
  const vsPodman = (xs) => `${round(median(xs) / median(rows.podman), 3)}x`;
  const warmMs = round(median(rows.warmPull) - median(rows.version));
  const mib = round(blobs.reduce((n, b) => n + b.size, 0) / 2 ** 20);
  return {
    name: 'pull',
    chart: [
      {
        label: 'cold pull',
        bars: [
          { series: 'pocker', ms: round(median(rows.pocker)) },
          { series: 'podman', ms: round(median(rows.podman)) },
        ],
      },
    ],
    title: `Image pull of Debian 12 (3 gzip layers, ${mib} MiB compressed) from a local registry, cold, ${runs} runs: pocker vs podman`,
    header: ['what', 'median (ms)', 'min (ms)', 'max (ms)', 'vs podman'],
    table: [
      ['`pocker image pull` (fresh data dir)', ...spread(rows.pocker), `${ratio}x`],
      [`\`podman pull\` (fresh store, ${podman.driver})`, ...spread(rows.podman), '1x'],
      ['`skopeo copy docker:// oci:` + `pocker image import`', ...spread(rows.skopeoImport), vsPodman(rows.skopeoImport)],
      ['floor: `tar -xzf` of the 3 blobs from local files', ...spread(rows.floor), vsPodman(rows.floor)],
      ['(writeback of that tree: `sync` after the floor)', ...spread(rows.floorWriteback), ''],
      ['warm re-pull: `pocker image pull`, every layer in the store', ...spread(rows.warmPull), ''],
      ['`pocker --version` (node start-up)', ...spread(rows.version), ''],
    ],
    notes: [
      `Warm re-pull minus node start-up: ${warmMs} ms (medians). Runs interleave pocker, podman, skopeo + import and the floor, so drift hits all alike; \`sync\` runs (untimed) before each step.`,
      "pocker syncs the filesystem (syncfs) before moving the layers into place, so a pull is durable when it returns; podman fdatasyncs only its metadata files and tar nothing, which is why the floor's writeback is shown apart. GNU tar decompresses in a `gzip -d` child, on the other core. pocker's wall times include node's start-up (the last row), podman's Go's.",
      ...(podman.why ? [`podman's overlay driver failed on this host (${podman.why}): podman ran with vfs.`] : []),
    ],
    targets: [
      { what: 'cold pull, pocker/podman', value: ratio, target: 0.6, unit: 'x', ok: ratio <= 0.6 },
      { what: 'warm re-pull minus node start-up', value: warmMs, target: 50, unit: 'ms', ok: warmMs <= 50 },
    ],
    rows,
  };
}
