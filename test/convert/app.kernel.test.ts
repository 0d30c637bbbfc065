import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { create as createTar } from 'tar';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { instanceFlags, POCKER_BIN, pocker } from '../helpers/cli.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeNetwork, TestNetwork } from '../helpers/network.js';
import { writeLayout } from '../image/oci.js';

/** A compose app as projects write it: a job filling a named volume, a server with a healthcheck, a client waiting on both. */
const COMPOSE = `name: tiny
x-base: &base
  image: local/busybox:1
  pull_policy: never
services:
  init:
    <<: *base
    command: ["sh", "-c", "echo hello-from-volume > /www/index.html"]
    volumes: [www:/www]
  web:
    <<: *base
    command: httpd -f -p 8080 -h /www
    volumes:
      - type: volume
        source: www
        target: /www
        read_only: true
    healthcheck:
      test: ["CMD-SHELL", "timeout 2 wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1"]
      interval: 1s
      retries: 5
  client:
    <<: *base
    command: ["sh", "-c", "timeout 5 wget -q -O - http://web:8080/; exec sleep 3600"]
    depends_on:
      init: {condition: service_completed_successfully}
      web: {condition: service_healthy}
    restart: unless-stopped
volumes:
  www: {}
networks:
  default:
    name: \${NET}
`;

describeNetwork('a converted compose app runs', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  let net: TestNetwork;
  beforeEach(() => {
    inst = current();
    net = new TestNetwork(inst);
  });
  afterEach(async () => {
    const { failed, left } = await net.tearDown();
    expect(failed).toEqual([]);
    expect(left).toEqual([]);
  });

  it('converts a compose file, and one --wait pass runs it: the job fills the volume, the client reaches web by name once it is healthy', async () => {
    const tarFile = join(inst.root, 'busybox.tar');
    createTar({ cwd: inst.layer, sync: true, file: tarFile, portable: true }, ['.']);
    writeLayout(join(inst.root, 'oci'), [{ tar: readFileSync(tarFile), gzip: true }], {
      'org.opencontainers.image.ref.name': 'local/busybox:1',
    });
    const imported = pocker(inst, 'image', ['import', join(inst.root, 'oci')]);
    expect(imported.status, imported.stderr).toBe(0);
    const compose = join(inst.root, 'compose.yaml');
    writeFileSync(compose, COMPOSE);
    const conv = spawnSync(process.execPath, [POCKER_BIN, 'convert', compose, '-o', inst.specDir, '--force'], {
      encoding: 'utf8',
      env: { ...process.env, NET: net.name },
      timeout: 30_000,
    });
    expect(conv.status, conv.stderr).toBe(0);
    expect(conv.stderr).toMatch(/converted 3 service\(s\) of project tiny/);
    const once = spawnSync(
      process.execPath,
      [POCKER_BIN, 'reconcile', '--once', '--wait=60s', ...instanceFlags(inst), '--cni-conf-dir', net.opts.confDir],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(once.status, `${once.stdout}${once.stderr}`).toBe(0);
    await inst.waitForLog('client', /hello-from-volume/);
    const ps = JSON.parse(pocker(inst, 'ps', ['-o', 'json']).stdout) as Array<{ name: string; state: string }>;
    expect(Object.fromEntries(ps.map((e) => [e.name, e.state]))).toEqual({
      init: 'completed',
      web: 'running (healthy)',
      client: 'running',
    });
    const vols = JSON.parse(pocker(inst, 'volume', ['ls', '-o', 'json']).stdout) as Array<{ name: string; usedBy: string[] }>;
    expect(vols.map((v) => [v.name, v.usedBy.sort()])).toEqual([['tiny_www', ['init', 'web']]]);
  }, 180_000);
});
