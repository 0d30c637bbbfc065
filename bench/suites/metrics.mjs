// 10. What reading the metrics costs, at N running containers: the watching controller's CPU time
// per scrape of /metrics (from /proc/PID/stat over K scrapes) and the wall time of a scrape; the
// heap after GC before and after 1000 scrapes of the same code over the same containers (in a
// process run with --expose-gc); the controller's RSS per container with metrics on, right after
// the burst of N creates, settled, and settled after the scrapes, from its RSS with none, and the
// same burst with metrics off (in an instance of its own, first). Peer: `runc events --stats`,
// runc's one-shot reading of a container's cgroup stats, over runc containers with the same
// limits (per container).
import { spawnSync } from 'node:child_process';
import { get } from 'node:http';
import { join } from 'node:path';
import { PockerInstance } from '../lib/pocker.mjs';
import { RuncFleet } from '../lib/runc.mjs';
import { cpuMs, rssKiB, settledRss } from '../lib/proc.mjs';
import { freePort } from '../lib/registry.mjs';
import { median, p99, round, timeSync } from '../lib/stats.mjs';

/** The body of a GET. */
function fetchText(url) {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`GET ${url}: HTTP ${res.statusCode}`))));
    }).on('error', reject);
  });
}

/**
 * The controller's RSS before a burst of n creates (settled), right after (when every container
 * runs) and settled again; p's daemon is running and has no containers.
 */
async function burstRss(p, n, settleMs, prefix) {
  const rss = {};
  rss.idle = await settledRss(p.daemon.pid, settleMs);
  for (let i = 0; i < n; i++) p.writeSpec(`${prefix}${i}`);
  await p.until(() => Array.from({ length: n }, (_, i) => p.pids(`${prefix}${i}`)).every(Boolean), `${n} containers running`, 900_000, 200);
  rss.afterBurst = rssKiB(p.daemon.pid);
  rss.settled = await settledRss(p.daemon.pid, settleMs);
  return rss;
}

/** burstRss of a controller with metrics off, in an instance of its own. */
async function burstRssMetricsOff(env, n, settleMs) {
  const p = new PockerInstance(env, 'burst');
  try {
    await p.startDaemon();
    await new Promise((r) => setTimeout(r, 2000));
    return await burstRss(p, n, settleMs, 'b');
  } finally {
    await p.close();
  }
}

export async function metricsSuite(env, { n, scrapes, heapScrapes, peerSample, settleMs }) {
  const rssOff = await burstRssMetricsOff(env, n, settleMs);
  const p = new PockerInstance(env, 'metrics');
  const port = await freePort();
  const wall = [];
  let cpuPerScrape;
  let heap;
  let lines;
  let rss;
  try {
    await p.startDaemon(['--metrics-addr', `127.0.0.1:${port}`]);
    const url = `http://127.0.0.1:${port}/metrics`;
    await new Promise((r) => setTimeout(r, 2000));
    await fetchText(url);
    // The scrapes' CPU is measured on a controller done with the burst (as one that has run a while).
    rss = await burstRss(p, n, settleMs, 'm');
    let text = '';
    for (let i = 0; i < 5; i++) text = await fetchText(url);
    lines = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
    if (!text.includes(`container_memory_usage_bytes{name="m${n - 1}"`)) throw new Error(`metrics at ${n}: the last container is missing`);
    const c0 = cpuMs(p.daemon.pid);
    for (let i = 0; i < scrapes; i++) {
      const t0 = performance.now();
      await fetchText(url);
      wall.push(performance.now() - t0);
    }
    cpuPerScrape = (cpuMs(p.daemon.pid) - c0) / scrapes;
    rss.afterScrapes = await settledRss(p.daemon.pid, settleMs);
    const dirs = { stateDir: p.stateDir, dataDir: join(p.base, 'data'), cgroupParent: p.cgroupParent };
    const r = spawnSync(
      process.execPath,
      ['--expose-gc', join(env.root, 'bench', 'lib', 'scrapeHeap.mjs'), JSON.stringify(dirs), p.specDir, String(heapScrapes)],
      {
        encoding: 'utf8',
        timeout: 900_000,
      },
    );
    if (r.status !== 0) throw new Error(`scrapeHeap: ${r.stderr.slice(-1000)}`);
    heap = JSON.parse(r.stdout);
  } finally {
    await p.close();
  }
  const fleet = new RuncFleet(env, 'metrics');
  const peer = [];
  try {
    const ids = Array.from({ length: peerSample }, (_, i) => `e${i}`);
    fleet.prepare(ids);
    ids.forEach((id) => fleet.start(id));
    for (const id of ids) peer.push(timeSync(() => fleet.run(['events', '--stats', id])));
  } finally {
    fleet.close();
  }
  const perContainerPocker = median(wall) / n;
  const perContainerRunc = median(peer);
  const growthMiB = round(heap.heapGrowth / 2 ** 20, 3);
  const perContainerRss = (kib, base = rss) => round((kib - base.idle) / n, 1);
  const settledLabel = settleMs ? 'settled' : 'not settled (--quick)';
  return {
    name: 'metrics',
    title: `Metrics at ${n} running containers: controller CPU and wall time per scrape (${scrapes} scrapes), heap after GC over ${heapScrapes} scrapes; peer: \`runc events --stats\` per container (${peerSample} containers)`,
    header: [
      'containers',
      'series',
      'controller CPU per scrape (ms)',
      'scrape wall p50 (ms)',
      'p99 (ms)',
      `heap growth over ${heapScrapes} scrapes (MiB)`,
      'per container: pocker (ms)',
      'runc events --stats (ms)',
      'ratio',
      'controller RSS per container: right after the creates, settled, settled after the scrapes (KiB)',
      'the same with metrics off: right after the creates, settled (KiB)',
    ],
    table: [
      [
        n,
        lines,
        round(cpuPerScrape),
        round(median(wall)),
        round(p99(wall)),
        growthMiB,
        round(perContainerPocker, 3),
        round(perContainerRunc),
        `${round(perContainerPocker / perContainerRunc, 4)}x`,
        `${perContainerRss(rss.afterBurst)}, ${perContainerRss(rss.settled)}, ${perContainerRss(rss.afterScrapes)}`,
        `${perContainerRss(rssOff.afterBurst, rssOff)}, ${perContainerRss(rssOff.settled, rssOff)}`,
      ],
    ],
    targets: [
      ...(n >= 1000
        ? [{ what: `controller CPU per scrape at ${n}`, value: round(cpuPerScrape), target: 100, unit: 'ms', ok: cpuPerScrape <= 100 }]
        : []),
      { what: `heap growth over ${heapScrapes} scrapes`, value: growthMiB, target: 1, unit: 'MiB', ok: growthMiB <= 1 },
      ...[
        ['on', rss],
        ['off', rssOff],
      ].flatMap(([metrics, base]) =>
        ['afterBurst', 'settled'].map((k) => ({
          what: `controller RSS per container with metrics ${metrics} (0 -> ${n} in one burst, ${k === 'afterBurst' ? 'right after the creates' : settledLabel})`,
          value: perContainerRss(base[k], base),
          target: 30,
          unit: 'KiB',
          ok: perContainerRss(base[k], base) <= 30,
        })),
      ),
    ],
    rows: { wall, peer, heap, rssKiB: rss, rssMetricsOffKiB: rssOff },
  };
}
