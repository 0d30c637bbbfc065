import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchingOptions } from '../../reconciler/cli/watchingOptions.js';
import { loadInstanceConfig } from '../../reconciler/instance/config.js';

const noConfig = loadInstanceConfig('/nonexistent/pocker.yaml', false);
const asRoot = process.getuid?.() === 0;

describe('the watching controller flags', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pocker-flags-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a metrics address other hosts reach needs --metrics-allow-remote', () => {
    expect(() => watchingOptions({ 'metrics-addr': '0.0.0.0:9464' }, noConfig)).toThrow(
      /reachable from other hosts.*--metrics-allow-remote/,
    );
    expect(watchingOptions({ 'metrics-addr': '0.0.0.0:9464', 'metrics-allow-remote': true }, noConfig).metricsAddress).toMatchObject({
      loopback: false,
    });
    expect(watchingOptions({ 'metrics-addr': '127.0.0.1:9464' }, noConfig).metricsAddress).toMatchObject({ port: 9464 });
    expect(() => watchingOptions({ 'metrics-allow-remote': true }, noConfig)).toThrow(/needs --metrics-addr/);
    expect(watchingOptions({}, noConfig)).toEqual({});
  });

  it('the instance config names them too; flags win', () => {
    const path = join(dir, 'pocker.yaml');
    writeFileSync(path, 'metrics:\n  address: 127.0.0.1:9500\nevents:\n  maxSize: 1Mi\n  maxFiles: 5\n');
    const config = loadInstanceConfig(path, true);
    expect(config.events).toEqual({ maxBytes: 2 ** 20, maxFiles: 5 });
    expect(watchingOptions({}, config).metricsAddress).toMatchObject({ port: 9500 });
    expect(watchingOptions({ 'metrics-addr': '127.0.0.1:9600' }, config).metricsAddress).toMatchObject({ port: 9600 });
    writeFileSync(path, 'notify:\n  exec: /x\n  on: [oom, boom]\n');
    expect(() => loadInstanceConfig(path, true)).toThrow(/pocker\.yaml:3/);
  });

  it.runIf(asRoot)('a hook must be an executable regular file of root that nobody else can write', () => {
    const hook = join(dir, 'hook');
    writeFileSync(hook, '#!/bin/sh\n');
    chmodSync(hook, 0o644);
    expect(() => watchingOptions({ 'notify-exec': hook }, noConfig)).toThrow(/not executable/);
    chmodSync(hook, 0o775);
    expect(() => watchingOptions({ 'notify-exec': hook }, noConfig)).toThrow(/writable by group or others \(mode 775\)/);
    chmodSync(hook, 0o755);
    chownSync(hook, 1000, 1000);
    expect(() => watchingOptions({ 'notify-exec': hook }, noConfig)).toThrow(/owned by uid 1000/);
    chownSync(hook, 0, 0);
    expect(watchingOptions({ 'notify-exec': hook, 'notify-on': 'oom,exit', 'notify-timeout': '2s' }, noConfig).notify).toEqual({
      exec: hook,
      on: ['oom', 'exit'],
      timeoutMs: 2000,
      queueLimit: 100,
    });
    expect(() => watchingOptions({ 'notify-exec': hook, 'notify-on': 'boom' }, noConfig)).toThrow(/unknown event type "boom"/);
    expect(() => watchingOptions({ 'notify-exec': 'relative' }, noConfig)).toThrow(/absolute path/);
    expect(() => watchingOptions({ 'notify-on': 'oom' }, noConfig)).toThrow(/need --notify-exec/);
  });
});
