import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { pocker } from '../helpers/cli.js';
import { appsLayer, LAYER_BUILD_TIMEOUT_MS } from '../helpers/debianLayer.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeNetwork, TestNetwork } from '../helpers/network.js';

/** An nginx config: the main context a container needs (in the foreground, logging to stderr) around an http block. */
function nginxConf(http: string): string {
  return `daemon off;\npid /run/nginx.pid;\nerror_log stderr notice;\nworker_processes 1;\nevents {}\nhttp {\n  access_log off;\n${http}\n}\n`;
}

const APP_CONF = nginxConf('  server { listen 8080; location / { return 200 "hello from app\\n"; } }');
const PROXY_V1 = nginxConf('  server { listen 80; location / { proxy_pass http://app:8080; } }');
const PROXY_V2 = nginxConf(
  '  server { listen 80; location /v2 { return 200 "v2 from proxy\\n"; } location / { proxy_pass http://app:8080; } }',
);

/** `curl 127.0.0.1:PORT/PATH` (2 s at most): the body, or the error. */
function curl(port: number, path = '/'): string {
  const r = spawnSync('curl', ['-sS', '--max-time', '2', `http://127.0.0.1:${port}${path}`], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 ? r.stdout : `curl: ${r.stderr.trim() || `exit ${r.status}`}`;
}

describeNetwork('nginx configured by files: proxies to an app by name, reloads in place on SIGHUP', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  let net: TestNetwork;
  let layer: string;
  beforeAll(async () => {
    layer = await appsLayer();
  }, LAYER_BUILD_TIMEOUT_MS);
  beforeEach(() => {
    inst = current();
    net = new TestNetwork(inst);
  });
  afterEach(async () => {
    const { failed, left } = await net.tearDown();
    expect(failed).toEqual([]);
    expect(left).toEqual([]);
  });

  it('curl 127.0.0.1:PORT answers through proxy -> app; a changed config applies with signal:HUP, same pid, new behaviour', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const nginx = (name: string, extra: Record<string, unknown>) => ({
      name,
      image: { layers: [layer] },
      command: ['nginx'],
      stopGracePeriod: '2s',
      ...extra,
    });
    inst.writeSpec(
      'app.yaml',
      nginx('app', { network: net.spec(), files: [{ target: '/etc/nginx/nginx.conf', content: APP_CONF, onChange: 'signal:HUP' }] }),
    );
    writeFileSync(join(inst.specDir, 'proxy.conf'), PROXY_V1);
    inst.writeSpec(
      'proxy.yaml',
      nginx('proxy', {
        network: net.spec([{ host: port, container: 80 }]),
        files: [{ target: '/etc/nginx/nginx.conf', source: 'proxy.conf', onChange: 'signal:HUP' }],
        dependsOn: [{ name: 'app' }],
      }),
    );
    const first = await inst.reconcile({ network: net.opts });
    expect(first.ok, JSON.stringify(first.results)).toBe(true);
    await expect.poll(() => curl(port), { timeout: 10_000, interval: 100 }).toBe('hello from app\n');
    expect(curl(port, '/v2')).toBe('hello from app\n');

    const init = inst.pid('proxy');
    const master = pocker(inst, 'exec', ['proxy', '--', 'cat', '/run/nginx.pid']).stdout;
    expect(master).toMatch(/^\d+\n$/);
    writeFileSync(join(inst.specDir, 'proxy.conf'), PROXY_V2);
    const edited = await inst.reconcile({ network: net.opts });
    expect(edited.results.map((x) => [x.name, x.kind, x.ok])).toEqual([['proxy', 'update', true]]);
    expect(edited.results[0]!.reason).toMatch(/\/etc\/nginx\/nginx.conf \(onChange: signal:SIGHUP\); rewritten in place, then SIGHUP/);
    await expect.poll(() => curl(port, '/v2'), { timeout: 10_000, interval: 100 }).toBe('v2 from proxy\n');
    expect(curl(port)).toBe('hello from app\n');
    expect(inst.pid('proxy')).toBe(init);
    expect(pocker(inst, 'exec', ['proxy', '--', 'cat', '/run/nginx.pid']).stdout).toBe(master);
    expect(inst.log('proxy')).toMatch(/signal 1 \(SIGHUP\) received/);
    expect((await inst.reconcile({ network: net.opts })).results).toEqual([]);
  });
});
