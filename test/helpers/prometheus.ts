import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './registry.js';
import { sleep } from './wait.js';

/** Debian's Prometheus server, started by a test with its own config and storage, on 127.0.0.1. */
export interface TestPrometheus {
  /** The value of an instant query's first sample, or null when it has none. */
  query(q: string): Promise<number | null>;
  /** Kills it (by pid) and waits for it to exit. */
  stop(): Promise<void>;
  log(): string;
}

/** Starts `prometheus` scraping target (HOST:PORT) every second; resolves when it is ready. */
export async function startPrometheus(dir: string, target: string): Promise<TestPrometheus> {
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: pocker\n    static_configs:\n      - targets: ['${target}']\n`,
  );
  const port = await freePort();
  const child: ChildProcess = spawn(
    'prometheus',
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let text = '';
  child.stderr!.on('data', (d: Buffer) => (text += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const base = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok) break;
    } catch {
      // Not listening yet.
    }
    if (child.exitCode !== null || i > 150) {
      await stop();
      throw new Error(`prometheus did not become ready: ${text.slice(-2000)}`);
    }
    await sleep(100);
  }
  return {
    async query(q) {
      const r = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`, { signal: AbortSignal.timeout(5000) });
      const body = (await r.json()) as { status: string; error?: string; data?: { result: Array<{ value: [number, string] }> } };
      if (body.status !== 'success') throw new Error(`prometheus query ${q}: ${body.error}`);
      const v = body.data?.result[0]?.value[1];
      return v === undefined ? null : Number(v);
    },
    stop,
    log: () => text,
  };
}
