import type { Host } from '../host/host.js';
import { shortDigest } from '../spec/digest.js';
import { pullImage, type PullEvent, type PullResult } from '../image/pull.js';
import { registryClientFactory } from '../image/registryClients.js';
import type { RegistrySettings } from '../image/registrySettings.js';
import type { InstanceDirs } from '../state/layout.js';
import { formatSize } from '../spec/quantity.js';

/** One line per layer, redrawn in place on a terminal (as docker pull shows it). */
class TerminalProgress {
  private lines: string[] = [];
  private drawn = 0;
  private started = new Map<number, { at: number; bytes: number }>();

  constructor(private readonly out: NodeJS.WriteStream) {}

  event(e: PullEvent): void {
    if (e.kind === 'resolved') {
      this.out.write(`${e.reference}: ${e.manifest} (${e.layers} layer${e.layers === 1 ? '' : 's'}, from ${e.servedBy})\n`);
      return;
    }
    const now = Date.now();
    const start = this.started.get(e.index) ?? { at: now, bytes: 0 };
    this.started.set(e.index, start);
    const secs = Math.max(0.001, (now - start.at) / 1000);
    const rate = e.state === 'downloading' && e.bytes > 0 ? `  ${formatSize(Math.round(e.bytes / secs))}/s` : '';
    const what =
      e.state === 'present'
        ? 'already in the store'
        : e.state === 'done'
          ? `done (${formatSize(e.size)})`
          : e.state === 'retrying'
            ? 'retrying from the start'
            : `${formatSize(e.bytes)} / ${formatSize(e.size)}${rate}`;
    this.lines[e.index] = `  ${shortDigest(e.blob)}  ${what}`;
    this.draw();
  }

  private draw(): void {
    if (this.drawn) this.out.write(`\x1b[${this.drawn}A`);
    const rows = this.lines.map((l) => l ?? '  waiting');
    for (const r of rows) this.out.write(`\x1b[2K${r}\n`);
    this.drawn = rows.length;
  }
}

/**
 * Pulls an image for a command the user waits on: per-layer progress (bytes, rate) redrawn on
 * stderr when it is a terminal, one line per completed layer otherwise.
 */
export async function pullWithProgress(host: Host, dirs: InstanceDirs, reference: string, settings: RegistrySettings): Promise<PullResult> {
  const tty = process.stderr.isTTY ? new TerminalProgress(process.stderr) : null;
  return pullImage(host, dirs, reference, {
    client: registryClientFactory(settings)(),
    concurrency: settings.concurrency,
    onEvent: (e) => {
      if (tty) tty.event(e);
      else if (e.kind === 'resolved') console.error(`${e.reference}: ${e.manifest} (${e.layers} layer(s), from ${e.servedBy})`);
      else if (e.state === 'done')
        console.error(`layer ${e.index + 1} ${shortDigest(e.blob)}: ${formatSize(e.size)} downloaded and unpacked`);
      else if (e.state === 'present') console.error(`layer ${e.index + 1} ${shortDigest(e.blob)}: already in the store`);
    },
  });
}
