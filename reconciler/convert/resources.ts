/**
 * `deploy.resources.limits` (`cpus`, `memory`, `pids`) and the service keys `cpus`, `mem_limit`,
 * `memswap_limit`, `pids_limit`, `cpu_shares`, `cpuset`, `cpu_quota`/`cpu_period` and
 * `blkio_config` throttles → `resources`, memory as a quantity (compose's `512m` is 512Mi).
 */
import { MIN_MEMORY } from '../spec/normalize.js';
import type { ServiceContext } from './context.js';
import type { SpecResources } from './types.js';
import { parseComposeBytes, quantity } from './units.js';
import { describe, isMap, scalarString, type YamlMap } from './values.js';

type Io = NonNullable<SpecResources['io']>[number];

function number(v: unknown): number | null {
  const s = scalarString(v);
  if (s === null || s.trim() === '') return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

/** The limit from deploy.resources.limits or the service key (the first when both are set; compose wants them equal). */
function pick(ctx: ServiceContext, limits: YamlMap, deployKey: string, legacyKey: string): { value: unknown; field: string } | null {
  const d = limits[deployKey];
  const l = ctx.def[legacyKey];
  const has = (v: unknown): boolean => v !== undefined && v !== null;
  if (has(d) && has(l) && String(d) !== String(l))
    ctx.lose(legacyKey, `${describe(l)} differs from deploy.resources.limits.${deployKey} ${describe(d)}: the latter is used`);
  if (has(d)) return { value: d, field: `deploy.resources.limits.${deployKey}` };
  if (has(l)) return { value: l, field: legacyKey };
  return null;
}

function cpus(ctx: ServiceContext, limits: YamlMap, out: SpecResources): void {
  const p = pick(ctx, limits, 'cpus', 'cpus');
  let n: number | null;
  let field: string;
  let written: unknown;
  if (p) [n, field, written] = [number(p.value), p.field, p.value];
  else if (ctx.def.cpu_quota !== undefined && ctx.def.cpu_quota !== null) {
    const quota = number(ctx.def.cpu_quota);
    if (quota === -1) return;
    const period = ctx.def.cpu_period === undefined || ctx.def.cpu_period === null ? 100_000 : number(ctx.def.cpu_period);
    [n, field, written] = [quota !== null && period ? quota / period : null, 'cpu_quota', ctx.def.cpu_quota];
  } else return;
  if (n === 0) return;
  if (n === null || n < 0.01 || n > 4096) {
    ctx.lose(field, `${describe(written)} is not a number of CPUs from 0.01 to 4096: no CPU limit`);
    return;
  }
  out.cpus = Math.round(n * 1000) / 1000;
}

function memory(ctx: ServiceContext, limits: YamlMap, out: SpecResources): void {
  const p = pick(ctx, limits, 'memory', 'mem_limit');
  let memBytes = 0;
  if (p) {
    const r = parseComposeBytes(p.value);
    if ('error' in r) ctx.lose(p.field, `${r.error}: no memory limit`);
    else if (r.bytes === 0) return;
    else if (r.bytes < MIN_MEMORY) ctx.lose(p.field, `${describe(p.value)} is below pocker's smallest memory limit (4Mi): no memory limit`);
    else [out.memory, memBytes] = [quantity(r.bytes), r.bytes];
  }
  const swap = ctx.def.memswap_limit;
  if (swap === undefined || swap === null) return;
  if (swap === -1 || swap === '-1') {
    if (out.memory !== undefined) out.memsw = 'unlimited';
    return;
  }
  const r = parseComposeBytes(swap);
  if ('error' in r) ctx.lose('memswap_limit', `${r.error}: left out`);
  else if (r.bytes === 0) return;
  else if (out.memory === undefined) ctx.lose('memswap_limit', 'memory + swap needs a memory limit in pocker: left out');
  else if (r.bytes < memBytes) ctx.lose('memswap_limit', 'memory + swap is below the memory limit: left out');
  else out.memsw = quantity(r.bytes);
}

function pids(ctx: ServiceContext, limits: YamlMap, out: SpecResources): void {
  const p = pick(ctx, limits, 'pids', 'pids_limit');
  if (!p) return;
  const n = number(p.value);
  if (n !== null && n <= 0) ctx.lose(p.field, `${describe(p.value)} means no limit; pocker always limits processes (its default is 4096)`);
  else if (n === null || !Number.isInteger(n) || n > 4194304)
    ctx.lose(p.field, `${describe(p.value)} is not a process count: pocker's default (4096) applies`);
  else out.pids = n;
}

function blkio(ctx: ServiceContext, out: SpecResources): void {
  const b = ctx.def.blkio_config;
  if (b === undefined || b === null) return;
  if (!isMap(b)) throw ctx.invalid(['blkio_config'], `blkio_config is a mapping, not ${describe(b)}`);
  const byDevice = new Map<string, Io>();
  const fields: Array<[string, keyof Io, boolean]> = [
    ['device_read_bps', 'readBps', true],
    ['device_write_bps', 'writeBps', true],
    ['device_read_iops', 'readIops', false],
    ['device_write_iops', 'writeIops', false],
  ];
  for (const [key, to, bytes] of fields) {
    const list = b[key];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) throw ctx.invalid(['blkio_config', key], `${key} is a list of {path, rate}`);
    for (const e of list) {
      const path = isMap(e) ? scalarString(e.path) : null;
      const rate = isMap(e) ? (bytes ? parseComposeBytes(e.rate) : { bytes: number(e.rate) ?? NaN }) : { error: 'not {path, rate}' };
      if (!path?.startsWith('/') || 'error' in rate || !Number.isInteger(rate.bytes) || rate.bytes < 2) {
        ctx.lose(`blkio_config.${key}`, `${describe(e)} is not {path: /dev/..., rate: 2 or more}: left out`);
        continue;
      }
      const io = byDevice.get(path) ?? { device: path };
      (io as Record<string, unknown>)[to] = bytes ? quantity(rate.bytes) : rate.bytes;
      byDevice.set(path, io);
    }
  }
  if (b.weight !== undefined || b.weight_device !== undefined) ctx.lose('blkio_config.weight', 'pocker sets I/O throttles, not weights');
  if (byDevice.size) out.io = [...byDevice.values()];
}

