import { describe, expect, it } from 'vitest';
import { parseSpecFile } from '../../../reconciler/spec/parse.js';
import { formatSpecError } from '../../../reconciler/spec/types.js';

const parse = (text: string) => parseSpecFile(text, '/specs/app.yaml', { dir: '/specs', file: 'app.yaml' });
const errorsOf = (text: string) => parse(text).errors.map(formatSpecError);
const users = (text: string) => {
  const r = parse(text);
  expect(r.errors.map(formatSpecError)).toEqual([]);
  return Object.fromEntries(r.specs.map((s) => [s.spec.name, s.user]));
};

const APP = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
  annotations:
    pocker.io/pids: "64"
spec:
  restartPolicy: Always
  terminationGracePeriodSeconds: 2
  initContainers:
    - name: migrate
      image: ghcr.io/example/app:2
      command: [migrate, "--to=$(TARGET)", "$$(kept)", "$(UNKNOWN)"]
      env: [{name: TARGET, value: latest}]
  containers:
    - name: web
      image: nginx:1.27
      ports: [{containerPort: 80, name: http}]
      envFrom: [{configMapRef: {name: web-env}, prefix: APP_}]
      env:
        - {name: LEVEL, valueFrom: {configMapKeyRef: {name: web-env, key: level}}}
        - {name: MSG, value: "level $(LEVEL) of $(APP_level)"}
      resources:
        limits: {cpu: 500m, memory: 64Mi}
        requests: {cpu: "0.5", memory: 64Mi}
      livenessProbe:
        httpGet: {path: /healthz, port: http}
        periodSeconds: 5
        timeoutSeconds: 2
      startupProbe:
        httpGet: {path: /healthz, port: http}
        periodSeconds: 5
        failureThreshold: 6
        timeoutSeconds: 2
      securityContext: {runAsUser: 101, runAsGroup: 101, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
      volumeMounts:
        - {name: conf, mountPath: /etc/nginx/conf.d/default.conf, subPath: default.conf}
        - {name: conf, mountPath: /etc/web}
        - {name: data, mountPath: /data}
        - {name: tmp, mountPath: /tmp}
        - {name: creds, mountPath: /run/secrets/db, subPath: password}
        - {name: logs, mountPath: /var/log/web, readOnly: true}
  volumes:
    - name: conf
      configMap: {name: web-conf, defaultMode: 0640}
    - name: data
      persistentVolumeClaim: {claimName: web-data}
    - name: tmp
      emptyDir: {medium: Memory, sizeLimit: 16Mi}
    - name: creds
      secret: {secretName: db, items: [{key: password, path: password}]}
    - name: logs
      hostPath: {path: /srv/logs, type: Directory}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-conf}
