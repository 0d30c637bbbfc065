#!/usr/bin/env node
// Run with --expose-gc by the metrics suite: serves the controller's /metrics (the same
// ControllerMetrics, MetricsServer and snapshot code as `pocker reconcile --metrics-addr`) over
// the containers of a running instance, read from the real kernel, scrapes it SCRAPES times over
// HTTP and prints the heap after GC before and after, and the CPU time per scrape, as JSON.
//   node --expose-gc bench/lib/scrapeHeap.mjs '{"stateDir":…,"dataDir":…,"cgroupParent":…}' DIR SCRAPES
import { get } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const mod = (p) => import(join(root, 'dist', 'reconciler', p));
const { NodeHost } = await mod('host/nodeHost.js');
const { detectDriver } = await mod('cgroups/detect.js');
const { observe } = await mod('observe/observe.js');
const { ControllerMetrics } = await mod('controller/metrics.js');
const { MetricsServer } = await mod('controller/metricsServer.js');
const { takeSnapshot } = await mod('controller/snapshot.js');
const silent = { debug() {}, info() {}, warn() {}, error() {} };

const [dirsJson, dir, scrapesText] = process.argv.slice(2);
const dirs = JSON.parse(dirsJson);
const scrapes = Number(scrapesText);
const host = new NodeHost();
const driver = detectDriver(host, dirs.cgroupParent);
const observations = observe(host, dirs, driver).containers;
const metrics = new ControllerMetrics();
const server = new MetricsServer({
  address: { kind: 'tcp', host: '127.0.0.1', port: 0, loopback: true },
  metrics,
  log: silent,
  snapshot: () => takeSnapshot({ host, dirs, driver, dir, observations, specErrors: 0, events: [] }),
});
await server.start();
const scrape = () =>
  new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port: server.port, path: '/metrics' }, (res) => {
      let bytes = 0;
      res.on('data', (d) => (bytes += d.length));
      res.on('end', () => resolve(bytes));
    }).on('error', reject);
  });
const heap = () => {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
};
for (let i = 0; i < 50; i++) await scrape();
const heap0 = heap();
const cpu0 = process.cpuUsage();
let bytes = 0;
for (let i = 0; i < scrapes; i++) bytes = await scrape();
const cpu = process.cpuUsage(cpu0);
const heap1 = heap();
await server.stop();
process.stdout.write(
  `${JSON.stringify({
    containers: observations.size,
    scrapes,
    exposition: bytes,
    heapBefore: heap0,
    heapAfter: heap1,
    heapGrowth: heap1 - heap0,
    cpuMsPerScrapeInProcess: (cpu.user + cpu.system) / 1000 / scrapes,
  })}\n`,
);
