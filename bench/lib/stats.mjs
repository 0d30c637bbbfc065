// Small statistics and formatting helpers shared by the benchmark suites.

/** Nearest-rank percentile (p in 0..1) of a list of numbers. */
export function pct(xs, p) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
}

export const median = (xs) => pct(xs, 0.5);
export const p99 = (xs) => pct(xs, 0.99);

/** Rounds to `digits` decimals. */
export function round(x, digits = 1) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Milliseconds taken by a synchronous function. */
export function timeSync(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Milliseconds taken by an async function. */
export async function timeAsync(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** A markdown table from a header row and rows of cells. */
export function markdownTable(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [
    line(header),
    line(header.map(() => '---')),
    ...rows.map((r) => line(r.map((c) => (c === undefined || c === null ? '' : String(c))))),
  ].join('\n');
}

/** "0.237x (target <= 0.25x: met)" and the like. */
export function verdict(value, target, better = 'lower') {
  const ok = better === 'lower' ? value <= target : value >= target;
  return { value, target, ok };
}

/** The columns of a comparison with runc serially, runc `nproc` at a time and podman serially. */
export function peerHeader(nproc) {
  return [
    'N',
    'runs',
    'pocker median (ms)',
    'pocker p99 (ms)',
    'runc serial (ms)',
    `runc ${nproc} at a time (ms)`,
    'podman serial (ms)',
    'vs runc serial',
    'vs runc parallel',
    'vs podman',
  ];
}