data:
  default.conf: "server {}\\n"
  extra.conf: "# more\\n"
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-env}
data: {level: "3"}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: web-data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Secret
metadata: {name: db}
type: Opaque
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 8080, targetPort: http, nodePort: 30080}, {port: 53, protocol: UDP}]
`;

describe('a spec file of Kubernetes objects', () => {
  it('runs a Pod as its container and its init containers as jobs it depends on, with the ConfigMaps, claims, Secrets and Services of the file', () => {
    const u = users(APP);
    expect(Object.keys(u).sort()).toEqual(['migrate', 'web']);
    expect(u.web).toEqual({
      name: 'web',
      image: { reference: 'docker.io/library/nginx:1.27' },
      env: { APP_level: '3', LEVEL: '3', MSG: 'level 3 of 3' },
      resources: { cpus: 0.5, memory: 64 * 2 ** 20, pids: 64 },
      network: {
        mode: 'bridge',
        ports: [
          { host: 30080, container: 80 },
          { host: 53, container: 53, protocol: 'udp' },
        ],
      },
      mounts: [{ source: '/srv/logs', target: '/var/log/web', readOnly: true }],
      volumes: [{ name: 'web-data', target: '/data' }],
      tmpfs: [{ target: '/tmp', sizeBytes: 16 * 2 ** 20 }],
      files: [
        { target: '/etc/nginx/conf.d/default.conf', content: 'server {}\n', mode: 0o640 },
        { target: '/etc/web/default.conf', content: 'server {}\n', mode: 0o640 },
        { target: '/etc/web/extra.conf', content: '# more\n', mode: 0o640 },
      ],
      secrets: [{ name: 'password', target: '/run/secrets/db', mode: 0o644 }],
      restart: 'always',
      stopGracePeriodMs: 2000,
      healthcheck: { http: { port: 80, path: '/healthz' }, intervalMs: 5000, timeoutMs: 2000, startPeriodMs: 30_000 },
      dependsOn: [{ name: 'migrate', condition: 'completed' }],
      capabilities: { drop: ['ALL'] },
      user: '101:101',
      readOnlyRootfs: true,
    });
    expect(u.migrate).toEqual({
      name: 'migrate',
      image: { reference: 'ghcr.io/example/app:2' },
      command: ['migrate', '--to=latest', '$(kept)', '$(UNKNOWN)'],
      env: { TARGET: 'latest' },
      network: { mode: 'bridge' },
      restart: 'on-failure',
    });
    const r = parse(APP);
    expect(r.specs.map((s) => s.source)).toEqual([
      { dir: '/specs', file: 'app.yaml', doc: 0 },
      { dir: '/specs', file: 'app.yaml', doc: 0 },
    ]);
  });

  it('takes a Deployment with one replica, and a Job that runs once; Kubernetes defaults where they differ from pocker', () => {
    const u = users(`apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - name: api
          image: ghcr.io/example/api:3
          readinessProbe: {tcpSocket: {port: 8080}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: report}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      hostNetwork: true
      containers: [{name: report, image: ghcr.io/example/report:1, imagePullPolicy: Never}]
`);
    expect(u.api).toEqual({
      name: 'api',
      image: { reference: 'ghcr.io/example/api:3' },
      network: { mode: 'bridge' },
      stopGracePeriodMs: 30_000,
      healthcheck: { tcp: { port: 8080 }, timeoutMs: 1000, onUnhealthy: 'none' },
    });
    expect(u.report).toEqual({
      name: 'report',
      image: { reference: 'ghcr.io/example/report:1' },
      pull: 'never',
      network: { mode: 'host' },
      restart: 'never',
      stopGracePeriodMs: 30_000,
    });
  });

  it('reads the pocker.io/ annotations back, for the container and its init containers', () => {
    const u = users(`apiVersion: v1
kind: Pod
metadata:
  name: box
  annotations:
    pocker.io/layers: '["/var/lib/pocker/layers/busybox"]'
    pocker.io/network: none
    pocker.io/cpuset: "0-1"
    pocker.io/memsw: unlimited
    pocker.io/io: '[{"device":"/dev/vdb","readBps":"10Mi"}]'
    pocker.io/cpu-shares: "512"
    pocker.io/state: paused
    pocker.io/stop-signal: SIGQUIT
    pocker.io/stop-grace-period: 2500ms
    pocker.io/restart-backoff: '{"initial":"1s"}'
    pocker.io/user: www-data
    pocker.io/hostname: box.local
    pocker.io/healthcheck: '{"interval":"500ms"}'
    pocker.io/tmpfs: '{"/scratch":{"mode":"0700"}}'
    prep.pocker.io/image-ref: busybox:1.36
    prep.pocker.io/restart: never
    prep.pocker.io/network: host
    prep.pocker.io/depends-on: '[]'
spec:
  terminationGracePeriodSeconds: 3
  initContainers: [{name: prep, command: ["true"]}]
  containers:
    - name: box
      command: [sleep, "3600"]
      resources: {limits: {memory: 64Mi}}
      livenessProbe: {exec: {command: ["true"]}, periodSeconds: 1}
      volumeMounts: [{name: s, mountPath: /scratch}]
  volumes: [{name: s, emptyDir: {medium: Memory}}]
