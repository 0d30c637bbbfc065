// The README's chart: one panel per suite of the latest full run of each (bench/results/*.json),
// a group of horizontal bars per measurement, pocker against the peers measured in the same run
// (median wall time, ms). Plain SVG text, no script and no external assets.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Colours of the series (others get grey). */
const COLOURS = {
  pocker: '#2a6fdb',
  'runc (serial)': '#7a7a7a',
  'runc (2 at a time)': '#a8a8a8',
  runc: '#7a7a7a',
  podman: '#b5462f',
  'node -e 0': '#7a7a7a',
  'userns: host': '#a8a8a8',
};

const escape = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The newest result of each suite among the full runs' JSON files of dir (pocker's default userns), with the run's time. */
export function latestResults(dir) {
  const runs = readdirSync(dir)
    .filter((f) => /^bench-.*\.json$/.test(f) && !f.includes('-quick'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')))
    .filter((run) => !run.quick && run.userns !== 'host');
  const bySuite = new Map();
  for (const run of runs) for (const r of run.results ?? []) if (r.chart?.length) bySuite.set(r.name, { ...r, at: run.at ?? null });
  return [...bySuite.values()];
}

/** The SVG of the given suite results (each with a chart: [{label, bars: [{series, ms}]}]). */
export function renderChart(results) {
  const width = 860;
  const labelW = 230;
  const barH = 13;
  const gap = 4;
  const left = labelW + 10;
  const plotW = width - left - 180;
  const out = [];
  const series = [...new Set(results.flatMap((r) => r.chart.flatMap((g) => g.bars.filter((b) => b.ms > 0).map((b) => b.series))))];
  const perRow = Math.floor((width - 20) / 150);
  let y = 30 + Math.ceil(series.length / perRow) * 18;
  for (const r of results) {
    out.push(`<text x="10" y="${y}" class="suite">${escape(r.name)}${r.at ? ` (${escape(r.at.slice(0, 10))})` : ''}</text>`);
    y += 10;
    for (const g of r.chart) {
      const bars = g.bars.filter((b) => typeof b.ms === 'number' && b.ms > 0);
      if (!bars.length) continue;
      const max = Math.max(...bars.map((b) => b.ms));
      out.push(`<text x="${labelW}" y="${y + barH}" class="label" text-anchor="end">${escape(g.label)}</text>`);
      for (const b of bars) {
        const w = Math.max(1, Math.round((b.ms / max) * plotW));
        const colour = COLOURS[b.series] ?? '#999';
        out.push(
          `<rect x="${left}" y="${y}" width="${w}" height="${barH}" fill="${colour}"><title>${escape(`${b.series}: ${b.ms} ms`)}</title></rect>`,
          `<text x="${left + w + 4}" y="${y + barH - 3}" class="value">${escape(b.ms)} ms${b.series === 'pocker' ? '' : ` ${escape(b.series)}`}</text>`,
        );
        y += barH + gap;
      }
      y += 6;
    }
    y += 14;
  }
  const legend = series
    .map((s, i) => {
      const [x, ly] = [10 + (i % perRow) * 150, 10 + Math.floor(i / perRow) * 18];
      return `<rect x="${x}" y="${ly}" width="12" height="12" fill="${COLOURS[s] ?? '#999'}"/><text x="${x + 16}" y="${ly + 11}" class="label">${escape(s)}</text>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif">
<style>.suite{font-size:14px;font-weight:bold}.label{font-size:11px}.value{font-size:10px;fill:#333}</style>
<rect width="100%" height="100%" fill="#fff"/>
${legend}
${out.join('\n')}
</svg>
`;
}
