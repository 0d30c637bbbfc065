import { workingSet } from '../cgroups/usage.js';
import { formatSize } from '../spec/quantity.js';
import type { PockerEvent } from '../state/events.js';
import type { ContainerView, ControllerSnapshot } from './snapshot.js';

/** How the status page is drawn. */
export interface StatusPageOptions {
  /** Reload every N seconds (a meta refresh: no JavaScript); 0: never. */
  refreshSeconds: number;
}

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for HTML text and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => escapes[c]!);
}

function bar(label: string, used: number, limit: number | null, format: (n: number) => string): string {
  if (limit === null || limit <= 0) return `<div class="limit"><span>${escapeHtml(label)} ${escapeHtml(format(used))}</span></div>`;
  const pct = Math.min(100, (used / limit) * 100);
  const level = pct >= 90 ? 'high' : pct >= 70 ? 'mid' : 'low';
  return (
    `<div class="limit" title="${escapeHtml(`${label}: ${format(used)} of ${format(limit)}`)}">` +
    `<span>${escapeHtml(label)} ${escapeHtml(format(used))} / ${escapeHtml(format(limit))}</span>` +
    `<div class="bar"><div class="fill ${level}" style="width:${pct.toFixed(1)}%"></div></div></div>`
  );
}

function stateCell(c: ContainerView): string {
  const exit = c.actual.exit;
  const marks = [`<span class="state ${c.state}">${escapeHtml(c.state)}</span>`];
  if (exit?.oomKilled && !c.actual.initAlive) marks.push('<span class="mark oom" data-oom="true">OOM-killed</span>');
  else if (c.actual.record?.lastExit?.oomKilled)
    marks.push('<span class="mark oom" data-oom="true">OOM-killed before its last restart</span>');
  if (exit && !c.actual.initAlive)
    marks.push(`<span class="detail">exit ${exit.exitCode}${exit.signal ? `, signal ${exit.signal}` : ''}</span>`);
  if (c.state === 'backoff') marks.push(`<span class="detail">restart in ${Math.ceil(c.backoffSeconds)} s</span>`);
  if (c.updateAvailable) marks.push('<span class="mark update">update available</span>');
  return marks.join(' ');
}

function limitsCell(c: ContainerView): string {
  const u = c.usage;
  const lim = c.actual.limits;
  if (!u) return '<span class="detail">no cgroup</span>';
  const cpus = lim && lim.cpuQuotaUs !== 'max' ? lim.cpuQuotaUs / lim.cpuPeriodUs : null;
  const cpu =
    c.cpuPercent === null
      ? `<div class="limit"><span>${escapeHtml(cpus === null ? 'no CPU limit' : `CPU limit ${cpus.toFixed(2)}`)}, ${(u.cpuNs / 1e9).toFixed(1)} s used</span></div>`
      : bar('CPU', c.cpuPercent / 100, cpus, (n) => `${n.toFixed(2)} CPU`);
  return [
    bar('memory', workingSet(u), lim && lim.memory !== 'max' ? lim.memory : null, formatSize),
    bar('pids', u.pids, lim && lim.pids !== 'max' ? lim.pids : null, String),
    cpu,
  ].join('');
}

function containerRow(c: ContainerView): string {
  const health = c.actual.record?.spec.healthcheck ? (c.actual.health?.status ?? 'starting') : '-';
  return (
    `<tr data-name="${escapeHtml(c.name)}" data-state="${c.state}">` +
    `<td class="name">${escapeHtml(c.name)}</td>` +
    `<td>${stateCell(c)}</td>` +
    `<td class="num">${c.actual.record?.restartCount ?? 0}</td>` +
    `<td><span class="health ${escapeHtml(health)}">${escapeHtml(health)}</span></td>` +
    `<td>${limitsCell(c)}</td>` +
    `</tr>`
  );
}