/** The service's limits, or undefined when it sets none. */
export function convertResources(ctx: ServiceContext): SpecResources | undefined {
  const deploy = isMap(ctx.def.deploy) ? ctx.def.deploy : {};
  const res = isMap(deploy.resources) ? deploy.resources : {};
  const limits = isMap(res.limits) ? res.limits : {};
  const out: SpecResources = {};
  cpus(ctx, limits, out);
  memory(ctx, limits, out);
  pids(ctx, limits, out);
  if (ctx.def.cpu_shares !== undefined && ctx.def.cpu_shares !== null) {
    const n = number(ctx.def.cpu_shares);
    if (n !== null && Number.isInteger(n) && n >= 2 && n <= 262144) out.cpuShares = n;
    else ctx.lose('cpu_shares', `${describe(ctx.def.cpu_shares)} is not a CPU weight from 2 to 262144: left out`);
  }
  const cpuset = scalarString(ctx.def.cpuset);
  if (cpuset !== null) {
    if (/^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$/.test(cpuset)) out.cpuset = cpuset;
    else ctx.lose('cpuset', `${describe(cpuset)} is not a CPU list (0-1,3): left out`);
  }
  blkio(ctx, out);
  for (const k of Object.keys(limits))
    if (!['cpus', 'memory', 'pids'].includes(k)) ctx.lose(`deploy.resources.limits.${k}`, 'not supported by pocker');
  if (res.reservations !== undefined) ctx.lose('deploy.resources.reservations', 'pocker sets limits, not reservations');
  return Object.keys(out).length ? out : undefined;
}
