import { describe, expect, it } from 'vitest';
import { exportKube } from '../../reconciler/kube/export.js';
import { renderObjects } from '../../reconciler/kube/render.js';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IService } from 'kubernetes-models/v1/Service';
import type { ExportOptions, ExportResult, KubeManifest } from '../../reconciler/kube/types.js';
import { ExportError } from '../../reconciler/kube/types.js';
import { parseSpecFile } from '../../reconciler/spec/parse.js';
import { formatSpecError, type DesiredContainer } from '../../reconciler/spec/types.js';
import { documentedField, documentedWarningFields, kubeReadme, kubeSchemaErrors } from '../helpers/kube.js';

const DIR = '/specs';
const DIGEST = `sha256:${'cd'.repeat(32)}`;

/** The containers of spec files given as text, by file name. */
function specs(files: Record<string, string>): DesiredContainer[] {
  return Object.entries(files).flatMap(([file, text]) => {
    const r = parseSpecFile(text, `${DIR}/${file}`, { dir: DIR, file });
    expect(r.errors.map(formatSpecError)).toEqual([]);
    return r.specs;
  });
}

const OPTS: ExportOptions = {
  kind: 'Pod',
  publish: 'service',
  serviceType: 'ClusterIP',
  secretsDir: '/etc/pocker/secrets',
  readSource: (_d, source) => (source === 'web.conf' ? { text: 'level=1\n' } : { error: 'ENOENT' }),
};

/** Exports, checking every object against the Kubernetes OpenAPI schema. */
function exported(ds: DesiredContainer[], opts: Partial<ExportOptions> = {}, only: string[] | null = null): ExportResult {
  const r = exportKube(ds, only, { ...OPTS, ...opts });
  for (const o of r.objects) expect(kubeSchemaErrors(o.object)).toEqual([]);
  return r;
}

/** The exported objects by kind, as the upstream types name them. */
interface Kinds {
  Pod: IPod;
  Deployment: IDeployment;
  Job: IJob;
  ConfigMap: IConfigMap;
  Secret: ISecret;
  PersistentVolumeClaim: IPersistentVolumeClaim;
  Service: IService;
  NetworkPolicy: INetworkPolicy;
}

function find<K extends keyof Kinds>(r: ExportResult, kind: K, name: string): Kinds[K] {
  const o = r.objects.find((x) => x.object.kind === kind && x.object.metadata?.name === name);
  if (!o) throw new Error(`no ${kind} ${name}`);
  return o.object as Kinds[K];
}

const names = (list: Array<{ name: string }> | undefined): string[] => (list ?? []).map((c) => c.name);

const EVERY_FIELD = {
  'web.yaml': `apiVersion: pocker/v1
name: web
hostname: web.local
image: nginx:1.27
pull: never
command: [nginx]
args: [-g, "daemon off;", "$(HOME)", "$$x", "$(hostname)"]
env: {GREETING: hi, HOME: /root}
workingDir: /srv
user: www-data
resources:
  cpus: 0.5
  cpuset: "0"
  memory: 64Mi
  memsw: 96Mi
  pids: 64
  cpuShares: 512
  io: [{device: /dev/vdb, readBps: 10Mi, writeIops: 50}]
network:
  mode: bridge
  name: front
  aliases: [www]
  ports: [{host: 8080, container: 80}, {host: 8443, container: 443, protocol: tcp, hostIP: 127.0.0.1}]
mounts: [{source: /srv/web, target: /data, readOnly: true}]
volumes: [{name: Web_Data, target: /var/lib/web}]
tmpfs: [{target: /tmp, size: 16Mi, mode: "0700"}]
files:
  - {target: /etc/web/web.conf, source: web.conf, onChange: "signal:HUP"}
  - {target: /etc/web/motd, content: "hello\\n", mode: "0640", uid: 33, gid: 33}
secrets: [{name: dbpass, mode: "0440", gid: 33}]
restart: always
state: paused
stopGracePeriod: 2500ms
stopSignal: SIGQUIT
restartBackoff: {initial: 1s, max: 1m}
healthcheck: {http: {port: 80, path: /healthz, expectStatus: 200}, interval: 500ms, timeout: 2s, retries: 5, startPeriod: 30s}
dependsOn: [{name: db, condition: healthy}, {name: migrate, condition: completed}]
capabilities: {add: [NET_ADMIN], drop: [MKNOD]}
readOnlyRootfs: true
tty: true
`,
  'db.yaml': `name: db
image: {ref: "postgres:16"}
network: {mode: bridge, name: front}
healthcheck: {tcp: {port: 5432}, onUnhealthy: none}
volumes: [{name: Web_Data, target: /var/lib/postgresql}]
privileged: true
`,
  'migrate.yaml': `name: migrate
image: ghcr.io/example/app:2
command: [migrate]
restart: on-failure
network: {mode: bridge}
dependsOn: [{name: db, condition: healthy}]
secrets: [{name: dbpass}]
`,
  'report.yaml': `name: report
image:
  layers: [/var/lib/pocker/layers/busybox]
command: [report]
restart: never
user: "1000:1000"
network: {mode: host}
stopGracePeriod: 10s
`,
};

