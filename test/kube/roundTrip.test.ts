import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exportKube } from '../../reconciler/kube/export.js';
import { renderObjects } from '../../reconciler/kube/render.js';
import type { ExportOptions } from '../../reconciler/kube/types.js';
import { crossFileProblems } from '../../reconciler/spec/crossChecks.js';
import { parseSpecFile } from '../../reconciler/spec/parse.js';
import { formatSpecError, type DesiredContainer } from '../../reconciler/spec/types.js';
import { yaml } from '../../reconciler/spec/yamlLocate.js';
import { plan, specLimits } from '../../reconciler/plan/plan.js';
import { kubeSchemaErrors } from '../helpers/kube.js';
import { PLAN_FACTS, planInput, recordOf, running } from '../helpers/specs.js';

const DIR = '/specs';
/** A host where the throttled device of the generated specs exists. */
const FACTS = { ...PLAN_FACTS, blockDevices: { '/dev/vdb': { dev: '254:16' } } };
const NAMES = ['web', 'db', 'api', 'migrate', 'seed'];
/** How many exports had init containers, Services and NetworkPolicies, and containers icmp rules (the generator must reach them). */
const STATS = { inits: 0, services: 0, policies: 0, icmp: 0, sameRules: 0 };
const DIGEST = `sha256:${'ab'.repeat(32)}`;

/** Strings that are awkward for YAML 1.1, Kubernetes' $(VAR) expansion or shells. */
const word = fc.constantFrom(
  'a',
  'hello world',
  '$(HOME)',
  '$$',
  '$',
  'a$b',
  '$(',
  '$(UNSET)',
  '$($$)',
  '$(HOME$$)',
  'yes',
  'on',
  '0755',
  '1e3',
  '~',
  'x: y',
  'multi\nline',
  '',
  '"q"',
  "it's",
);
const duration = fc.constantFrom('1s', '2s', '1500ms', '500ms', '30s', '1m', '0s');
/** `a` in `present` of ten cases, else undefined (left out). */
const maybe = <T>(a: fc.Arbitrary<T>, present = 3): fc.Arbitrary<T | undefined> =>
  fc.oneof({ arbitrary: a, weight: present }, { arbitrary: fc.constant(undefined), weight: 10 - present });

/** A firewall rule: a peer (another generated container, by index, or a canonical CIDR), ports, a protocol. */
const rule = fc.record(
  {
    peer: fc.oneof(fc.nat(4), fc.constantFrom('10.0.0.0/8', '192.0.2.1/32', '0.0.0.0/0', '172.16.5.0/24')),
    ports: maybe(fc.array(fc.constantFrom<number | string>(80, 443, 53, '8000-8100', '1-65535'), { minLength: 1, maxLength: 3 }), 6),
    protocol: maybe(fc.constantFrom('tcp', 'udp', 'udp', 'icmp'), 5),
  },
  { requiredKeys: ['peer'] },
);
const rules = maybe(fc.array(rule, { minLength: 1, maxLength: 3 }), 4);