`);
    expect(u.box).toEqual({
      name: 'box',
      hostname: 'box.local',
      image: { layers: ['/var/lib/pocker/layers/busybox'] },
      command: ['sleep', '3600'],
      resources: {
        memory: 64 * 2 ** 20,
        cpuset: '0-1',
        memsw: 'unlimited',
        cpuShares: 512,
        io: [{ device: '/dev/vdb', readBps: 10 * 2 ** 20 }],
      },
      state: 'paused',
      tmpfs: [{ target: '/scratch', mode: 0o700 }],
      stopGracePeriodMs: 2500,
      stopSignal: 'SIGQUIT',
      restartBackoff: { initialMs: 1000 },
      healthcheck: { exec: ['true'], intervalMs: 500, timeoutMs: 1000 },
      dependsOn: [{ name: 'prep', condition: 'completed' }],
      user: 'www-data',
    });
    expect(u.prep).toEqual({
      name: 'prep',
      image: { ref: 'busybox:1.36' },
      command: ['true'],
      network: { mode: 'host' },
      restart: 'never',
    });
  });

  it('keeps pocker specs and Kubernetes objects side by side in one file', () => {
    const u = users(`apiVersion: pocker/v1
name: cache
image: redis:7
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers: [{name: web, image: nginx}]
`);
    expect(Object.keys(u).sort()).toEqual(['cache', 'web']);
  });

  it('locates the problems of its pocker specs as before, and a name both define', () => {
    expect(
      errorsOf(`name: cache
image: redis:7
resources: {memroy: 64Mi}
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers: [{name: web, image: nginx}]
---
name: web
image: nginx
`),
    ).toEqual([
      expect.stringMatching(/^\/specs\/app\.yaml:3:13: unknown key "memroy" in resources; did you mean "memory"\?/),
      '/specs/app.yaml:11:7: name "web" is already used by document 2 of this file',
    ]);
  });
});

describe('Kubernetes fields pocker cannot carry', () => {
  const pod = (spec: string, container = '', extraDocs = '') => `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
${spec}  containers:
    - name: web
      image: nginx:1.27
