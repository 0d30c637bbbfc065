import { formatBytes } from '../spec/quantity.js';
import { GLOBAL_HELP, parseCommand, UsageError } from './options.js';
import { table } from './table.js';
import type { StatsRow, UsageSample } from '../controller/stats.js';

export const STATS_HELP = `Usage: pocker stats [NAME...] [--no-stream] [-o table|json]

What each running container (default: every one of this instance) uses, read from its cgroups
(v1, hybrid and v2 alike) as docker stats shows it: CPU in % of one CPU and in % of its cpus
quota (over the last second), memory usage, limit and %, the working set (usage minus inactive
file cache, as cAdvisor and docker stats compute it), swap, pids, block I/O read and written,
and for bridge containers the bytes received and sent. On a terminal it refreshes every second
until interrupted; with --no-stream, or when stdout is not a terminal, it prints one reading
(two samples a second apart) and exits.

Options:
  --no-stream           one reading, then exit
  -o, --output FORMAT   table (default) or json (one reading)

${GLOBAL_HELP}`;

const SAMPLE_MS = 1000;

const bytes = (n: number | null): string => (n === null ? '-' : formatBytes(n));
const percent = (n: number | null): string => (n === null ? '-' : `${n.toFixed(1)}%`);

function render(rows: StatsRow[]): string {
  return table(
    ['NAME', 'CPU %', 'CPU % OF QUOTA', 'MEM USAGE / LIMIT', 'MEM %', 'WORKING SET', 'SWAP', 'PIDS', 'BLOCK I/O', 'NET I/O'],
    rows.map((r) => [
      r.name,
      percent(r.cpuPercent),
      percent(r.cpuPercentOfQuota),
      `${bytes(r.memoryBytes)} / ${r.memoryLimit === null ? 'unlimited' : bytes(r.memoryLimit)}`,
      percent(r.memoryPercent),
      bytes(r.workingSetBytes),
      bytes(r.swapBytes),
      String(r.pids),
      `${bytes(r.blockReadBytes)} / ${bytes(r.blockWriteBytes)}`,
      r.netRxBytes === null ? '-' : `${bytes(r.netRxBytes)} / ${bytes(r.netTxBytes)}`,
    ]),
  );
}

export async function main(args: string[]): Promise<number> {
  const cmd = parseCommand(args, { 'no-stream': { type: 'boolean' }, output: { type: 'string', short: 'o' } }, true);
  if (cmd.values.help) {
    console.log(STATS_HELP);
    return 0;
  }
  const format = cmd.values.output ?? 'table';
  if (format !== 'table' && format !== 'json') throw new UsageError('-o must be table or json');
  const { observeInstance } = await import('./lookup.js');
  const { sampleUsage, statsRow } = await import('../controller/stats.js');
  const { host, driver, actual } = observeInstance(cmd.dirs);
  const running = [...actual.containers.values()].filter((a) => a.initAlive).map((a) => a.name);
  const unknown = cmd.positionals.filter((n) => !running.includes(n));
  if (unknown.length) throw Object.assign(new Error(`no running container ${unknown.join(', ')}`), { code: 'NOT_FOUND' });
  const names = cmd.positionals.length ? cmd.positionals : running;
  const sample = (): Map<string, UsageSample> =>
    new Map(
      names.flatMap((n) => {
        const s = sampleUsage(host, cmd.dirs, driver, n);
        return s ? [[n, s] as const] : [];
      }),
    );
  const stream = format === 'table' && !cmd.values['no-stream'] && process.stdout.isTTY;
  let before = sample();
  for (;;) {
    await new Promise((r) => setTimeout(r, SAMPLE_MS));
    const after = sample();
    const rows = names.flatMap((n) => (before.has(n) && after.has(n) ? [statsRow(before.get(n)!, after.get(n)!)] : []));
    if (format === 'json') console.log(JSON.stringify(rows, null, 2));
    else if (stream) process.stdout.write(`\x1b[H\x1b[2J${render(rows)}\n`);
    else console.log(rows.length ? render(rows) : 'no running container');
    if (!stream) return 0;
    before = after;
  }
}