/** One spec document in the schema's names (fields left out when undefined). */
const spec = fc.record(
  {
    hostname: maybe(fc.constantFrom('web', 'host.local', 'Upper', 'h1')),
    image: fc.constantFrom<unknown>(
      'nginx:1.27',
      'ghcr.io/o/app:2',
      `registry.lan:5000/x/y@${DIGEST}`,
      { layers: ['/var/lib/pocker/layers/busybox'] },
      { ref: 'busybox:1.36' },
    ),
    pull: maybe(fc.constantFrom('never', 'missing'), 2),
    command: maybe(fc.array(word, { minLength: 1, maxLength: 3 })),
    args: maybe(fc.array(word, { maxLength: 3 })),
    env: maybe(fc.dictionary(fc.constantFrom('HOME', 'A', 'B_1', 'KUBERNETES_X'), word, { maxKeys: 3 })),
    workingDir: maybe(fc.constantFrom('/', '/srv', '/a b')),
    user: maybe(fc.constantFrom('1000', '1000:1000', 'www-data', 'app:staff', '0')),
    resources: maybe(
      fc.record(
        {
          cpus: fc.constantFrom(0.01, 0.5, 1, 1.234, 2),
          memory: fc.constantFrom('4Mi', '64Mi', 67108865, '1Gi', '100M'),
          pids: fc.integer({ min: 1, max: 5000 }),
          cpuset: fc.constantFrom('0', '0-1,3'),
          cpuShares: fc.constantFrom(2, 512, 262144),
          io: fc.constant([{ device: '/dev/vdb', readBps: '10Mi', writeIops: 50 }]),
        },
        { requiredKeys: [] },
      ),
    ),
    memsw: maybe(fc.constantFrom('unlimited', '2Gi')),
    network: maybe(
      fc.oneof(
        { arbitrary: fc.constant({ mode: 'host' }), weight: 2 },
        { arbitrary: fc.constant({ mode: 'none' }), weight: 1 },
        {
          weight: 6,
          arbitrary: fc.record(
            {
              mode: fc.constant('bridge'),
              name: maybe(fc.constantFrom('front', 'back')),
              aliases: maybe(fc.constantFrom(['www'], ['a1', 'b2'])),
              ports: maybe(
                fc.array(
                  fc.record(
                    {
                      host: fc.constantFrom(8080, 30080, 8443, 53),
                      container: fc.constantFrom(80, 443, 53),
                      protocol: fc.constantFrom('tcp', 'udp'),
                      hostIP: fc.constant('127.0.0.1'),
                    },
                    { requiredKeys: ['host', 'container'] },
                  ),
                  { minLength: 1, maxLength: 2 },
                ),
                6,
              ),
              ingress: rules,
              egress: rules,
            },
            { requiredKeys: ['mode'] },
          ),
        },
      ),
      7,
    ),
    mounts: maybe(fc.constant([{ source: '/srv/data', target: '/data', readOnly: true }])),
    volumes: maybe(fc.constantFrom([{ name: 'data', target: '/var/lib/data' }], [{ name: 'My_Vol.1', target: '/v', readOnly: true }])),
    tmpfs: maybe(
      fc.constantFrom(
        [{ target: '/tmp' }],
        [{ target: '/scratch', size: '16Mi', mode: '0700' }],
        [{ target: '/run', size: 65536 }],
        [{ target: '/t', size: '64Mi' }],
      ),
    ),
    files: maybe(
      fc.array(
        fc.record(
          {
            target: fc.constantFrom('/etc/app/a.conf', '/etc/app/b.conf', '/etc/other/a.conf'),
            content: word,
            source: fc.constant('site.conf'),
            mode: fc.constantFrom('0640', '0644', '0400'),
            uid: fc.constant(33),
            gid: fc.constant(33),
            onChange: fc.constantFrom('none', 'signal:HUP', 'restart'),
          },
          { requiredKeys: ['target'] },
        ),
        { maxLength: 2 },
      ),
    ),
    secrets: maybe(
      fc.array(
        fc.record(
          {
            name: fc.constantFrom('dbpass', 'API_key.v1'),
            target: fc.constantFrom('/run/secrets/x', '/etc/key'),
            mode: fc.constantFrom('0440', '0400', '0600'),
            uid: fc.constant(1000),
            onChange: fc.constantFrom('none', 'signal:USR1'),
          },
          { requiredKeys: ['name'] },
        ),
        { maxLength: 2 },
      ),
    ),
    restart: maybe(fc.constantFrom('always', 'on-failure', 'on-failure', 'never'), 6),
    state: maybe(fc.constantFrom('paused', 'stopped', 'running'), 1),
    stopGracePeriod: maybe(fc.constantFrom('2s', '2500ms', '10s', '0s', '1m')),
    stopSignal: maybe(fc.constantFrom('SIGQUIT', 'INT', 'SIGTERM')),
    restartBackoff: maybe(fc.record({ initial: duration, max: fc.constant('5m'), resetAfter: duration }, { requiredKeys: [] })),
    healthcheck: maybe(
      fc.record(
        {
          check: fc.constantFrom<unknown>(
            { exec: ['sh', '-c', 'test -e $(HOME)/ok'] },
            { http: { port: 8080, path: '/healthz', expectStatus: 200 } },
            { http: { port: 80 } },
            { tcp: { port: 5432 } },
          ),
          interval: maybe(duration),
          timeout: maybe(fc.constantFrom('1s', '2s', '5s', '250ms')),
          retries: maybe(fc.integer({ min: 1, max: 10 })),
          startPeriod: maybe(duration),
          onUnhealthy: maybe(fc.constantFrom('none', 'restart')),
        },
        { requiredKeys: ['check'] },
      ),
    ),
    privileged: maybe(fc.boolean(), 2),
    capabilities: maybe(fc.record({ add: fc.constant(['NET_ADMIN']), drop: fc.constant(['MKNOD']) }, { requiredKeys: [] })),
    readOnlyRootfs: maybe(fc.boolean()),
    tty: maybe(fc.boolean(), 2),
    deps: fc.array(
      fc.record({ to: fc.nat(4), condition: fc.constantFrom('started', 'healthy', 'completed', 'completed'), restartWith: fc.boolean() }),
      {
        maxLength: 2,
      },
    ),
  },
  { requiredKeys: ['image', 'deps'] },
);