${container}${extraDocs}`;

  it('are errors at their file:line:col naming the field, never ignored', () => {
    expect(errorsOf(pod('  affinity: {}\n  nodeSelector: {disk: ssd}\n  hostPID: true\n'))).toEqual([
      '/specs/app.yaml:6:3: spec.affinity is not supported on a single host',
      '/specs/app.yaml:7:3: spec.nodeSelector is not supported on a single host: there is no scheduling',
      '/specs/app.yaml:8:12: spec.hostPID true is not supported: a pocker container has its own PID namespace',
    ]);
    expect(errorsOf(pod('  serviceAccountName: bot\n', '      lifecycle: {preStop: {exec: {command: [stop]}}}\n'))).toEqual([
      '/specs/app.yaml:6:3: spec.serviceAccountName is not supported: pocker has no service accounts (no API token is mounted)',
      '/specs/app.yaml:10:7: spec.containers[0].lifecycle is not supported: pocker runs no postStart or preStop hooks (stopSignal and stopGracePeriod say how it stops)',
    ]);
  });

  it('a Pod with several containers is an error at spec.containers[1]', () => {
    expect(errorsOf(pod('', '    - name: sidecar\n      image: envoy\n'))).toEqual([
      '/specs/app.yaml:9:7: spec.containers[1]: a Pod with several containers is not supported yet: pocker runs one container per Pod (give each container its own Pod)',
    ]);
  });

  it("a Secret's key as a variable, or a Secret's value in the file, are errors that never print the value", () => {
    const env = '      env: [{name: PASS, valueFrom: {secretKeyRef: {name: db, key: password}}}]\n';
    expect(errorsOf(pod('', env))).toEqual([
      "/specs/app.yaml:9:38: spec.containers[0].env[0].valueFrom.secretKeyRef is not supported: pocker's secrets are files, not variables: mount the Secret as a volume (a secrets: entry, read from pocker's secrets dir) and read the file",
    ]);
    const errors = errorsOf(pod('', '', '---\napiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: hunter2}\n'));
    expect(errors).toEqual([
      expect.stringMatching(
        /^\/specs\/app\.yaml:13:14: stringData\.password: Secret db holds a value for password: pocker never takes secret values from spec files/,
      ),
    ]);
    expect(errors.join('\n')).not.toContain('hunter2');
  });

  it('what pocker checks of a spec is reported at the Kubernetes field it was made of', () => {
    expect(errorsOf(pod('', '      resources: {limits: {memory: 1Mi}}\n'))).toEqual([
      '/specs/app.yaml:9:36: spec.containers[0].resources.limits.memory (resources.memory): memory must be at least 4Mi (got 1048576)',
    ]);
    expect(errorsOf(pod('', '      resources: {limits: {cpu: 500m}, requests: {cpu: 250m}}\n'))).toEqual([
      '/specs/app.yaml:9:56: spec.containers[0].resources.requests.cpu differs from limits.cpu: pocker has limits only (give requests equal to limits, or leave them out)',
    ]);
  });

  it('what pocker does otherwise is refused with what to do instead', () => {
    const cases: Array<[string, string, RegExp]> = [
      [
        '',
        '      imagePullPolicy: Always\n',
        /9:24: spec\.containers\[0\]\.imagePullPolicy Always is not supported: pocker pulls a missing image/,
      ],
      [
        '  volumes: [{name: t, emptyDir: {}}]\n',
        '      volumeMounts: [{name: t, mountPath: /t}]\n',
        /6:33: spec\.volumes\[0\]\.emptyDir is not supported without medium: Memory/,
      ],
      [
        '  volumes: [{name: s, secret: {secretName: db}}]\n',
        '      volumeMounts: [{name: s, mountPath: /s}]\n',
        /6:31: spec\.volumes\[0\]\.secret lists no items: pocker reads each key of Secret db from its secrets dir/,
      ],
      [
        '',
        '      livenessProbe: {exec: {command: [a]}}\n      readinessProbe: {exec: {command: [b]}}\n',
        /10:23: spec\.containers\[0\]\.readinessProbe differs from livenessProbe: pocker runs one health check/,
      ],
      [
        '',
        '      securityContext: {runAsNonRoot: true}\n',
        /9:39: spec\.containers\[0\]\.securityContext\.runAsNonRoot cannot be checked before the image's USER runs: give runAsUser/,
      ],
      [
        '',
        '      securityContext: {seccompProfile: {type: Unconfined}}\n',
        /9:48: spec\.containers\[0\]\.securityContext\.seccompProfile\.type: Unconfined: pocker always applies Docker's default seccomp filter/,
      ],
      [
        '  volumes: [{name: c, configMap: {name: missing}}]\n',
        '      volumeMounts: [{name: c, mountPath: /c}]\n',
        /6:41: spec\.volumes\[0\]\.configMap\.name: ConfigMap missing is not in this file/,
      ],
    ];
    for (const [spec, container, want] of cases) expect(errorsOf(pod(spec, container)).join('\n'), want.source).toMatch(want);
  });

  it('refuses unknown pocker.io annotations, and kinds, versions and names pocker does not run', () => {
    expect(
      errorsOf(`apiVersion: v1
kind: Pod
metadata:
  name: web
  annotations: {pocker.io/pidz: "1", other.pocker.io/pids: "1"}
