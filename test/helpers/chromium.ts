import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function chromium(args: string[], url: string): string {
  const profile = mkdtempSync(join(tmpdir(), 'pocker-chromium-'));
  try {
    const r = spawnSync(
      'chromium',
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--no-first-run',
        `--user-data-dir=${profile}`,
        ...args,
        url,
      ],
      { encoding: 'utf8', timeout: 90_000, killSignal: 'SIGKILL', env: { ...process.env, HOME: profile }, maxBuffer: 64 * 2 ** 20 },
    );
    if (r.status !== 0)
      throw new Error(`chromium ${args.join(' ')} ${url}: ${r.error?.message ?? `exit ${r.status}`}: ${r.stderr.slice(-2000)}`);
    return r.stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The DOM headless Chromium (Debian's) rendered for url, as HTML. */
export function renderedDom(url: string): string {
  return chromium(['--dump-dom'], url);
}

/** A PNG screenshot of url, width × height, taken by headless Chromium. */
export function screenshot(url: string, path: string, width = 1280, height = 900): void {
  chromium([`--screenshot=${path}`, `--window-size=${width},${height}`, '--hide-scrollbars'], url);
}
