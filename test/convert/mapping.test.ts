import { describe, expect, it } from 'vitest';
import { checkSpecTexts } from '../../reconciler/convert/check.js';
import { SECRETS_DIR } from '../../reconciler/convert/configs.js';
import { convertCompose } from '../../reconciler/convert/convert.js';
import { renderSpec } from '../../reconciler/convert/emit.js';
import { ConvertError } from '../../reconciler/convert/errors.js';
import { MemoryFiles } from '../../reconciler/convert/files.js';
import { formatFinding } from '../../reconciler/convert/report.js';
import type { ConvertResult, Environment, SpecDocument } from '../../reconciler/convert/types.js';
import { DEFAULT_SECRETS_DIR } from '../../reconciler/state/layout.js';

const DIR = '/srv/app';

/** Converts a compose text from /srv/app/compose.yaml and checks every spec as pocker validate checks a dir. */
function convert(text: string, opts: { env?: Environment; files?: Record<string, string> } = {}): ConvertResult {
  const r = convertCompose({ composePath: `${DIR}/compose.yaml`, text, env: opts.env ?? {}, files: new MemoryFiles(opts.files ?? {}) });
  const texts = r.specs.map((c) => ({ file: c.file, text: renderSpec(c, `${DIR}/compose.yaml`, r.project) }));
  expect(checkSpecTexts('/specs', texts)).toEqual([]);
  return r;
}
const spec = (r: ConvertResult, service: string): SpecDocument => r.specs.find((c) => c.service === service)!.spec;
const lines = (r: ConvertResult): string[] => r.findings.map(formatFinding);
const noteLines = (r: ConvertResult): string[] => r.notes.map(formatFinding);
function refusal(text: string, opts: { env?: Environment; files?: Record<string, string> } = {}): string {
  try {
    convertCompose({ composePath: `${DIR}/compose.yaml`, text, env: opts.env ?? {}, files: new MemoryFiles(opts.files ?? {}) });
  } catch (e) {
    if (e instanceof ConvertError) return `${e.code} ${e.message}`;
    throw e;
  }
  throw new Error('converted');
}

describe('names and images', () => {
  it('names the container by container_name, else the service, and lets the others reach it by service name', () => {
    const r = convert('services:\n  db:\n    image: postgres:16\n    container_name: app-postgres\n  web:\n    image: nginx\n');
    expect(spec(r, 'db')).toMatchObject({ apiVersion: 'pocker/v1', name: 'app-postgres', network: { aliases: ['db'] } });
    expect(spec(r, 'web').name).toBe('web');
    expect(r.specs.map((c) => c.file)).toEqual(['db.yaml', 'web.yaml']);
    expect(r.findings).toEqual([]);
  });

  it('derives a DNS label from a name that is none, once per container, and reports it', () => {
    const r = convert('services:\n  My_App:\n    image: nginx\n  my-app:\n    image: nginx\n  .hidden:\n    image: busybox\n');
    expect(r.specs.map((c) => [c.service, c.spec.name, c.file])).toEqual([
      ['My_App', 'my-app', 'My_App.yaml'],
      ['my-app', 'my-app-2', 'my-app.yaml'],
      ['.hidden', 'hidden', 'hidden.yaml'],
    ]);
    expect(lines(r)).toEqual([
      'My_App: (service name): "My_App" is not a DNS label (lowercase letters, digits, "-"; at most 63), which pocker\'s names are: the container is named my-app',
      "my-app: (service name): the name my-app is taken by another service's container: this one is named my-app-2",
      '.hidden: (service name): ".hidden" is not a DNS label (lowercase letters, digits, "-"; at most 63), which pocker\'s names are: the container is named hidden',
      'my-app: networks: alias my-app is also a name, hostname or alias of my-app on network app_default, where names are unique in pocker: left out',
    ]);
    expect(noteLines(r)).toContain(
      'My_App: (service name): the other containers reach it as "my-app" (a DNS label), not as "My_App": change what refers to My_App',
    );
  });

  it('skips a service with build and no image, uses the image of one with both, and refuses bad references', () => {
    const r = convert(
      'services:\n  app:\n    build: .\n  api:\n    build: {context: ./api}\n    image: registry.local:5000/api:dev\n  bad:\n    image: "Not A Ref"\n  ok:\n    image: busybox\n',
    );
    expect(r.specs.map((c) => c.service)).toEqual(['api', 'ok']);
    expect(spec(r, 'api').image).toBe('registry.local:5000/api:dev');
    expect(lines(r).map((l) => l.split(': ').slice(0, 2).join(': '))).toEqual(['app: build', 'api: build', 'bad: image']);
    expect(lines(r)[0]).toContain('not converted');
  });
});