function eventRow(e: PockerEvent): string {
  const detail = [e.reason, e.error, e.message, e.exitCode !== undefined ? `exit ${String(e.exitCode)}` : undefined]
    .filter((x) => typeof x === 'string' || typeof x === 'number')
    .map(String)
    .join('; ');
  return `<tr><td class="time">${escapeHtml(e.time)}</td><td><span class="event ${escapeHtml(e.type)}">${escapeHtml(e.type)}</span></td><td>${escapeHtml(e.name ?? (typeof e.file === 'string' ? e.file : '-'))}</td><td>${escapeHtml(detail)}</td></tr>`;
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1b1f24;background:#fafbfc}
h1{font-size:1.3em;margin:0 0 .2em}h2{font-size:1.05em;margin:1.5em 0 .4em}
.sub{color:#57606a;margin:0 0 1em}table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #e1e4e8;vertical-align:top}
th{background:#f3f4f6;font-weight:600}.num{text-align:right}.name{font-weight:600}
.state,.health,.event,.mark{display:inline-block;padding:0 .45em;border-radius:.6em;font-size:.9em}
.running,.healthy,.create,.update{background:#dafbe1}.exited,.lost,.corrupt,.unhealthy,.apply-failed,.oom,.spec-invalid{background:#ffebe9}
.backoff,.starting,.restart,.recreate,.creating,.paused{background:#fff8c5}.stopped,.removed{background:#eaeef2}
.mark.oom{background:#cf222e;color:#fff;font-weight:600}.mark.update{background:#ddf4ff}.detail{color:#57606a;font-size:.9em}
.limit{margin:.1em 0}.limit span{font-size:.9em}.bar{height:.5em;width:14em;background:#eaeef2;border-radius:.25em;overflow:hidden}
.fill{height:100%}.fill.low{background:#2da44e}.fill.mid{background:#bf8700}.fill.high{background:#cf222e}.time{white-space:nowrap;color:#57606a}
`;

/** The status page: containers, states, restarts, health, limits against usage, the spec dirs' revisions, the last events. */
export function renderStatusPage(s: ControllerSnapshot, o: StatusPageOptions): string {
  const rows = s.containers.map(containerRow).join('\n');
  const sources = s.sources
    .map(
      (src) =>
        `<tr><td>${escapeHtml(src.dir)}</td><td>${escapeHtml(src.lastApplied?.revision ?? (src.lastApplied ? '(not a git work tree)' : 'never applied'))}</td>` +
        `<td>${src.lastApplied ? escapeHtml(new Date(src.lastApplied.atMs).toISOString()) : '-'}</td>` +
        `<td class="num">${src.failedFiles.length}</td></tr>`,
    )
    .join('\n');
  const events = [...s.events].reverse().slice(0, 30).map(eventRow).join('\n');
  const counts = new Map<string, number>();
  for (const c of s.containers) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
  const summary = [...counts].map(([k, v]) => `${v} ${k}`).join(', ') || 'no containers';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
${o.refreshSeconds > 0 ? `<meta http-equiv="refresh" content="${o.refreshSeconds}">` : ''}
<title>pocker: ${escapeHtml(s.dir)}</title><style>${STYLE}</style></head>
<body>
<h1>pocker — ${escapeHtml(s.dir)}</h1>
<p class="sub">${escapeHtml(summary)}${s.specErrors ? `; <strong>${s.specErrors} spec file${s.specErrors === 1 ? '' : 's'} failing</strong>` : ''} · as of ${escapeHtml(new Date(s.atMs).toISOString())} · <a href="/metrics">metrics</a> · ${o.refreshSeconds > 0 ? `refreshing every ${o.refreshSeconds} s` : '<a href="/?refresh=5">refresh every 5 s</a>'}</p>
<h2>Containers</h2>
<table id="containers"><thead><tr><th>Name</th><th>State</th><th class="num">Restarts</th><th>Health</th><th>Usage against limits</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="5">no containers</td></tr>'}
</tbody></table>
<h2>Spec dirs</h2>
<table id="sources"><thead><tr><th>Dir</th><th>Last applied revision</th><th>Applied at</th><th class="num">Failing files</th></tr></thead>
<tbody>
${sources || '<tr><td colspan="4">no pass recorded</td></tr>'}
</tbody></table>
<h2>Last events</h2>
<table id="events"><thead><tr><th>Time</th><th>Type</th><th>Container</th><th>Details</th></tr></thead>
<tbody>
${events || '<tr><td colspan="4">no events yet</td></tr>'}
</tbody></table>
</body></html>
`;
}