spec:
  containers: [{name: web, image: nginx}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
---
apiVersion: apps/v1beta1
kind: Deployment
metadata: {name: old}
---
apiVersion: v1
kind: Pod
metadata: {name: my.pod}
spec:
  containers: [{name: c, image: nginx}]
`),
    ).toEqual([
      '/specs/app.yaml:10:7: kind: Ingress is not a kind pocker runs or reads: a spec file holds Pods, Deployments and Jobs, with the ConfigMaps, Secrets, PersistentVolumeClaims, Services and NetworkPolicies they use',
      '/specs/app.yaml:13:13: apiVersion: apps/v1beta1 is not the apiVersion of a Deployment pocker reads (apps/v1)',
      '/specs/app.yaml:5:17: metadata.annotations["pocker.io/pidz"] is not an annotation pocker reads (known: pocker.io/image, pocker.io/layers, pocker.io/image-ref, pocker.io/pids, pocker.io/cpuset, pocker.io/memsw, pocker.io/io, pocker.io/cpu-shares, pocker.io/state, pocker.io/network, pocker.io/network-name, pocker.io/aliases, pocker.io/hostname, pocker.io/user, pocker.io/stop-signal, pocker.io/stop-grace-period, pocker.io/restart-backoff, pocker.io/healthcheck, pocker.io/depends-on, pocker.io/files, pocker.io/secrets, pocker.io/tmpfs)',
      '/specs/app.yaml:5:38: metadata.annotations["other.pocker.io/pids"] names other, which is no init container of this Pod',
      '/specs/app.yaml:19:18: metadata.name: "my.pod" is not a DNS label, which pocker\'s container names are (lowercase letters, digits, "-"; at most 63)',
    ]);
  });

  it('a Deployment runs one replica; a Job runs as restart says, without a retry limit of its own', () => {
    const deployment = (replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: nginx}]
`;
    expect(errorsOf(deployment(3))).toEqual([
      '/specs/app.yaml:5:13: spec.replicas: 3: pocker runs one container of a Deployment (replicas: 1)',
    ]);
    expect(errorsOf(deployment(1))).toEqual([]);
    const job = (policy: string, limit: string) => `apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
${limit}  template:
    spec:
      restartPolicy: ${policy}
      containers: [{name: once, image: busybox}]
`;
    expect(errorsOf(job('Never', ''))).toEqual([
      "/specs/app.yaml:5:3: spec must be 0 with restartPolicy Never: pocker runs a job with restart: never once, and Kubernetes' default (6) would run it again",
    ]);
    expect(errorsOf(job('Never', '  backoffLimit: 0\n'))).toEqual([]);
    expect(errorsOf(job('OnFailure', '  backoffLimit: 2147483647\n'))).toEqual([]);
  });

  it('reads a mode written 0640 as kubectl does (YAML 1.1 octal)', () => {
    const u = users(
      pod(
        '  volumes: [{name: c, configMap: {name: c, items: [{key: a, path: a, mode: 0600}]}}]\n',
        '      volumeMounts: [{name: c, mountPath: /etc/a, subPath: a}]\n',
        '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: x}\n',
      ),
    );
    expect(u.web!.files).toEqual([{ target: '/etc/a', content: 'x', mode: 0o600 }]);
  });
});