type Gen = Record<string, unknown> & { deps: Array<{ to: number; condition: string; restartWith: boolean }> };

/** The generated specs as spec documents: names, dependencies only on earlier containers (no cycles), valid combinations. */
function documents(gens: Gen[]): Array<Record<string, unknown>> {
  return gens.map((g, i) => {
    const { deps, memsw, ...rest } = g as Gen & { memsw?: unknown };
    const doc: Record<string, unknown> = { apiVersion: 'pocker/v1', name: NAMES[i], ...rest };
    for (const k of Object.keys(doc)) if (doc[k] === undefined) delete doc[k];
    if (typeof doc.image !== 'string') delete doc.pull;
    if (typeof doc.image === 'object' && (doc.image as { layers?: unknown }).layers && !doc.command) doc.command = ['sleep', '1'];
    const res = doc.resources as Record<string, unknown> | undefined;
    if (res && memsw !== undefined && res.memory !== undefined) res.memsw = memsw;
    if (doc.healthcheck) {
      const { check: c, ...h } = doc.healthcheck as { check: Record<string, unknown> };
      doc.healthcheck = Object.fromEntries(Object.entries({ ...c, ...h }).filter(([, v]) => v !== undefined));
    }
    const net = doc.network as Record<string, unknown> | undefined;
    if (net) for (const k of Object.keys(net)) if (net[k] === undefined) delete net[k];
    for (const dir of ['ingress', 'egress'] as const) {
      const list = net?.[dir] as Array<{ peer: number | string; ports?: unknown[]; protocol?: string }> | undefined;
      if (!list) continue;
      const others = NAMES.slice(0, gens.length).filter((n) => n !== NAMES[i]);
      net![dir] = list.map((r) => {
        const peer = typeof r.peer === 'string' ? r.peer : (others[r.peer % Math.max(others.length, 1)] ?? '192.0.2.1/32');
        return {
          [dir === 'ingress' ? 'from' : 'to']: peer,
          ...(r.ports && r.protocol !== 'icmp' && { ports: r.ports }),
          ...(r.protocol !== undefined && { protocol: r.protocol }),
        };
      });
    }
    if (net?.ports) {
      const seen = new Set<string>();
      net.ports = (net.ports as Array<{ host: number; protocol?: string }>).filter((p) => {
        const key = `${p.protocol ?? 'tcp'}/${p.host}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
    }
    for (const f of ['files', 'secrets'] as const) {
      const list = doc[f] as Array<Record<string, unknown>> | undefined;
      if (!list) continue;
      const targets = new Set<string>();
      doc[f] = list
        .map((e) => {
          const out = Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined));
          if (f === 'files') {
            if (out.content !== undefined && out.source !== undefined) delete out.source;
            if (out.content === undefined && out.source === undefined) out.content = '';
          }
          return out;
        })
        .filter((e) => {
          const t = String(e.target ?? `/run/secrets/${String(e.name)}`);
          if (targets.has(t)) return false;
          targets.add(t);
          return true;
        });
    }
    const dependsOn = deps
      .filter((d) => d.to < i)
      .map((d) => ({ name: NAMES[d.to]!, condition: d.condition, ...(d.restartWith && { restartWith: true }) }))
      .filter((d, k, all) => all.findIndex((x) => x.name === d.name) === k);
    if (dependsOn.length) doc.dependsOn = dependsOn;
    return doc;
  });
}

const options = fc.record({
  kind: fc.constantFrom<ExportOptions['kind']>('Pod', 'Deployment'),
  publish: fc.constantFrom<ExportOptions['publish']>('service', 'hostport'),
  serviceType: fc.constantFrom<ExportOptions['serviceType']>('ClusterIP', 'NodePort'),
  pinned: fc.boolean(),
});

/** The specs of a generated dir that pocker validate accepts as a dir, or null. */
function validDir(docs: Array<Record<string, unknown>>): DesiredContainer[] | null {
  const perFile = new Map<string, DesiredContainer[]>();
  for (const d of docs) {
    const file = `${String(d.name)}.yaml`;
    const r = parseSpecFile(yaml().stringify(d), `${DIR}/${file}`, { dir: DIR, file });
    if (r.errors.length) return null;
    perFile.set(file, r.specs);
  }
  if (crossFileProblems(perFile, (f) => `${DIR}/${f}`).errors.length) return null;
  return [...perFile.values()].flat();
}

describe('export kube, then read back', () => {
  it('gives valid Kubernetes objects that pocker reads back to the same specs (same hash, plan: none) wherever no finding says otherwise', () => {
    let runs = 0;
    let same = 0;
    let containers = 0;
    let sameContainers = 0;
    fc.assert(
      fc.property(fc.array(spec, { minLength: 1, maxLength: 5 }), options, (gens, o) => {
        const desired = validDir(documents(gens as Gen[]));
        fc.pre(desired !== null);
        runs++;
        const opts: ExportOptions = {
          kind: o.kind,
          publish: o.publish,
          serviceType: o.publish === 'service' ? o.serviceType : 'ClusterIP',
          secretsDir: '/etc/pocker/secrets',
          readSource: (_d, source) => ({ text: `contents of ${source}\n` }),
          ...(o.pinned && { pin: () => DIGEST }),
        };
        const result = exportKube(desired!, null, opts);
        for (const obj of result.objects) expect(kubeSchemaErrors(obj.object)).toEqual([]);
        const text = renderObjects(result.objects, 'round trip');
        if (text.includes('initContainers')) STATS.inits++;
        if (text.includes('kind: Service')) STATS.services++;
        if (text.includes('kind: NetworkPolicy')) STATS.policies++;
        for (const d of desired!) {
          const n = d.user.network;
          const icmp = (['ingress', 'egress'] as const).flatMap((dir) =>
            (n?.[dir] ?? []).flatMap((r, i) => (r.protocol === 'icmp' ? [`network.${dir}[${i}]`] : [])),
          );
          if (icmp.length) STATS.icmp++;
          const lost = result.warnings.filter((w) => w.container === d.spec.name && /icmp: a NetworkPolicy has no ICMP/.test(w.message));
          const asInit = result.objects.every((o) => o.object.metadata?.name !== d.spec.name);
          if (!asInit) expect(lost.map((w) => `${w.field} ${w.readBack}`)).toEqual(icmp.map((f) => `${f} differs`));
        }
        const back = parseSpecFile(text, `${DIR}/kube.yaml`, { dir: DIR, file: 'kube.yaml' });
        expect(back.errors.map(formatSpecError), text).toEqual([]);
        expect(crossFileProblems(new Map([['kube.yaml', back.specs]]), (f) => `${DIR}/${f}`).errors.map(formatSpecError)).toEqual([]);
        expect(back.specs.map((s) => s.spec.name).sort()).toEqual(desired!.map((d) => d.spec.name).sort());
        const differs = new Set([...result.warnings, ...result.notes].filter((f) => f.readBack === 'differs').map((f) => f.container));
        let all = true;
        const kept: DesiredContainer[] = [];
        for (const d of desired!) {
          containers++;
          const again = back.specs.find((s) => s.spec.name === d.spec.name)!;
          if (differs.has(d.spec.name)) {
            all = false;
            continue;
          }
          expect(again.user, `${d.spec.name}\n${text}`).toEqual(d.user);
          expect(again.hash).toBe(d.hash);
          if (d.user.network?.ingress || d.user.network?.egress) STATS.sameRules++;
          kept.push({ ...again, source: d.source });
          sameContainers++;
        }
        const was = desired!.filter((d) => kept.some((k) => k.spec.name === d.spec.name));
        const actual = was.map((d) =>
          d.spec.state === 'stopped'
            ? running(d, specLimits(d, FACTS), { initAlive: false, monitorAlive: false, record: recordOf(d, { stoppedAtMs: 1 }) })
            : running(d, specLimits(d, FACTS)),
        );
        const p = plan(planInput(kept, actual, { facts: FACTS }));
        expect(
          p.actions.map((a) => [a.name, a.kind]),
          JSON.stringify(p.actions.map((a) => a.reason)),
        ).toEqual(kept.map((k) => [k.spec.name, 'none']).sort());
        if (all) same++;
      }),
      { seed: 20250611, numRuns: 400 },
    );
    expect(runs).toBeGreaterThan(300);
    expect(containers).toBeGreaterThan(600);
    expect(same / runs).toBeGreaterThan(0.3);
    expect(sameContainers / containers).toBeGreaterThan(0.6);
    expect(STATS.inits).toBeGreaterThan(10);
    expect(STATS.services).toBeGreaterThan(30);
    expect(STATS.policies).toBeGreaterThan(100);
    expect(STATS.icmp).toBeGreaterThan(20);
    expect(STATS.sameRules).toBeGreaterThan(60);
  });
});
