import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProcessHookRunner, type HookResult, type HookRunner } from '../../reconciler/host/hookRunner.js';
import { Notifier } from '../../reconciler/controller/notifier.js';
import type { Logger } from '../../reconciler/log/logger.js';
import { until } from '../helpers/wait.js';

/** A runner that records each run and finishes it only when told (a hook that hangs until then). */
class HeldRunner implements HookRunner {
  readonly runs: Array<{ path: string; input: string; timeoutMs: number; finish: (r: HookResult) => void }> = [];
  run(path: string, input: string, timeoutMs: number): Promise<HookResult> {
    return new Promise((finish) => this.runs.push({ path, input, timeoutMs, finish }));
  }
  stopped = 0;
  stopAll(): void {
    this.stopped++;
  }
}

const warnings: string[] = [];
const log: Logger = { debug() {}, info() {}, warn: (_f, m) => void warnings.push(String(m)), error() {} };
const ok: HookResult = { exitCode: 0, signal: null, timedOut: false, output: '' };

describe('the notify hook queue', () => {
  beforeEach(() => {
    warnings.length = 0;
  });

  it('runs the hook for the types asked, one at a time, with the event as one JSON line on stdin', async () => {
    const runner = new HeldRunner();
    const n = new Notifier({ exec: '/hook', on: ['oom', 'restart'], timeoutMs: 500, queueLimit: 10 }, runner, log);
    n.emit({ type: 'create', name: 'web' });
    n.emit({ type: 'oom', name: 'web' });
    n.emit({ type: 'restart', name: 'web', reason: 'exited 1' });
    expect(runner.runs).toHaveLength(1);
    expect(JSON.parse(runner.runs[0]!.input)).toMatchObject({ type: 'oom', name: 'web' });
    expect(runner.runs[0]!.input.endsWith('}\n')).toBe(true);
    expect(runner.runs[0]!.timeoutMs).toBe(500);
    runner.runs[0]!.finish(ok);
    await until(() => runner.runs.length === 2, 'second run');
    expect(JSON.parse(runner.runs[1]!.input)).toMatchObject({ type: 'restart', reason: 'exited 1' });
    runner.runs[1]!.finish({ exitCode: 1, signal: null, timedOut: false, output: 'smtp down' });
    await until(() => n.runs === 2, 'both done');
    expect(n.failures).toBe(1);
    expect(warnings.join('\n')).toMatch(/notify hook \/hook \(restart\): exited with 1/);
  });

  it('a hook that hangs never makes emit wait: the queue fills, further events are dropped and counted', () => {
    const runner = new HeldRunner();
    const n = new Notifier({ exec: '/hook', on: ['oom'], timeoutMs: 500, queueLimit: 5 }, runner, log);
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) n.emit({ type: 'oom', name: `c${i}` });
    expect(performance.now() - t0).toBeLessThan(200);
    // One is running, five wait; the rest are dropped.
    expect(runner.runs).toHaveLength(1);
    expect(n.dropped).toBe(1000 - 1 - 5);
    expect(warnings[0]).toMatch(/is behind: 1 events dropped so far/);
  });

  it('closing kills the run under way and takes no more events', async () => {
    const runner = new HeldRunner();
    const n = new Notifier({ exec: '/hook', on: ['oom'], timeoutMs: 500, queueLimit: 5 }, runner, log);
    n.emit({ type: 'oom', name: 'a' });
    await n.close(10);
    expect(runner.stopped).toBe(1);
    n.emit({ type: 'oom', name: 'b' });
    expect(runner.runs).toHaveLength(1);
  });
});

describe('the real hook runner', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pocker-hook-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const script = (name: string, body: string): string => {
    const p = join(dir, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  };

  it('gives the hook its input on stdin and reports its exit and output', async () => {
    const out = join(dir, 'got');
    const hook = script('hook', `cat > ${out}; echo done; exit 4`);
    const r = await new ProcessHookRunner().run(hook, '{"type":"oom"}\n', 5000);
    expect(r).toMatchObject({ exitCode: 4, timedOut: false, output: 'done' });
    expect(readFileSync(out, 'utf8')).toBe('{"type":"oom"}\n');
  });

  it('kills a hook that hangs, and the children it left, at its timeout', async () => {
    const pidFile = join(dir, 'child');
    const hook = script('hang', `sleep 600 & echo $! > ${pidFile}; sleep 600`);
    const t0 = performance.now();
    const r = await new ProcessHookRunner().run(hook, '{}', 300);
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(r.timedOut).toBe(true);
    const child = Number(readFileSync(pidFile, 'utf8'));
    await until(() => {
      try {
        process.kill(child, 0);
        return false;
      } catch {
        return true;
      }
    }, 'the hook child killed');
  });

  it('stopAll kills a hook under way', async () => {
    const runner = new ProcessHookRunner();
    const run = runner.run(script('hang2', 'sleep 600'), '{}', 60_000);
    await new Promise((r) => setTimeout(r, 100));
    runner.stopAll();
    expect(await run).toMatchObject({ signal: 'SIGKILL', timedOut: false });
  });

  it('a hook that cannot start says why', async () => {
    const r = await new ProcessHookRunner().run(join(dir, 'nope'), '{}', 1000);
    expect(r.exitCode).toBeNull();
    expect(r.error).toMatch(/ENOENT/);
  });
});
