// 3. No-op pass and 6. footprint, on one growing set of running containers (10, 100, 1000):
// the watching controller's resyncs (SIGHUP, their own timing lines; between full ones, and full),
// a fresh `reconcile --once` (wall time, and its own split into process start-up and the pass),
// `runc list` over as many runc containers as the peer, the controller's RSS, and the PSS of each
// container's monitor + init.
import { PockerInstance } from '../lib/pocker.mjs';
import { RuncFleet } from '../lib/runc.mjs';
import { pssKiB, rssKiB, settledRss } from '../lib/proc.mjs';
import { median, p99, round, timeSync } from '../lib/stats.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function scaleSuite(env, { counts, samples, runcPeer, settleMs }) {
  const p = new PockerInstance(env, 'scale');
  const points = [];
  let rss0;
  try {
    await p.startDaemon();
    await sleep(2000);
    rss0 = await settledRss(p.daemon.pid, settleMs);
    let have = 0;
    for (const n of counts) {
      for (; have < n; have++) p.writeSpec(`c${have}`);
      await p.until(() => Array.from({ length: n }, (_, i) => p.pids(`c${i}`)).every(Boolean), `${n} containers running`, 600_000, 100);
      for (let i = 0; i < 100 && (await p.resync()).kicked > 0; i++) await sleep(200);
      // The controller's cadence (default: every 10th resync reads everything): the incremental
      // ones are the no-op resync users get between two full ones.
      const resync = [];
      const fullResync = [];
      while (resync.length < samples || fullResync.length < 2) {
        const s = await p.resync();
        if (s.kicked !== 0) throw new Error(`resync at ${n} handed ${s.kicked} containers to workers: not a no-op`);
        if (s.containers !== n) throw new Error(`resync at ${n} observed ${s.containers} containers`);
        (s.full ? fullResync : resync).push(s.durationMs);
      }
      const once = [];
      const startup = [];
      const pass = [];
      for (let i = 0; i < samples; i++) {
        let out;
        once.push(timeSync(() => (out = p.cli(['reconcile', '--once'], { logLevel: 'debug' }))));
        const line = out.stderr
          .split('\n')
          .map((l) => {
            try {
              return JSON.parse(l);
            } catch {
              return null;
            }
          })
          .find((r) => r && typeof r.passMs === 'number');
        if (!line) throw new Error(`reconcile --once printed no timing line: ${out.stderr.slice(-500)}`);
        if (
          !out.stdout
            .trim()
            .split('\n')
            .slice(1)
            .every((l) => l.startsWith('none '))
        )
          throw new Error(`reconcile --once at ${n} was not a no-op: ${out.stdout.slice(-500)}`);
        startup.push(line.startupMs);
        pass.push(line.passMs);
      }
      await sleep(1000);
      const rssAfterWork = rssKiB(p.daemon.pid);
      const rss = await settledRss(p.daemon.pid, settleMs);
      const sampled = Array.from({ length: Math.min(n, 20) }, (_, i) => p.pids(`c${Math.floor((i * n) / Math.min(n, 20))}`));
      const perContainerPss = sampled.map((x) => pssKiB(x.monitorPid) + pssKiB(x.initPid));
      let runcList = null;
      if (runcPeer) {
        const r = new RuncFleet(env, `list-${n}`);
        try {
          const ids = Array.from({ length: n }, (_, i) => `c${i}`);
          r.prepare(ids);
          ids.forEach((id) => r.start(id));
          runcList = Array.from({ length: samples }, () => timeSync(() => r.list()));
        } finally {
          r.close();
        }
      }
      points.push({
        n,
        resyncMs: { median: round(median(resync)), p99: round(p99(resync)), samples: resync },
        fullResyncMs: { median: round(median(fullResync)), samples: fullResync },
        onceMs: {
          median: round(median(once)),
          p99: round(p99(once)),
          startupMedian: round(median(startup)),
          passMedian: round(median(pass)),
          samples: once,
        },
        runcListMs: runcList && { median: round(median(runcList)), p99: round(p99(runcList)), samples: runcList },
        controllerRssKiB: rss,
        controllerRssAfterWorkKiB: rssAfterWork,
        monitorPlusInitPssKiB: {
          median: round(median(perContainerPss)),
          max: Math.max(...perContainerPss),
          sampled: perContainerPss.length,
        },
      });
    }
  } finally {
    await p.close();
  }
  const first = points[0];
  const last = points[points.length - 1];
  const slope = (f) => round((f(last) - f(first)) / (last.n - first.n), 3);
  const perContainer = {
    resyncMs: slope((x) => x.resyncMs.median),
    passMs: slope((x) => x.onceMs.passMedian),
    rssKiB: round((last.controllerRssKiB - rss0) / last.n, 1),
    rssAfterWorkKiB: round((last.controllerRssAfterWorkKiB - rss0) / last.n, 1),
  };
  const top = last;
  const pssTop = Math.max(...points.map((x) => x.monitorPlusInitPssKiB.median));
  const targets = [];
  if (top.n >= 1000) {
    targets.push({
      what: `daemon resync at ${top.n} (between full ones; a full one: ${top.fullResyncMs.median} ms)`,
      value: top.resyncMs.median,
      target: 100,
      unit: 'ms',
      ok: top.resyncMs.median <= 100,
    });
    targets.push({
      what: `fresh reconcile --once at ${top.n} (wall)`,
      value: top.onceMs.median,
      target: 600,
      unit: 'ms',
      ok: top.onceMs.median <= 600,
    });
  }
  targets.push({
    what: 'controller RSS baseline (0 containers)',
    value: round(rss0 / 1024, 1),
    target: 70,
    unit: 'MiB',
    ok: rss0 / 1024 <= 70,
  });
  targets.push({
    what: `controller RSS per container (0 -> ${top.n}${settleMs ? ', settled' : ', not settled (--quick)'})`,
    value: perContainer.rssKiB,
    target: 30,
    unit: 'KiB',
    ok: perContainer.rssKiB <= 30,
  });
  targets.push({ what: 'monitor + init PSS per container', value: pssTop, target: 300, unit: 'KiB', ok: pssTop <= 300 });
  return {
    name: 'scale',
    title:
      'No-op pass and footprint with N running containers (controller resync via SIGHUP, every 10th in full; fresh `reconcile --once`; peer: `runc list` over N runc containers)',
    header: [
      'N',
      'resync median (ms)',
      'resync p99 (ms)',
      'full resync median (ms)',
      '--once wall median (ms)',
      '--once p99 (ms)',
      'of which start-up (ms)',
      'pass (ms)',
      'runc list median (ms)',
      '--once / runc list',
      settleMs ? 'controller RSS, settled (MiB)' : 'controller RSS (MiB)',
      'RSS right after the passes (MiB)',
      'monitor+init PSS (KiB)',
    ],
    table: [
      ['0', '', '', '', '', '', '', '', '', '', round(rss0 / 1024, 1), '', ''],
      ...points.map((x) => [
        x.n,
        x.resyncMs.median,
        x.resyncMs.p99,
        x.fullResyncMs.median,
        x.onceMs.median,
        x.onceMs.p99,
        x.onceMs.startupMedian,
        x.onceMs.passMedian,
        x.runcListMs?.median ?? 'n/m',
        x.runcListMs ? `${round(x.onceMs.median / x.runcListMs.median, 3)}x` : '',
        round(x.controllerRssKiB / 1024, 1),
        round(x.controllerRssAfterWorkKiB / 1024, 1),
        x.monitorPlusInitPssKiB.median,
      ]),
    ],
    notes: [
      `growth per container (${first.n} -> ${last.n}): resync ${perContainer.resyncMs} ms, --once pass ${perContainer.passMs} ms, controller RSS ${perContainer.rssKiB} KiB${settleMs ? ' settled' : ''} (${perContainer.rssAfterWorkKiB} KiB right after the passes), from the idle baseline`,
    ],
    targets,
    rows: { rss0KiB: rss0, points, perContainer },
  };
}