describe('NetworkPolicies as firewall rules', () => {
  const PODS = `apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app.kubernetes.io/name: web}}
spec:
  containers: [{name: web, image: nginx}]
---
apiVersion: v1
kind: Pod
metadata: {name: api, labels: {app.kubernetes.io/name: api, tier: back}}
spec:
  containers: [{name: api, image: nginx}]
---
`;
  const policy = (spec: string, annotations = '') => `${PODS}apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web${annotations}}
spec:
${spec}`;

  it('gives the rules of its entries to the Pod it selects, as Kubernetes means them', () => {
    const u = users(
      policy(`  podSelector: {matchLabels: {app.kubernetes.io/name: web}}
  policyTypes: [Ingress, Egress]
  ingress:
    - from: [{podSelector: {matchLabels: {app.kubernetes.io/name: api}}}, {ipBlock: {cidr: 10.1.2.3/8}}]
      ports: [{port: 80}, {protocol: TCP, port: 8000, endPort: 8100}, {protocol: UDP}]
    - {}
  egress:
    - to: [{ipBlock: {cidr: 192.0.2.7/32}}]
      ports: [{protocol: UDP, port: 53}, {protocol: UDP, port: 5000, endPort: 5000}]
    - ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
`),
    );
    expect(u.web!.network).toEqual({
      mode: 'bridge',
      ingress: [
        { peer: 'api', ports: [80] },
        { peer: 'api', ports: ['8000-8100'], protocol: 'tcp' },
        { peer: 'api', protocol: 'udp' },
        { peer: '10.0.0.0/8', ports: [80] },
        { peer: '10.0.0.0/8', ports: ['8000-8100'], protocol: 'tcp' },
        { peer: '10.0.0.0/8', protocol: 'udp' },
        { peer: '0.0.0.0/0' },
      ],
      egress: [
        { peer: '192.0.2.7/32', ports: [53, 5000], protocol: 'udp' },
        // Without pocker.io/dns-egress the DNS entry is a rule like any other.
        { peer: '0.0.0.0/0', ports: [53], protocol: 'udp' },
        { peer: '0.0.0.0/0', ports: [53], protocol: 'tcp' },
      ],
    });
    expect(u.api!.network).toEqual({ mode: 'bridge' });
    const added = users(
      policy(
        `  podSelector: {matchLabels: {tier: back}}
  policyTypes: [Egress]
  egress:
    - to: [{podSelector: {matchLabels: {app.kubernetes.io/name: web}}}]
    - ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
`,
        ', annotations: {pocker.io/dns-egress: added}',
      ),
    );
    expect(added.api!.network).toEqual({ mode: 'bridge', egress: [{ peer: 'web' }] });
  });

  it('what pocker cannot say is an error at its file:line:col', () => {
    const sel = '  podSelector: {matchLabels: {app.kubernetes.io/name: web}}\n';
    const cases: Array<[string, string, string[]]> = [
      [
        '  podSelector: {}\n  ingress: [{}]\n',
        '',
        [
          '/specs/app.yaml:17:16: spec.podSelector must select the Pod whose traffic it filters (matchLabels of its labels): pocker applies rules to one container',
        ],
      ],
      [
        '  podSelector: {matchLabels: {app: none}}\n  ingress: [{}]\n',
        '',
        ['/specs/app.yaml:17:16: spec.podSelector selects no Pod of this file'],
      ],
      [
        `${sel}  policyTypes: [Ingress, Egress]\n  ingress: [{}]\n`,
        '',
        [
          '/specs/app.yaml:18:16: spec.policyTypes gives no egress entry (policyTypes has Egress): Kubernetes denies every outbound connection of web, and pocker cannot say deny all (no egress rule allows everything): allow what it needs, or leave Egress out of policyTypes',
        ],
      ],
      [
        `${sel}  egress: [{}]\n`,
        '',
        [
          '/specs/app.yaml:17:3: spec gives no ingress entry (policyTypes defaults to Ingress): Kubernetes denies every inbound connection of web, and pocker cannot say deny all (no ingress rule allows everything): allow what it needs, or leave Ingress out of policyTypes',
        ],
      ],
      [
        `${sel}  policyTypes: [Egress]\n  ingress: [{}]\n  egress: []\n`,
        '',
        [
          '/specs/app.yaml:19:12: spec.ingress is ignored by Kubernetes: policyTypes has no Ingress',
          '/specs/app.yaml:20:11: spec.egress gives no egress entry: Kubernetes denies every outbound connection of web, and pocker cannot say deny all (no egress rule allows everything): allow what it needs, or leave Egress out of policyTypes',
        ],
      ],
      [
        `${sel}  ingress:\n    - from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/16]}}, {namespaceSelector: {}}]\n`,
        '',
        [
          '/specs/app.yaml:19:43: spec.ingress[0].from[0].ipBlock.except is not supported: a pocker rule allows a whole address or CIDR (give the blocks it allows as rules of their own)',
          '/specs/app.yaml:19:69: spec.ingress[0].from[1].namespaceSelector is not supported: pocker has no namespaces (name the container by a podSelector, or give an ipBlock)',
        ],
      ],
      [
        `${sel}  ingress:\n    - from: [{podSelector: {matchLabels: {tier: back}}}, {ipBlock: {cidr: "fd00::/8"}}]\n      ports: [{port: http}, {protocol: SCTP, port: 9}, {port: 90, endPort: 80}]\n`,
        '',
        [
          '/specs/app.yaml:19:42: spec.ingress[0].from[0].podSelector.matchLabels must select one container by its app.kubernetes.io/name label only: a pocker rule names a container (or an address)',
          '/specs/app.yaml:19:75: spec.ingress[0].from[1].ipBlock.cidr: "fd00::/8" is not an IPv4 address or CIDR (pocker\'s rules are IPv4)',
          '/specs/app.yaml:20:22: spec.ingress[0].ports[0].port: "http" is a named port: pocker\'s rules give port numbers',
          "/specs/app.yaml:20:40: spec.ingress[0].ports[1].protocol SCTP is not supported: pocker's rules are tcp, udp or icmp",
          '/specs/app.yaml:20:76: spec.ingress[0].ports[2].endPort must be at least port (90) (Kubernetes refuses it too)',
        ],
      ],
      [
        `${sel}  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}]}]\n`,
        ', annotations: {pocker.io/dns-egress: added}',
        [
          '/specs/app.yaml:15:59: metadata.annotations["pocker.io/dns-egress"] says an egress entry allowing DNS was added, but no entry of spec.egress is it (ports UDP 53 and TCP 53, no to)',
        ],
      ],
      [
        `${sel}  ingress: [{from: [{podSelector: {matchLabels: {app.kubernetes.io/name: db}}}], ports: [{port: 0}]}]\n`,
        '',
        [
          '/specs/app.yaml:18:89: spec.ingress[0].ports (network.ingress[0].ports[0]): network.ingress[0].ports[0] must be a port (1-65535) or a range "lo-hi", not number 0',
        ],
      ],
    ];
    for (const [spec, ann, want] of cases) expect(errorsOf(policy(spec, ann)), spec).toEqual(want);
  });

  it('selects one workload of the file, which runs on the bridge network', () => {
    expect(
      errorsOf(
        policy('  podSelector: {matchLabels: {app.kubernetes.io/managed-by: pocker}}\n  ingress: [{}]\n').replaceAll(
          'labels: {',
          'labels: {app.kubernetes.io/managed-by: pocker, ',
        ),
      ),
    ).toEqual([
      "/specs/app.yaml:17:16: spec.podSelector selects several Pods of this file (web, api): pocker's rules belong to one container",
    ]);
    const host = policy('  podSelector: {matchLabels: {app.kubernetes.io/name: web}}\n  ingress: [{}]\n').replace(
      'spec:\n  containers: [{name: web',
      'spec:\n  hostNetwork: true\n  containers: [{name: web',
    );
    expect(errorsOf(host)).toEqual([
      "/specs/app.yaml:18:16: spec.podSelector selects web, whose network mode is host (spec.hostNetwork: true): pocker's firewall rules need network.mode bridge",
    ]);
    const none = policy('  podSelector: {matchLabels: {app.kubernetes.io/name: api}}\n  ingress: [{}]\n').replace(
      'metadata: {name: api, labels',
      'metadata: {name: api, annotations: {pocker.io/network: none}, labels',
    );
    expect(errorsOf(none)).toEqual([
      "/specs/app.yaml:17:16: spec.podSelector selects api, whose network mode is none (pocker.io/network): pocker's firewall rules need network.mode bridge",
    ]);
  });
});