describe('pocker export kube', () => {
  it('a spec with every field: the objects, and exactly the documented warnings and notes', () => {
    const r = exported(specs(EVERY_FIELD));
    expect(r.objects.map((o) => `${o.object.kind}/${o.object.metadata!.name}`)).toEqual([
      'PersistentVolumeClaim/web-data',
      'ConfigMap/web-files',
      'Job/report',
      'Pod/db',
      'Pod/web',
      'Service/web',
    ]);
    const rows = (list: ExportResult['warnings']) => list.map((w) => `${w.container} ${w.field} ${w.readBack}`);
    expect(rows(r.warnings)).toEqual([
      'db image.ref same',
      'db volumes[0] same',
      'db network.name same',
      'db network same',
      'report image.layers same',
      'report hostname same',
      'report userns same',
      'migrate name same',
      'migrate dependsOn same',
      'web resources.pids same',
      'web resources.cpuset same',
      'web resources.memsw same',
      'web resources.io same',
      'web resources.cpuShares same',
      'web mounts[0] same',
      'web tmpfs[0].mode same',
      'web files[0].source same',
      'web files[0].onChange same',
      'web files[1].uid same',
      'web files same',
      'web secrets[0].uid same',
      'web healthcheck.http.expectStatus same',
      'web healthcheck same',
      'web user same',
      'web state same',
      'web stopSignal same',
      'web restartBackoff same',
      'web network.ports[1].hostIP same',
      'web network.ports same',
      'web hostname same',
      'web stopGracePeriod same',
      'web network.name same',
      'web network.aliases same',
      'web dependsOn same',
    ]);
    expect(rows(r.notes)).toEqual(['report stopGracePeriod differs', 'migrate secrets[0] same', 'web secrets[0] same']);
    const documented = documentedWarningFields();
    for (const w of r.warnings) expect(documented, w.field).toContain(documentedField(w.field));
    for (const n of r.notes) expect(kubeReadme(), n.field).toContain(`\`${documentedField(n.field)}`);
    expect(r.warnings.find((w) => w.container === 'web' && w.field === 'dependsOn')!.message).toBe(
      'db (healthy): Kubernetes orders no Pods: the container starts without waiting for it (the app must wait itself); pocker reads it back from pocker.io/depends-on',
    );
  });

  it('maps the container field by field', () => {
    const r = exported(specs(EVERY_FIELD), { pin: (n) => (n === 'web' ? DIGEST : undefined) });
    const pod = find(r, 'Pod', 'web');
    const spec = pod.spec!;
    const c = spec.containers[0]!;
    expect(c).toMatchObject({
      name: 'web',
      image: `docker.io/library/nginx:1.27@${DIGEST}`,
      imagePullPolicy: 'Never',
      command: ['nginx'],
      args: ['-g', 'daemon off;', '$$(HOME)', '$$$x', '$(hostname)'],
      env: [
        { name: 'GREETING', value: 'hi' },
        { name: 'HOME', value: '/root' },
      ],
      workingDir: '/srv',
      resources: { limits: { cpu: '500m', memory: '64Mi' }, requests: { cpu: '500m', memory: '64Mi' } },
      livenessProbe: { httpGet: { path: '/healthz', port: 80 }, periodSeconds: 1, timeoutSeconds: 2, failureThreshold: 5 },
      startupProbe: { httpGet: { path: '/healthz', port: 80 }, periodSeconds: 1, failureThreshold: 30, timeoutSeconds: 2 },
      securityContext: {
        capabilities: { add: ['NET_ADMIN'], drop: ['MKNOD'] },
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      tty: true,
      stdin: true,
      ports: [{ containerPort: 80 }, { containerPort: 443, protocol: 'TCP' }],
    });
    expect(c.volumeMounts).toEqual([
      { name: 'host-web', mountPath: '/data', readOnly: true },
      { name: 'vol-web-data', mountPath: '/var/lib/web' },
      { name: 'tmp-tmp', mountPath: '/tmp' },
      { name: 'files-web', mountPath: '/etc/web/web.conf', subPath: 'web.conf', readOnly: true },
      { name: 'files-web', mountPath: '/etc/web/motd', subPath: 'motd', readOnly: true },
      { name: 'secret-dbpass-2', mountPath: '/run/secrets/dbpass', subPath: 'dbpass', readOnly: true },
    ]);
    expect(spec).toMatchObject({
      terminationGracePeriodSeconds: 3,
      restartPolicy: 'Always',
      enableServiceLinks: false,
      automountServiceAccountToken: false,
    });
    expect(spec.hostname).toBeUndefined();
    expect(names(spec.initContainers)).toEqual(['migrate']);
    expect(spec.volumes).toEqual(
      expect.arrayContaining([
        { name: 'host-web', hostPath: { path: '/srv/web' } },
        { name: 'vol-web-data', persistentVolumeClaim: { claimName: 'web-data' } },
        { name: 'tmp-tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
        {
          name: 'files-web',
          configMap: {
            name: 'web-files',
            items: [
              { key: 'web.conf', path: 'web.conf' },
              { key: 'motd', path: 'motd', mode: 0o640 },
            ],
          },
        },
        { name: 'secret-dbpass-2', secret: { secretName: 'dbpass', items: [{ key: 'dbpass', path: 'dbpass', mode: 0o440 }] } },
      ]),
    );
    expect(pod.metadata!.labels).toEqual({ 'app.kubernetes.io/managed-by': 'pocker', 'app.kubernetes.io/name': 'web' });
    expect(pod.metadata!.annotations).toMatchObject({
      'pocker.io/source': '/specs/web.yaml',
      'pocker.io/image': 'docker.io/library/nginx:1.27',
      'pocker.io/pids': '64',
      'pocker.io/cpuset': '0',
      'pocker.io/memsw': '96Mi',
      'pocker.io/cpu-shares': '512',
      'pocker.io/state': 'paused',
      'pocker.io/stop-signal': 'SIGQUIT',
      'pocker.io/stop-grace-period': '2500ms',
      'pocker.io/hostname': 'web.local',
      'pocker.io/user': 'www-data',
      'pocker.io/healthcheck': '{"interval":"500ms","expectStatus":200}',
      'migrate.pocker.io/depends-on': '[{"name":"db","condition":"healthy"}]',
    });
    expect(find(r, 'ConfigMap', 'web-files').data).toEqual({ 'web.conf': 'level=1\n', motd: 'hello\n' });
    expect(find(r, 'PersistentVolumeClaim', 'web-data')).toMatchObject({
      metadata: { annotations: { 'pocker.io/volume': 'Web_Data' }, labels: { 'app.kubernetes.io/managed-by': 'pocker' } },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    expect(find(r, 'Service', 'web').spec).toEqual({
      type: 'ClusterIP',
      selector: { 'app.kubernetes.io/name': 'web' },
      ports: [
        { name: 'tcp-80', port: 80, targetPort: 80 },
        { name: 'tcp-443', port: 443, targetPort: 443, protocol: 'TCP' },
      ],
    });
    const db = find(r, 'Pod', 'db').spec!.containers[0]!;
    expect(db.image).toBeUndefined();
    expect(db.readinessProbe).toEqual({ tcpSocket: { port: 5432 }, timeoutSeconds: 5 });
    expect(db.securityContext).toEqual({ privileged: true });
    const job = find(r, 'Job', 'report');
    expect(job.spec).toMatchObject({ backoffLimit: 0, template: { spec: { restartPolicy: 'Never', hostNetwork: true } } });
    expect(job.spec!.template.spec!.containers[0]!.securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 1000 });
  });

  it('--kind Deployment: one replica, Recreate; on-failure stays a Pod, never a Job', () => {
    const ds = specs({
      'a.yaml': 'name: a\nimage: nginx\nrestart: always\n',
      'b.yaml': 'name: b\nimage: nginx\nrestart: on-failure\n',
      'c.yaml': 'name: c\nimage: nginx\nrestart: never\n',
      'd.yaml': 'name: d\nimage: nginx\n',
    });
    const r = exported(ds, { kind: 'Deployment' });
    expect(r.objects.map((o) => `${o.object.kind}/${o.object.metadata!.name}`)).toEqual(['Job/c', 'Pod/b', 'Deployment/a', 'Deployment/d']);
    expect(find(r, 'Deployment', 'a').spec).toMatchObject({
      replicas: 1,
      selector: { matchLabels: { 'app.kubernetes.io/name': 'a' } },
      strategy: { type: 'Recreate' },
      template: { metadata: { labels: { 'app.kubernetes.io/name': 'a' } }, spec: { restartPolicy: 'Always' } },
    });
    expect(find(r, 'Deployment', 'd').spec!.template.spec!.restartPolicy).toBeUndefined();
    expect(r.warnings.filter((w) => w.field === 'restart').map((w) => `${w.container}: ${w.message}`)).toEqual([
      "b: on-failure: a Deployment's Pods restart Always, so it is a Pod",
    ]);
  });

  it('a job others wait for to complete is an init container of each of their Pods, in order, and no object of its own', () => {
    const ds = specs({
      'fetch.yaml': 'name: fetch\nimage: busybox\nrestart: on-failure\n',
      'migrate.yaml': 'name: migrate\nimage: app\nrestart: on-failure\ndependsOn: [{name: fetch, condition: completed}]\n',
      'web.yaml': 'name: web\nimage: app\ndependsOn: [{name: migrate, condition: completed}]\n',
      'worker.yaml': 'name: worker\nimage: app\nrestart: never\ndependsOn: [{name: fetch, condition: completed}]\n',
    });
    const r = exported(ds);
    expect(r.objects.map((o) => `${o.object.kind}/${o.object.metadata!.name}`)).toEqual(['Job/worker', 'Pod/web']);
    expect(names(find(r, 'Pod', 'web').spec!.initContainers)).toEqual(['fetch', 'migrate']);
    expect(names(find(r, 'Job', 'worker').spec!.template.spec!.initContainers)).toEqual(['fetch']);
    expect(find(r, 'Pod', 'web').metadata!.annotations!['pocker.io/depends-on']).toBe('[{"name":"migrate","condition":"completed"}]');
    expect(find(r, 'Job', 'worker').metadata!.annotations!['fetch.pocker.io/restart']).toBe('on-failure');
    expect(r.warnings.filter((w) => w.container === 'fetch').map((w) => w.message)).toEqual(
      expect.arrayContaining([
        'it is an init container of the Pods of web, worker: Kubernetes runs it in each of them, pocker once (it reads one job back from them)',
        'on-failure: in a Pod with restartPolicy Never an init container is not retried: pocker reads it back from pocker.io/restart',
      ]),
    );
    const back = parseSpecFile(renderObjects(r.objects, 'x'), '/specs/k.yaml', { dir: DIR, file: 'k.yaml' });
    expect(back.errors.map(formatSpecError)).toEqual([]);
    expect(Object.fromEntries(back.specs.map((s) => [s.spec.name, s.hash]))).toEqual(
      Object.fromEntries(ds.map((d) => [d.spec.name, d.hash])),
    );
    expect(exported(ds, {}, ['web']).objects.map((o) => `${o.object.kind}/${o.object.metadata!.name}`)).toEqual(['Pod/web']);
  });

  it('publishes ports as hostPorts, or as NodePorts at the host port when it is one', () => {
    const ds = specs({
      'web.yaml':
        'name: web\nimage: nginx\nnetwork: {mode: bridge, ports: [{host: 30080, container: 80}, {host: 8443, container: 443, protocol: udp, hostIP: 127.0.0.1}]}\n',
    });
    const hostport = exported(ds, { publish: 'hostport' });
    expect(hostport.objects.map((o) => o.object.kind)).toEqual(['Pod']);
    expect(find(hostport, 'Pod', 'web').spec!.containers[0]!.ports).toEqual([
      { containerPort: 80, hostPort: 30080 },
      { containerPort: 443, hostPort: 8443, protocol: 'UDP', hostIP: '127.0.0.1' },
    ]);
    expect(hostport.warnings.map((w) => w.field)).toEqual(['network']);
    const node = exported(ds, { serviceType: 'NodePort' });
    expect(find(node, 'Service', 'web').spec!.ports).toEqual([
      { name: 'tcp-80', port: 80, targetPort: 80, nodePort: 30080 },
      { name: 'udp-443', port: 443, targetPort: 443, protocol: 'UDP' },
    ]);
    expect(node.warnings.map((w) => w.field)).toEqual(['network.ports[1].hostIP', 'network.ports[1]']);
  });

  it('writes Secrets with their values only when asked, and tells how to make them otherwise', () => {
    const ds = specs({ 'app.yaml': 'name: app\nimage: nginx\nsecrets: [{name: API_key}]\n' });
    const without = exported(ds);
    expect(without.objects.map((o) => o.object.kind)).toEqual(['Pod']);
    expect(without.notes.map((n) => n.message)).toEqual([
      "Secret api-key is not written (its value stays in pocker's secrets dir): create it on the cluster with kubectl create secret generic api-key --from-file=API_key=/etc/pocker/secrets/API_key (or export with --include-secret-values); until then the Pod waits for it",
    ]);
    const withValues = exported(ds, { secretValue: (n) => ({ data: Buffer.from(`value of ${n}`) }) });
    expect(find(withValues, 'Secret', 'api-key')).toMatchObject({
      type: 'Opaque',
      data: { API_key: Buffer.from('value of API_key').toString('base64') },
    });
    expect(() => exportKube(ds, null, { ...OPTS, secretValue: () => ({ error: 'EACCES' }) })).toThrow(ExportError);
  });

  it('an unreadable file source is an error naming the file and field', () => {
    const ds = specs({ 'app.yaml': 'name: app\nimage: nginx\nfiles: [{target: /etc/x, source: missing.conf}]\n' });
    try {
      exportKube(ds, null, OPTS);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ExportError);
      expect((e as ExportError).code).toBe('SOURCE');
      expect((e as ExportError).message).toBe('/specs/app.yaml: files[0].source: missing.conf: ENOENT');
    }
  });

  it('reports a field it does not know as left out', () => {
    const [d] = specs({ 'app.yaml': 'name: app\nimage: nginx\n' });
    const future = {
      ...d!,
      user: { ...d!.user, autoUpdate: { intervalMs: 1 }, network: { mode: 'bridge', ingress: [{ peer: 'x' }] } },
    } as unknown as DesiredContainer;
    const r = exported([future]);
    expect(r.warnings.filter((w) => w.readBack === 'differs').map((w) => `${w.field}: ${w.message}`)).toEqual([
      'autoUpdate: pocker export kube has no mapping for this field: it is left out of the manifest',
    ]);
    // network.ingress/egress are mapped (a NetworkPolicy), not left out.
    expect(find(r, 'NetworkPolicy', 'app').spec!.ingress).toEqual([
      { from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'x' } } }] },
    ]);
  });

  it('maps firewall rules to a NetworkPolicy of the Pod, with the DNS entry pocker implies, and reads it back to the same spec', () => {
    const ds = specs({
      'web.yaml': `name: web
image: nginx
network:
  mode: bridge
  ports: [{host: 8080, container: 80}]
  ingress: [{from: api, ports: [80, "8000-8100"]}, {from: 10.0.0.0/8}, {from: api, protocol: udp}]
  egress: [{to: db, ports: [5432], protocol: tcp}, {to: 192.0.2.7, ports: ["1000-1000", 53], protocol: udp}]
`,
      'api.yaml': 'name: api\nimage: nginx\nnetwork: {mode: bridge}\n',
      'db.yaml': 'name: db\nimage: postgres\nnetwork: {mode: bridge, egress: [{to: 0.0.0.0/0}]}\n',
    });
    const r = exported(ds);
    expect(r.objects.map((o) => `${o.object.kind}/${o.object.metadata!.name}`)).toEqual([
      'Pod/api',
      'Pod/db',
      'Pod/web',
      'Service/web',
      'NetworkPolicy/db',
      'NetworkPolicy/web',
    ]);
    const byName = (n: string) => ({ podSelector: { matchLabels: { 'app.kubernetes.io/name': n } } });
    const dns = {
      ports: [
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ],
    };
    expect(find(r, 'NetworkPolicy', 'web')).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {
        name: 'web',
        labels: { 'app.kubernetes.io/managed-by': 'pocker', 'app.kubernetes.io/name': 'web' },
        annotations: { 'pocker.io/source': '/specs/web.yaml', 'pocker.io/dns-egress': 'added' },
      },
      spec: {
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'web' } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          { from: [byName('api')], ports: [{ port: 80 }, { port: 8000, endPort: 8100 }] },
          { from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] },
          { from: [byName('api')], ports: [{ protocol: 'UDP' }] },
        ],
        egress: [
          { to: [byName('db')], ports: [{ protocol: 'TCP', port: 5432 }] },
          {
            to: [{ ipBlock: { cidr: '192.0.2.7/32' } }],
            ports: [
              { protocol: 'UDP', port: 1000 },
              { protocol: 'UDP', port: 53 },
            ],
          },
          dns,
        ],
      },
    });
    expect(find(r, 'NetworkPolicy', 'db').spec).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'db' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }, dns],
    });
    const rows = r.warnings
      .filter((w) => w.field.startsWith('network.') && w.field !== 'network.ports')
      .map((w) => `${w.container} ${w.field} ${w.readBack}: ${w.message}`);
    expect(rows).toEqual([
      "db network.egress same: a NetworkPolicy implies no DNS: an entry allows UDP and TCP port 53 to any destination (pocker: to the container's name servers only); pocker drops it on import (pocker.io/dns-egress)",
      "web network.egress same: a NetworkPolicy implies no DNS: an entry allows UDP and TCP port 53 to any destination (pocker: to the container's name servers only); pocker drops it on import (pocker.io/dns-egress)",
    ]);
    const documented = documentedWarningFields();
    for (const w of r.warnings) expect(documented, w.field).toContain(documentedField(w.field));
    expect(r.warnings.some((w) => /no mapping/.test(w.message))).toBe(false);
    const back = parseSpecFile(renderObjects(r.objects, 'x'), '/specs/k.yaml', { dir: DIR, file: 'k.yaml' });
    expect(back.errors.map(formatSpecError)).toEqual([]);
    expect(Object.fromEntries(back.specs.map((s) => [s.spec.name, s.hash]))).toEqual(
      Object.fromEntries(ds.map((d) => [d.spec.name, d.hash])),
    );
  });

  it("maps userns to hostUsers (pocker's default a range of its own, Kubernetes' the host's) and reads it back to the same spec", () => {
    const ds = specs({
      'a.yaml': 'name: a\nimage: nginx\n',
      'h.yaml': 'name: h\nimage: nginx\nuserns: host\n',
      'p.yaml': 'name: p\nimage: nginx\nprivileged: true\n',
      'n.yaml': 'name: n\nimage: nginx\nnetwork: {mode: host}\n',
      'big.yaml': 'name: big\nimage: nginx\nuserns: {size: 131072}\n',
    });
    const r = exported(ds);
    const hostUsers = (name: string) => find(r, 'Pod', name).spec!.hostUsers;
    expect(['a', 'h', 'p', 'n', 'big'].map(hostUsers)).toEqual([false, true, undefined, undefined, false]);
    expect(r.warnings.filter((w) => w.field === 'userns').map((w) => `${w.container}: ${w.message}`)).toEqual([
      "big: size 131072: Kubernetes gives each Pod's user namespace 65536 ids",
      "n: auto with network.mode: host: Kubernetes runs a hostNetwork Pod in the host's user namespace",
    ]);
    const documented = documentedWarningFields();
    for (const w of r.warnings) expect(documented, w.field).toContain(documentedField(w.field));
    const back = parseSpecFile(renderObjects(r.objects, 'x'), '/specs/k.yaml', { dir: DIR, file: 'k.yaml' });
    expect(back.errors.map(formatSpecError)).toEqual([]);
    const hashes = Object.fromEntries(back.specs.map((s) => [s.spec.name, s.hash]));
    for (const name of ['a', 'h', 'p', 'n']) expect(hashes[name], name).toBe(ds.find((d) => d.spec.name === name)!.hash);
    expect(back.specs.find((s) => s.spec.name === 'h')!.spec.userns).toEqual({ mode: 'host' });
  });

  it('leaves icmp rules, rules of init containers and a direction of icmp rules only out, with a warning that says so', () => {
    const ds = specs({
      'web.yaml': `name: web
image: nginx
network:
  mode: bridge
  ports: [{host: 30080, container: 80}]
  ingress: [{from: 10.0.0.0/8, protocol: icmp}, {from: www, ports: [80]}, {from: setup}]
  egress: [{to: 10.0.0.0/8, protocol: icmp}]
dependsOn: [{name: setup, condition: completed}]
`,
      'setup.yaml': 'name: setup\nimage: busybox\nrestart: on-failure\nnetwork: {mode: bridge, egress: [{to: 192.0.2.1}]}\n',
      'api.yaml': 'name: api\nimage: nginx\nnetwork: {mode: bridge, aliases: [www], egress: [{to: 10.0.0.1, protocol: icmp}]}\n',
    });
    const r = exported(ds, { serviceType: 'NodePort' });
    expect(r.objects.map((o) => `${o.object.kind}/${o.object.metadata!.name}`)).toEqual([
      'Pod/api',
      'Pod/web',
      'Service/web',
      'NetworkPolicy/web',
    ]);
    const policy = find(r, 'NetworkPolicy', 'web');
    expect(policy.spec!.policyTypes).toEqual(['Ingress']);
    expect(policy.spec!.egress).toBeUndefined();
    expect(policy.metadata!.annotations!['pocker.io/dns-egress']).toBeUndefined();
    expect(policy.spec!.ingress!.map((e) => e.from)).toEqual([
      [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'www' } } }],
      [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'setup' } } }],
    ]);
    const rows = r.warnings
      .filter((w) => /^network\.(ingress|egress)/.test(w.field))
      .map((w) => `${w.container} ${w.field} ${w.readBack}: ${w.message}`);
    expect(rows).toEqual([
      'api network.egress[0] differs: 10.0.0.1/32 icmp: a NetworkPolicy has no ICMP (it allows TCP, UDP and SCTP): the rule is left out, and with no other egress rule the policy does not restrict egress at all',
      "setup network.egress differs: an init container shares the network of web's Pod, and a NetworkPolicy selects whole Pods: its rules are left out",
      'web network.ingress[0] differs: 10.0.0.0/8 icmp: a NetworkPolicy has no ICMP (it allows TCP, UDP and SCTP): the rule is left out',
      "web network.ingress[1] same: www is a name of api, whose Pod is labelled api: the NetworkPolicy's podSelector app.kubernetes.io/name: www selects no Pod of this export",
      "web network.ingress[2] same: setup is an init container of web's Pod, which is labelled web: the NetworkPolicy's podSelector app.kubernetes.io/name: setup selects no Pod of this export",
      'web network.egress[0] differs: 10.0.0.0/8 icmp: a NetworkPolicy has no ICMP (it allows TCP, UDP and SCTP): the rule is left out, and with no other egress rule the policy does not restrict egress at all',
      "web network.ingress same: a connection to a published port may reach the Pod from a node's address (SNAT, depending on the CNI and externalTrafficPolicy), not the outside client pocker's rule sees",
    ]);
    const documented = documentedWarningFields();
    for (const w of r.warnings) expect(documented, w.field).toContain(documentedField(w.field));
    const back = parseSpecFile(renderObjects(r.objects, 'x'), '/specs/k.yaml', { dir: DIR, file: 'k.yaml' });
    expect(back.errors.map(formatSpecError)).toEqual([]);
    expect(back.specs.find((s) => s.spec.name === 'web')!.user.network!.ingress).toEqual([{ peer: 'www', ports: [80] }, { peer: 'setup' }]);
    expect(back.specs.find((s) => s.spec.name === 'web')!.user.network!.egress).toBeUndefined();
  });

  it('escapes what Kubernetes would expand, and quotes what YAML 1.1 would misread', () => {
    const ds = specs({ 'app.yaml': 'name: app\nimage: nginx\ncommand: [sh, -c, "echo $$ $(A)"]\nenv: {A: "yes", B: "0755"}\n' });
    const text = renderObjects(exported(ds).objects, 'x');
    expect(text).toContain('- echo $$$ $$(A)\n');
    expect(text).toContain('value: "yes"\n');
    expect(text).toContain('value: "0755"\n');
    expect(text).toMatch(/^# x\n+apiVersion: v1\nkind: Pod\n/);
  });

  it('every object it writes is a Kubernetes object the schema accepts (a negative control of the check)', () => {
    const bad = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'x' },
      spec: { containers: [{ name: 'x', livenessProbe: { periodSeconds: 0.5 } }] },
    };
    expect(kubeSchemaErrors(bad as unknown as KubeManifest)).toEqual([expect.stringContaining('periodSeconds must be integer')]);
    const policy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'x' },
      spec: { policyTypes: ['Sideways'] },
    };
    expect(kubeSchemaErrors(policy as unknown as KubeManifest)).toEqual([expect.stringMatching(/podSelector|policyTypes/)]);
  });
});
