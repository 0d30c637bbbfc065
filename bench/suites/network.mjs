// Network: create + remove of one container on a CNI bridge (network.mode bridge, the plugins of
// Debian's containernetworking-plugins) vs the same container with network.mode none, each as two
// `pocker reconcile --once` passes (spec added, spec removed). The difference is the CNI overhead.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PockerInstance } from '../lib/pocker.mjs';
import { median, p99, round, timeSync } from '../lib/stats.mjs';

export async function networkSuite(env, { tries }) {
  const p = new PockerInstance(env, 'network');
  const confDir = join(p.base, 'cni');
  const name = `pb-${env.id}`;
  const bridge = `pb${env.id}`.slice(0, 15);
  mkdirSync(confDir, { recursive: true });
  writeFileSync(
    join(confDir, `${name}.conflist`),
    JSON.stringify({
      cniVersion: '1.0.0',
      name,
      plugins: [
        {
          type: 'bridge',
          bridge,
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: '10.251.77.0/24' }]], dataDir: join(p.base, 'ipam') },
        },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ],
    }),
  );
  const ipForward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  const times = { bridge: { create: [], remove: [] }, none: { create: [], remove: [] } };
  const write = (mode) =>
    writeFileSync(
      join(p.specDir, 'n.yaml'),
      JSON.stringify({ ...p.spec('n'), network: mode === 'bridge' ? { mode, name, ports: [{ host: 31555, container: 80 }] } : { mode } }),
    );
  try {
    for (let i = 0; i < tries; i++) {
      for (const mode of ['bridge', 'none']) {
        write(mode);
        times[mode].create.push(timeSync(() => p.cli(['reconcile', '--once', '--cni-conf-dir', confDir])));
        p.removeSpec('n');
        times[mode].remove.push(timeSync(() => p.cli(['reconcile', '--once', '--allow-empty', '--cni-conf-dir', confDir])));
      }
    }
  } finally {
    p.cli(['down'], { check: false });
    const rm = spawnSync(env.pockerBin, ['network', 'rm', name, '--cni-conf-dir', confDir, '--state-dir', p.stateDir], {
      encoding: 'utf8',
    });
    if (rm.status !== 0) console.error(`bench: pocker network rm ${name}: ${rm.stderr}`);
    await p.close();
    writeFileSync('/proc/sys/net/ipv4/ip_forward', ipForward);
  }
  const row = (mode) => [
    mode,
    round(median(times[mode].create)),
    round(p99(times[mode].create)),
    round(median(times[mode].remove)),
    round(p99(times[mode].remove)),
  ];
  const overhead = round(median(times.bridge.create) + median(times.bridge.remove) - median(times.none.create) - median(times.none.remove));
  return {
    name: 'network',
    title: `Create + remove one container, network.mode bridge (CNI bridge + host-local + portmap, one published port) vs none (${tries} tries, each a \`reconcile --once\`)`,
    header: ['mode', 'create median (ms)', 'create p99 (ms)', 'remove median (ms)', 'remove p99 (ms)'],
    table: [row('bridge'), row('none')],
    notes: [`CNI overhead per container (create + remove, medians): ${overhead} ms`],
    targets: [],
    rows: times,
  };
}
