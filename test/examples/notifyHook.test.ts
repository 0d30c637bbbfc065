import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../../reconciler/native.js';

const HOOK = join(packageRoot(), 'examples', 'hooks', 'notify-command');

describe('the example notify hook (examples/hooks/notify-command)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pocker-notify-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const run = (event: unknown, commandLines: string[]): ReturnType<typeof spawnSync> => {
    const file = join(dir, 'notify-command');
    writeFileSync(file, `${commandLines.join('\n')}\n`);
    return spawnSync(HOOK, [], {
      input: JSON.stringify(event),
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, POCKER_NOTIFY_COMMAND_FILE: file },
    });
  };

  it('hands the command a subject and a body, mail-style (body on stdin) or desktop-style (both as arguments)', () => {
    const recorder = join(dir, 'recorder');
    const got = join(dir, 'got');
    writeFileSync(recorder, `#!/bin/sh\nfor a in "$@"; do printf '%s\\n--\\n' "$a"; done > ${got}\ncat >> ${got}\n`);
    chmodSync(recorder, 0o755);
    const event = { time: '2026-12-01T10:00:00.000Z', type: 'oom', name: 'web', source: '/etc/pocker.d', oomKillCount: 1 };
    const r = run(event, ['# a mailer', recorder, '-s', '{subject}', 'root']);
    expect(r.status, String(r.stderr)).toBe(0);
    const text = readFileSync(got, 'utf8');
    expect(text).toMatch(/^-s\n--\npocker: web was killed for memory \(OOM\)\n--\nroot\n--\n/);
    expect(text).toMatch(/time: {3}2026-12-01T10:00:00.000Z\nevent: {2}oom\nspec: {3}\/etc\/pocker.d\n$/);
    const desktop = run({ ...event, type: 'apply-failed', action: 'create', error: 'no such image' }, [recorder, '{subject}', '{body}']);
    expect(desktop.status).toBe(0);
    expect(readFileSync(got, 'utf8')).toMatch(/^pocker: web could not be created\n--\n.*error: no such image/s);
  });

  it('fails (so the controller logs it) when the command fails or is not configured', () => {
    expect(run({ type: 'oom', name: 'x', time: 't' }, ['false']).status).toBe(1);
    const none = run({ type: 'oom', name: 'x', time: 't' }, ['# nothing']);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/names no command/);
    expect(run('not json', ['true']).status).toBe(2);
  });
});