describe('command and args', () => {
  it('maps entrypoint to command and command to args, splitting strings as compose does', () => {
    const r = convert(`services:
  a:
    image: busybox
    entrypoint: /bin/sh -c
    command: ["echo hi", "x"]
  b:
    image: busybox
    command: bundle exec 'thin -p' 3000
  c:
    image: busybox
    entrypoint: ["tini", "--"]
`);
    expect(spec(r, 'a')).toMatchObject({ command: ['/bin/sh', '-c'], args: ['echo hi', 'x'] });
    expect(spec(r, 'b')).toMatchObject({ args: ['bundle', 'exec', 'thin -p', '3000'] });
    expect(spec(r, 'b').command).toBeUndefined();
    expect(spec(r, 'c')).toMatchObject({ command: ['tini', '--'] });
    expect(spec(r, 'c').args).toBeUndefined();
  });

  it("clears the image's Cmd with an empty command, runs the command alone with an empty entrypoint", () => {
    const r = convert(
      'services:\n  a:\n    image: busybox\n    command: ""\n  b:\n    image: busybox\n    entrypoint: []\n    command: [sleep, "5"]\n  c:\n    image: busybox\n    entrypoint: ""\n',
    );
    expect(spec(r, 'a').args).toEqual([]);
    expect(spec(r, 'b')).toMatchObject({ command: ['sleep', '5'] });
    expect(spec(r, 'b').args).toBeUndefined();
    expect(spec(r, 'c').command).toBeUndefined();
    expect(lines(r)).toEqual([expect.stringMatching(/^c: entrypoint: an empty entrypoint runs the image's Cmd/)]);
  });

  it('reports a shell operator where compose stops reading the string', () => {
    const r = convert('services:\n  a:\n    image: busybox\n    command: echo one && echo two\n');
    expect(spec(r, 'a').args).toEqual(['echo', 'one']);
    expect(lines(r)).toEqual([
      'a: command: "echo one && echo two" holds the shell operator "&", where compose stops reading: it runs ["echo", "one"]; for a shell, write [sh, -c, "..."]',
    ]);
  });
});

describe('environment', () => {
  it('takes the list and map forms, stringifies scalars as compose does, and resolves bare names', () => {
    const r = convert(
      `services:
  a:
    image: busybox
    environment:
      - A=1
      - B=x=y
      - FROM_SHELL
      - FROM_DOTENV
      - NOWHERE
  b:
    image: busybox
    environment:
      N: 8080
      F: 1.5
      T: true
      S: "no"
      E: ""
      INHERIT:
      BAD-NAME: x
`,
      { env: { FROM_SHELL: 'sh', INHERIT: 'i' }, files: { [`${DIR}/.env`]: 'FROM_DOTENV=dot\n' } },
    );
    expect(spec(r, 'a').env).toEqual({ A: '1', B: 'x=y', FROM_SHELL: 'sh', FROM_DOTENV: 'dot' });
    expect(spec(r, 'b').env).toEqual({ N: '8080', F: '1.5', T: 'true', S: 'no', E: '', INHERIT: 'i' });
    expect(lines(r)).toEqual([
      'a: environment.NOWHERE: NOWHERE has no value here and is not set in the environment (nor in .env): left out, as compose does',
      'b: environment.BAD-NAME: "BAD-NAME" is not an environment variable name pocker takes (letters, digits, "_"; not starting with a digit): left out',
    ]);
  });

  it('reads env_file entries in order, relative to the compose dir, under environment', () => {
    const r = convert(
      `services:
  a:
    image: busybox
    env_file:
      - common.env
      - path: ./local.env
        required: false
      - path: /etc/app/extra.env
    environment:
      OVER: env
`,
      { files: { [`${DIR}/common.env`]: 'A=1\nOVER=file\nB=common\n', '/etc/app/extra.env': 'B=extra\n' } },
    );
    expect(spec(r, 'a').env).toEqual({ A: '1', OVER: 'env', B: 'extra' });
    expect(
      convert('services:\n  a:\n    image: busybox\n    env_file: one.env\n', { files: { [`${DIR}/one.env`]: 'X=1' } }).specs[0]!.spec.env,
    ).toEqual({ X: '1' });
  });

  it('refuses a missing env_file that is required, and a broken one at its line', () => {
    expect(refusal('services:\n  a:\n    image: busybox\n    env_file: [missing.env]\n')).toBe(
      `INVALID ${DIR}/compose.yaml:4:16: services.a.env_file.0: env file ${DIR}/missing.env not found`,
    );
    expect(
      refusal('services:\n  a:\n    image: busybox\n    env_file: bad.env\n', { files: { [`${DIR}/bad.env`]: 'OK=1\nNOT OK=2\n' } }),
    ).toBe(`INVALID ${DIR}/bad.env:2:1: key "NOT OK" cannot contain a space`);
  });
});

describe('settings, restart and limits', () => {
  it('maps the process settings to their schema fields', () => {
    const r = convert(`services:
  a:
    image: busybox
    hostname: box.local
    user: 1000
    working_dir: /srv
    stop_signal: SIGQUIT
    stop_grace_period: 1m30s
    read_only: true
    privileged: false
    cap_add: [net_admin, CAP_SYS_TIME]
    cap_drop: [ALL]
    tty: true
    init: true
    pull_policy: never
`);
    expect(spec(r, 'a')).toMatchObject({
      hostname: 'box.local',
      user: '1000',
      workingDir: '/srv',
      stopSignal: 'SIGQUIT',
      stopGracePeriod: '1m30s',
      readOnlyRootfs: true,
      privileged: false,
      capabilities: { add: ['NET_ADMIN', 'SYS_TIME'], drop: ['ALL'] },
      tty: true,
      pull: 'never',
    });
    expect(r.findings).toEqual([]);
  });

  it('reports settings pocker cannot take', () => {
    const r = convert(
      'services:\n  a:\n    image: busybox\n    user: Admin\n    stop_signal: SIGKILL\n    cap_add: [FLY]\n    working_dir: relative\n    pull_policy: always\n',
    );
    expect(lines(r).map((l) => l.split(':').slice(0, 2).join(':'))).toEqual([
      'a: user',
      'a: working_dir',
      'a: stop_signal',
      'a: pull_policy',
      'a: cap_add',
    ]);
  });

  it('maps restart policies, never by default, and drops the retry count of on-failure:N', () => {
    const r = convert(`services:
  a: {image: busybox}
  b: {image: busybox, restart: "no"}
  c: {image: busybox, restart: always}
  d: {image: busybox, restart: unless-stopped}
  e: {image: busybox, restart: on-failure}
  f: {image: busybox, restart: "on-failure:3"}
  g: {image: busybox, deploy: {restart_policy: {condition: on-failure, max_attempts: 2}}}
  h: {image: busybox, restart: no}
`);
    expect(r.specs.map((c) => c.spec.restart)).toEqual([
      'never',
      'never',
      'always',
      'always',
      'on-failure',
      'on-failure',
      'on-failure',
      'never',
    ]);
    expect(lines(r)).toEqual([
      'f: restart: on-failure:3: pocker has no restart limit; it restarts on every failure (with backoff)',
      'g: deploy.restart_policy.max_attempts: pocker restarts with its own backoff and no limit',
    ]);
  });

  it('maps deploy limits and the legacy keys, memory in binary units', () => {
    const r = convert(`services:
  a:
    image: busybox
    deploy:
      resources:
        limits: {cpus: "1.5", memory: 1g, pids: 64}
        reservations: {memory: 256m}
  b:
    image: busybox
    cpus: 0.25
    mem_limit: 1536m
    memswap_limit: 2g
    pids_limit: 100
    cpu_shares: 512
    cpuset: "0-1"
    blkio_config:
      device_read_bps: [{path: /dev/sda, rate: 10mb}]
      device_write_iops: [{path: /dev/sda, rate: 100}]
  c:
    image: busybox
    mem_limit: 268435456
    memswap_limit: -1
    pids_limit: -1
    cpu_quota: 50000
`);
    expect(spec(r, 'a').resources).toEqual({ cpus: 1.5, memory: '1Gi', pids: 64 });
    expect(spec(r, 'b').resources).toEqual({
      cpus: 0.25,
      memory: '1536Mi',
      memsw: '2Gi',
      pids: 100,
      cpuShares: 512,
      cpuset: '0-1',
      io: [{ device: '/dev/sda', readBps: '10Mi', writeIops: 100 }],
    });
    expect(spec(r, 'c').resources).toEqual({ cpus: 0.5, memory: '256Mi', memsw: 'unlimited' });
    expect(lines(r)).toEqual([
      'a: deploy.resources.reservations: pocker sets limits, not reservations',
      'c: pids_limit: -1 means no limit; pocker always limits processes (its default is 4096)',
    ]);
  });
});

describe('extension fields, anchors and what is not converted', () => {
  it('ignores x- fields and resolves anchors and merge keys as compose does', () => {
    const r = convert(`x-defaults: &defaults
  image: busybox:1.36
  restart: always
  environment: &env
    A: "1"
    B: "2"
services:
  a:
    <<: *defaults
    x-team: core
    environment:
      <<: *env
      B: over
  b:
    <<: *defaults
    restart: on-failure
x-other: {anything: [1, 2]}
`);
    expect(spec(r, 'a')).toMatchObject({ image: 'busybox:1.36', restart: 'always', env: { A: '1', B: 'over' } });
    expect(spec(r, 'b')).toMatchObject({ image: 'busybox:1.36', restart: 'on-failure', env: { A: '1', B: '2' } });
    expect(r.findings).toEqual([]);
  });

  it('lists every key pocker cannot carry, one line each, and skips services with profiles', () => {
    const r = convert(`services:
  a:
    image: busybox
    labels: {team: x}
    logging: {driver: syslog}
    devices: [/dev/ttyUSB0]
    extra_hosts: ["h:1.2.3.4"]
    dns: 1.1.1.1
    expose: ["80"]
    sysctls: {net.core.somaxconn: 1024}
    ulimits: {nofile: 1024}
    scale: 2
    deploy: {replicas: 3, placement: {constraints: [node.role==manager]}}
    extends: {service: base}
    frobnicate: true
  b:
    image: busybox
    profiles: [debug, tools]
`);
    expect(r.specs.map((c) => c.service)).toEqual(['a']);
    expect(lines(r).map((l) => l.split(': ').slice(0, 2).join(': '))).toEqual([
      'a: deploy.replicas',
      'a: deploy.placement',
      'a: scale',
      'a: labels',
      'a: logging',
      'a: devices',
      'a: extra_hosts',
      'a: dns',
      'a: expose',
      'a: sysctls',
      'a: ulimits',
      'a: frobnicate',
      'a: extends',
      'b: profiles',
    ]);
    expect(lines(r)).toContain('b: profiles: compose starts it only with --profile debug or tools: not converted');
  });
});

describe('ports and networks', () => {
  it('maps short and long port syntax, expanding ranges, every service on the project default network', () => {
    const r = convert(`services:
  a:
    image: nginx
    ports:
      - 8080:80
      - "127.0.0.1:5353:53/udp"
      - "9000-9001:9000-9001"
      - 9000-9001:9000-9001
      - target: 443
        published: "8443"
        host_ip: 0.0.0.0
        protocol: tcp
        mode: ingress
`);
    expect(spec(r, 'a').network).toEqual({
      mode: 'bridge',
      name: 'app_default',
      ports: [
        { host: 8080, container: 80 },
        { host: 5353, container: 53, protocol: 'udp', hostIP: '127.0.0.1' },
        { host: 9000, container: 9000 },
        { host: 9001, container: 9001 },
        { host: 8443, container: 443 },
      ],
    });
    expect(r.findings).toEqual([]);
    expect(noteLines(r)).toEqual([
      expect.stringMatching(/^\(top-level\): networks\.default: the specs use CNI network "app_default": .*conflist/),
    ]);
  });

  it('reports ports pocker cannot publish', () => {
    const r = convert(`services:
  a:
    image: nginx
    ports: ["80", "[::1]:81:81", "127.0.0.1::82", "8000-8010:83", "84:84/sctp", {target: 85}, "86:86", "127.0.0.2:86:86"]
  b:
    image: nginx
    ports: ["86:86"]
`);
    expect(spec(r, 'a').network!.ports).toEqual([
      { host: 8000, container: 83 },
      { host: 86, container: 86 },
    ]);
    expect(spec(r, 'b').network!.ports).toBeUndefined();
    expect(lines(r)).toEqual([
      'a: ports[0]: 80: no host port, so Docker would publish on a random one; pocker publishes fixed host ports only: left out',
      'a: ports[1]: [::1]:81:81: pocker publishes on IPv4 addresses only, not ::1: left out',
      'a: ports[2]: 127.0.0.1::82: no host port, so Docker would publish on a random one; pocker publishes fixed host ports only: left out',
      'a: ports[3]: 8000-8010:83: Docker picks a free host port of 8000-8010; pocker publishes the first, 8000',
      'a: ports[4]: 84:84/sctp: pocker publishes tcp and udp ports, not sctp: left out',
      'a: ports[5]: 85/tcp: no host port, so Docker would publish on a random one; pocker publishes fixed host ports only: left out',
      'a: ports[7]: 127.0.0.2:86:86/tcp: host port tcp/86 is already published as 86:86/tcp (pocker publishes a host port once, whatever the address): left out',
      'b: ports: 86:86/tcp: host port tcp/86 is published by a already (Docker would refuse to start this one): left out',
    ]);
  });

  it('names networks as compose does and puts a container on its first network only', () => {
    const r = convert(`services:
  a:
    image: nginx
    networks:
      front:
        aliases: [www, Web]
      back:
        priority: 10
        ipv4_address: 10.0.0.5
  b:
    image: nginx
    networks: [back, outside]
  c:
    image: nginx
    networks: [front]
networks:
  front: {}
  back:
    name: shared-back
  outside:
    external: true
`);
    expect(spec(r, 'a').network).toEqual({ mode: 'bridge', name: 'shared-back' });
    expect(spec(r, 'b').network).toEqual({ mode: 'bridge', name: 'shared-back' });
    expect(spec(r, 'c').network).toEqual({ mode: 'bridge', name: 'app_front' });
    expect(lines(r)).toEqual([
      'a: networks.front: pocker attaches a container to one network: it is on shared-back (back) only, not on app_front',
      'a: networks.back.ipv4_address: pocker networks assign addresses from their IPAM range',
      'b: networks.outside: pocker attaches a container to one network: it is on shared-back (back) only, not on outside',
    ]);
    const aliased = convert(
      'services:\n  a:\n    image: nginx\n    container_name: web-1\n    networks:\n      front:\n        aliases: [www, Web, not_a_label]\nnetworks:\n  front:\n',
    );
    expect(spec(aliased, 'a').network).toEqual({ mode: 'bridge', name: 'app_front', aliases: ['a', 'www', 'web'] });
    expect(lines(aliased)).toEqual([expect.stringMatching(/^a: networks\.front\.aliases: "not_a_label" is not a DNS label/)]);
  });

  it('maps network_mode host and none, reporting their ports, and refuses undefined networks', () => {
    const r = convert(
      'services:\n  a:\n    image: nginx\n    network_mode: host\n    ports: ["80:80"]\n  b:\n    image: nginx\n    network_mode: none\n  c:\n    image: nginx\n    network_mode: "service:a"\n',
    );
    expect(spec(r, 'a').network).toEqual({ mode: 'host' });
    expect(spec(r, 'b').network).toEqual({ mode: 'none' });
    expect(spec(r, 'c').network).toEqual({ mode: 'bridge', name: 'app_default' });
    expect(lines(r)).toEqual([
      'a: ports: published ports mean nothing with network_mode host (Docker ignores them too): left out',
      "c: network_mode: service:a: pocker containers do not share another's network namespace; the container is on the project's default network instead",
    ]);
    expect(refusal('services:\n  a:\n    image: nginx\n    networks: [nowhere]\n')).toMatch(
      /^INVALID \/srv\/app\/compose\.yaml:4:\d+: services\.a\.networks\.nowhere: network "nowhere" is not defined/,
    );
  });

  it('reports top-level network settings a CNI conflist decides', () => {
    const r = convert(
      'services:\n  a:\n    image: nginx\n    networks: [n]\nnetworks:\n  n:\n    driver: overlay\n    internal: true\n    ipam: {config: [{subnet: 10.5.0.0/16}]}\n',
    );
    expect(lines(r).map((l) => l.split(': ').slice(0, 2).join(': '))).toEqual([
      '(top-level): networks.n.driver',
      '(top-level): networks.n.internal',
      '(top-level): networks.n.ipam',
    ]);
  });
});

describe('volumes, binds, tmpfs, configs and secrets', () => {
  it('maps named volumes by the names compose gives them, and binds made absolute', () => {
    const r = convert(
      `services:
  a:
    image: busybox
    volumes:
      - data:/data
      - logs:/var/log:ro
      - shared:/shared:rw,nocopy
      - ./conf:/etc/app:ro
      - ../up:/up
      - /srv/abs:/abs
      - ~/cache:/cache
      - type: volume
        source: data
        target: /data2
        read_only: true
      - type: bind
        source: ./static
        target: /static
volumes:
  data:
  logs:
    name: central-logs
  shared:
    external: true
`,
      { env: { HOME: '/home/op' } },
    );
    expect(spec(r, 'a').volumes).toEqual([
      { name: 'app_data', target: '/data' },
      { name: 'central-logs', target: '/var/log', readOnly: true },
      { name: 'shared', target: '/shared' },
      { name: 'app_data', target: '/data2', readOnly: true },
    ]);
    expect(spec(r, 'a').mounts).toEqual([
      { source: '/srv/app/conf', target: '/etc/app', readOnly: true },
      { source: '/srv/up', target: '/up' },
      { source: '/srv/abs', target: '/abs' },
      { source: '/home/op/cache', target: '/cache' },
      { source: '/srv/app/static', target: '/static' },
    ]);
    expect(noteLines(r)).toContain(
      'a: volumes[3]: /srv/app/conf must exist on the host before the container starts (compose would create it; pocker creates no bind source)',
    );
    expect(noteLines(r).filter((n) => n.includes('/srv/app/static'))).toEqual([]);
  });

  it('mounts a local volume bound to a host dir from that dir, and reports driver settings pocker does not apply', () => {
    const r = convert(`services:
  a:
    image: busybox
    volumes: [bound:/bound, nfs:/nfs, plugin:/plugin]
volumes:
  bound:
    driver: local
    driver_opts: {type: none, o: bind, device: /srv/data}
  nfs:
    driver_opts: {type: nfs, o: "addr=10.0.0.1,rw", device: ":/export"}
    labels: {backup: daily}
  plugin:
    driver: rexray/ebs
`);
    expect(spec(r, 'a').mounts).toEqual([{ source: '/srv/data', target: '/bound' }]);
    expect(spec(r, 'a').volumes).toEqual([
      { name: 'app_nfs', target: '/nfs' },
      { name: 'app_plugin', target: '/plugin' },
    ]);
    expect(lines(r).map((l) => l.split(': ').slice(0, 2).join(': '))).toEqual([
      '(top-level): volumes.nfs.labels',
      '(top-level): volumes.nfs.driver_opts',
      '(top-level): volumes.plugin.driver',
    ]);
  });

  it('maps tmpfs mounts of both kinds, and reports anonymous volumes and second mounts of a target', () => {
    const r = convert(`services:
  a:
    image: busybox
    tmpfs:
      - /run:size=16m,mode=1777
      - /tmp:noexec
    volumes:
      - type: tmpfs
        target: /cache
        tmpfs: {size: 67108864, mode: 0755}
      - /anonymous
      - data:/run
volumes:
  data:
`);
    expect(spec(r, 'a').tmpfs).toEqual([{ target: '/cache', size: '64Mi', mode: '0755' }, { target: '/tmp' }]);
    expect(spec(r, 'a').volumes).toEqual([{ name: 'app_data', target: '/run' }]);
    expect(lines(r)).toEqual([
      "a: volumes[1]: anonymous volume at /anonymous: pocker has named volumes only; its data stays in the container's writable layer (kept across restarts, lost when the container is recreated)",
      'a: tmpfs[1]: tmpfs option "noexec" is not supported: ignored',
      'a: volumes: tmpfs at /run: the target is mounted already: left out',
    ]);
    expect(noteLines(r)).toContain("a: tmpfs[1]: tmpfs /tmp has no size: the kernel's default would be half of RAM, pocker's is 64Mi");
    const sized = convert('services:\n  a:\n    image: busybox\n    tmpfs: /run:size=16m,mode=1777\n');
    expect(spec(sized, 'a').tmpfs).toEqual([{ target: '/run', size: '16Mi', mode: '1777' }]);
    expect(refusal('services:\n  a:\n    image: busybox\n    volumes: ["undeclared:/x"]\n')).toMatch(
      /INVALID .*compose\.yaml:4:\d+: services\.a\.volumes\.0: volume "undeclared" is not defined/,
    );
  });

  it('maps configs to files at compose default targets: a file config as its source, content and environment ones inline', () => {
    const r = convert(
      `services:
  a:
    image: busybox
    configs:
      - site
      - source: inline
        target: /etc/app/app.ini
        mode: 0440
        uid: "1000"
        gid: 33
      - source: fromenv
        target: relative.conf
        mode: "0o640"
      - source: dotenv
        target: /etc/dotenv.conf
        mode: "600"
configs:
  site:
    file: ./site.conf
  inline:
    content: |
      [app]
      port = \${PORT:-8080}
      price = $$5
  fromenv:
    environment: APP_CONF
  dotenv:
    environment: FROM_DOTENV
`,
      { env: { APP_CONF: 'x=1\ny=$HOME' }, files: { '/srv/app/.env': 'FROM_DOTENV=dotenv value\n' } },
    );
    expect(spec(r, 'a').files).toEqual([
      { target: '/site', source: '/srv/app/site.conf', mode: '0444' },
      { target: '/etc/app/app.ini', content: '[app]\nport = 8080\nprice = $5\n', mode: '0440', uid: 1000, gid: 33 },
      { target: '/relative.conf', content: 'x=1\ny=$HOME', mode: '0640' },
      { target: '/etc/dotenv.conf', content: 'dotenv value', mode: '0600' },
    ]);
    expect(spec(r, 'a')).not.toHaveProperty('mounts');
    expect(spec(r, 'a')).not.toHaveProperty('secrets');
    expect(r.findings).toEqual([]);
    expect(noteLines(r).filter((n) => n.includes('configs.'))).toEqual([
      '(top-level): configs.site: pocker reads /srv/app/site.conf at every pass: a regular file of at most 1 MiB, owned by root (or a --trusted-owner) and writable by nobody else, as spec files are',
    ]);
    const rendered = renderSpec(r.specs[0]!, `${DIR}/compose.yaml`, r.project);
    expect(rendered).toContain('files:\n  - target: /site\n    source: /srv/app/site.conf\n    mode: "0444"\n');
  });

  it('reports configs it cannot carry: external ones, unset variables, templates, contents too large, bad owners and modes', () => {
    const r = convert(
      `services:
  a:
    image: busybox
    configs:
      - ext
      - unset
      - source: tpl
        uid: www-data
        gid: -1
        mode: 04755
      - big
      - source: tpl
        target: /tpl2
        mode: rw
configs:
  ext:
    external: true
  unset:
    environment: NOT_SET_ANYWHERE
  tpl:
    file: ./tpl.conf
    template_driver: golang
  big:
    content: "${'x'.repeat(1024 * 1024)}é"
`,
    );
    expect(spec(r, 'a').files).toEqual([
      { target: '/tpl', source: '/srv/app/tpl.conf', mode: '0444' },
      { target: '/tpl2', source: '/srv/app/tpl.conf', mode: '0444' },
    ]);
    expect(lines(r)).toEqual([
      'a: configs[0]: config ext: it is external (it lives in a swarm): put its content in a file, or inline, as a files entry of the spec: left out',
      'a: configs[1]: config unset: its content is the environment variable NOT_SET_ANYWHERE, which is not set: left out',
      '(top-level): configs.tpl.template_driver: templates are not rendered: the content is used as written',
      "a: configs[2].mode: 04755 is not a file mode (octal permission bits, at most 0777): compose's default 0444 is used",
      'a: configs[2].uid: "www-data" is not a numeric uid (0 to 4294967294): root\'s (0) is used',
      "a: configs[2].gid: -1 is not a numeric gid (0 to 4294967294): root's (0) is used",
      'a: configs[3]: config big: its content is 1048578 bytes, more than the 1048576 pocker takes for a file: left out',
      'a: configs[4].mode: "rw" is not a file mode (octal permission bits, at most 0777): compose\'s default 0444 is used',
    ]);
    expect(refusal('services:\n  a:\n    image: busybox\n    configs: [nope]\n')).toMatch(
      /services\.a\.configs\.0: config "nope" is not defined under the top-level "configs"/,
    );
  });

  it("maps secrets to pocker's secrets, read from its secrets dir, with a note per secret on putting the value there, never the value", () => {
    const r = convert(
      `services:
  a:
    image: busybox
    secrets:
      - db_password
      - source: api_key
        target: api
        mode: 0400
        uid: "33"
        gid: "33"
      - source: tls
        target: /etc/ssl/private/key.pem
      - source: renamed
  b:
    image: busybox
    secrets: [db_password]
secrets:
  db_password:
    file: ./secrets/db pass.txt
  api_key:
    environment: API_KEY
  tls:
    external: true
  renamed:
    file: /etc/app/token
    name: app_token
`,
      { env: { API_KEY: 'sk-live-VERY-SECRET' } },
    );
    expect(spec(r, 'a').secrets).toEqual([
      { name: 'db_password', mode: '0444' },
      { name: 'api_key', target: '/run/secrets/api', mode: '0400', uid: 33, gid: 33 },
      { name: 'tls', target: '/etc/ssl/private/key.pem', mode: '0444' },
      { name: 'app_token', target: '/run/secrets/renamed', mode: '0444' },
    ]);
    expect(spec(r, 'b').secrets).toEqual([{ name: 'db_password', mode: '0444' }]);
    expect(spec(r, 'a')).not.toHaveProperty('mounts');
    expect(r.findings).toEqual([]);
    const where = (name: string) =>
      `pocker reads its value from /etc/pocker/secrets/${name} (the default secrets dir; --secrets-dir or the instance config can name another)`;
    expect(noteLines(r).filter((n) => n.includes('secrets.'))).toEqual([
      `(top-level): secrets.db_password: ${where('db_password')}: as root, install -D -m 0400 -o root -g root '/srv/app/secrets/db pass.txt' /etc/pocker/secrets/db_password`,
      `(top-level): secrets.api_key: ${where('api_key')}: write the value of the variable API_KEY (the environment's, else .env's, as compose takes it) there, owned by root, mode 0400 (as root, with API_KEY set: umask 077; mkdir -p /etc/pocker/secrets; printf %s "$API_KEY" > /etc/pocker/secrets/api_key)`,
      `(top-level): secrets.tls: ${where('tls')}: it is external (it lives in a swarm): put its value there, owned by root, mode 0400`,
      `(top-level): secrets.renamed: ${where('app_token')}: as root, install -D -m 0400 -o root -g root /etc/app/token /etc/pocker/secrets/app_token`,
    ]);
    expect(SECRETS_DIR).toBe(DEFAULT_SECRETS_DIR);
    const everything = [...r.specs.map((c) => renderSpec(c, `${DIR}/compose.yaml`, r.project)), ...lines(r), ...noteLines(r)].join('\n');
    expect(everything).not.toContain('VERY-SECRET');
    const secretless = convert('services:\n  a:\n    image: busybox\n    secrets: [s]\nsecrets:\n  s: {}\n');
    expect(spec(secretless, 'a')).not.toHaveProperty('secrets');
    expect(lines(secretless)).toEqual(['a: secrets[0]: secret s: it has no file, environment or external: left out']);
  });

  it('derives a pocker secret name from a compose name that is none, distinct for each compose secret, and reports it', () => {
    const r = convert(`services:
  a:
    image: busybox
    secrets:
      - spaced
      - plain
      - _hidden
      - ext_one
      - ext_two
      - source: plain
        target: /etc/plain-again
  b:
    image: busybox
    secrets: [ext_two]
secrets:
  spaced:
    file: ./a
    name: my app/db
  plain:
    file: ./b
    name: my_app_db
  _hidden:
    environment: HIDDEN
  ext_one:
    external: true
    name: shared
  ext_two:
    external:
      name: shared
`);
    expect(spec(r, 'a').secrets).toEqual([
      { name: 'my_app_db-2', target: '/run/secrets/spaced', mode: '0444' },
      { name: 'my_app_db', target: '/run/secrets/plain', mode: '0444' },
      { name: 'hidden', target: '/run/secrets/_hidden', mode: '0444' },
      { name: 'shared', target: '/run/secrets/ext_one', mode: '0444' },
    ]);
    expect(spec(r, 'b').secrets).toEqual([{ name: 'shared', target: '/run/secrets/ext_two', mode: '0444' }]);
    expect(lines(r)).toEqual([
      '(top-level): secrets.spaced.name: "my app/db" is not a pocker secret name (letters, digits, "_", ".", "-", a letter or digit first; at most 63): it is my_app_db-2 in pocker\'s secrets dir',
      '(top-level): secrets._hidden: "_hidden" is not a pocker secret name (letters, digits, "_", ".", "-", a letter or digit first; at most 63): it is hidden in pocker\'s secrets dir',
      'a: secrets[4]: secret ext_two: secrets[3] gives the container secret shared already, and pocker gives a secret once per container: left out',
      'a: secrets[5]: secret plain: secrets[1] gives the container secret my_app_db already, and pocker gives a secret once per container: left out',
    ]);
    expect(noteLines(r)).toContain(
      '(top-level): secrets._hidden: pocker reads its value from /etc/pocker/secrets/hidden (the default secrets dir; --secrets-dir or the instance config can name another): write the value of the variable HIDDEN (the environment\'s, else .env\'s, as compose takes it) there, owned by root, mode 0400 (as root, with HIDDEN set: umask 077; mkdir -p /etc/pocker/secrets; printf %s "$HIDDEN" > /etc/pocker/secrets/hidden)',
    );
  });

  it('reports a file or secret whose target is taken, cannot be mounted over, or lies inside a mount, volume or tmpfs', () => {
    const r = convert(`services:
  a:
    image: busybox
    volumes:
      - ./conf:/etc/app
      - data:/var/lib/app
    tmpfs: /run
    configs:
      - source: c
        target: /etc/app/app.ini
      - source: c
        target: /etc/app
      - source: c
        target: /proc/sys/x
      - source: c
        target: /srv/c.conf
      - source: c
        target: /srv/c.conf
      - source: c
        target: /var/lib/app/seed.sql
      - source: c
        target: /etc/app-other.ini
      - source: c
        target: /var/lib
    secrets:
      - s
      - source: t
        target: ../../etc/passwd
      - source: t
        target: /srv/c.conf
      - source: t
        target: /etc/app-other.ini/x
      - source: t
        target: /etc/ssl/t.pem
volumes:
  data:
configs:
  c:
    content: hello
secrets:
  s:
    external: true
  t:
    external: true
`);
    expect(spec(r, 'a').files).toEqual([
      { target: '/srv/c.conf', content: 'hello', mode: '0444' },
      { target: '/etc/app-other.ini', content: 'hello', mode: '0444' },
    ]);
    expect(spec(r, 'a').secrets).toEqual([{ name: 't', target: '/etc/ssl/t.pem', mode: '0444' }]);
    const inside = ", and pocker puts no file inside another mount (its mount point would be made in that mount's source): left out";
    expect(lines(r)).toEqual([
      `a: configs[0]: config c: /etc/app/app.ini lies inside the mount at /etc/app${inside}`,
      'a: configs[1]: config c: /etc/app is mounted already: left out',
      'a: configs[2]: config c: target /proc/sys/x: "/proc/sys/x" is inside /proc, /sys or /dev, which pocker sets up itself: left out',
      'a: configs[4]: config c: /srv/c.conf is mounted already: left out',
      `a: configs[5]: config c: /var/lib/app/seed.sql lies inside the mount at /var/lib/app${inside}`,
      'a: configs[7]: config c: /var/lib would be a file, and /var/lib/app is mounted below it: left out',
      `a: secrets[0]: secret s: /run/secrets/s lies inside the mount at /run${inside}`,
      'a: secrets[1]: secret t: target /run/secrets/../../etc/passwd: "/run/secrets/../../etc/passwd" contains ".."; write the path without . or .. parts: left out',
      'a: secrets[2]: secret t: /srv/c.conf is mounted already: left out',
      'a: secrets[3]: secret t: /etc/app-other.ini/x lies below /etc/app-other.ini, which is a file of the container: left out',
    ]);
  });
});

describe('dependencies and health checks', () => {
  it('maps depends_on forms and conditions to container names', () => {
    const r = convert(`services:
  web:
    image: nginx
    depends_on: [api]
  api:
    image: busybox
    depends_on:
      db: {condition: service_healthy, restart: true}
      migrate: {condition: service_completed_successfully}
      cache: {}
  db:
    image: postgres
    container_name: pg
    healthcheck: {test: ["CMD", "pg_isready"]}
  migrate:
    image: busybox
  cache:
    image: redis
`);
    expect(spec(r, 'web').dependsOn).toEqual([{ name: 'api' }]);
    expect(spec(r, 'api').dependsOn).toEqual([
      { name: 'pg', condition: 'healthy', restartWith: true },
      { name: 'migrate', condition: 'completed' },
      { name: 'cache' },
    ]);
  });

  it('waits for started when the dependency has no check pocker runs, and drops dependencies on services not converted', () => {
    const r = convert(`services:
  a:
    image: busybox
    depends_on:
      b: {condition: service_healthy}
      c: {condition: service_started}
      gone: {condition: service_started, required: false}
  b:
    image: busybox
  c:
    build: .
`);
    expect(spec(r, 'a').dependsOn).toEqual([{ name: 'b' }]);
    expect(lines(r)).toEqual([
      expect.stringMatching(/^c: build: /),
      "a: depends_on.b: service_healthy: b has no health check pocker runs (none, or only its image's HEALTHCHECK): waits until it is started",
      'a: depends_on.c: c is not converted (see its findings): no dependency',
      'a: depends_on.gone: the service is not defined (required: false): no dependency',
    ]);
    expect(refusal('services:\n  a:\n    image: busybox\n    depends_on: [ghost]\n')).toMatch(
      /^INVALID .*:4:\d+: services\.a\.depends_on: service "ghost" is not defined/,
    );
  });

  it("maps every test form, with Docker's defaults written out and onUnhealthy none", () => {
    const r = convert(`services:
  a:
    image: busybox
    healthcheck:
      test: ["CMD", "wget", "-q", "--spider", "http://localhost/"]
      interval: 1m
      timeout: 10s
      retries: 2
      start_period: 40s
  b:
    image: busybox
    healthcheck:
      test: ["CMD-SHELL", "curl -f http://localhost || exit 1"]
  c:
    image: busybox
    healthcheck:
      test: redis-cli ping | grep PONG
      interval: 1500ms
  d:
    image: busybox
    healthcheck: {test: ["NONE"]}
  e:
    image: busybox
    healthcheck: {test: ["CMD", "true"], disable: true}
  f:
    image: busybox
    healthcheck: {interval: 5s}
`);
    expect(spec(r, 'a').healthcheck).toEqual({
      exec: ['wget', '-q', '--spider', 'http://localhost/'],
      interval: '1m',
      timeout: '10s',
      retries: 2,
      startPeriod: '40s',
      onUnhealthy: 'none',
    });
    expect(spec(r, 'b').healthcheck).toEqual({
      exec: ['sh', '-c', 'curl -f http://localhost || exit 1'],
      interval: '30s',
      timeout: '30s',
      retries: 3,
      onUnhealthy: 'none',
    });
    expect(spec(r, 'c').healthcheck).toMatchObject({ exec: ['sh', '-c', 'redis-cli ping | grep PONG'], interval: '1500ms' });
    for (const s of ['d', 'e', 'f']) expect(spec(r, s).healthcheck, s).toBeUndefined();
    expect(lines(r)).toEqual([expect.stringMatching(/^f: healthcheck: no test: Docker would run the image's HEALTHCHECK/)]);
  });
});
