import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { convertCompose } from '../../reconciler/convert/convert.js';
import { renderSpec } from '../../reconciler/convert/emit.js';
import { NodeComposeFiles } from '../../reconciler/convert/files.js';
import { formatFinding } from '../../reconciler/convert/report.js';
import type { ConvertResult, Environment, SpecDocument } from '../../reconciler/convert/types.js';
import { loadSpecDir } from '../../reconciler/spec/load.js';
import { formatSpecError } from '../../reconciler/spec/types.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const ENV: Environment = { HOME: '/home/ops', STRIPE_KEY: 'sk_test', GRAFANA_PASSWORD: 'admin-pw' };

describe('real-world compose files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pocker-convert-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Converts a fixture, writes its specs into a fresh dir and loads that dir as `pocker validate --dir` does. */
  function convertAndValidate(file: string, env: Environment = ENV): ConvertResult & { spec(service: string): SpecDocument } {
    const composePath = join(FIXTURES, file);
    const r = convertCompose({ composePath, text: readFileSync(composePath, 'utf8'), env, files: new NodeComposeFiles() });
    for (const c of r.specs) writeFileSync(join(dir, c.file), renderSpec(c, composePath, r.project));
    const load = loadSpecDir(dir);
    expect(load.errors.map(formatSpecError)).toEqual([]);
    expect(load.status).toBe('ok');
    expect(load.desired.map((d) => d.spec.name).sort()).toEqual(r.specs.map((c) => c.spec.name).sort());
    return { ...r, spec: (service) => r.specs.find((c) => c.service === service)!.spec };
  }

  it('a web shop: anchors and merge keys, env files, healthy and completed dependencies, named volumes, configs as files, secrets', () => {
    const r = convertAndValidate('shop/compose.yaml');
    expect(r.project).toBe('shop');
    expect(r.specs.map((c) => c.file)).toEqual(['proxy.yaml', 'api.yaml', 'worker.yaml', 'migrate.yaml', 'db.yaml', 'cache.yaml']);
    expect(r.spec('api')).toMatchObject({
      image: 'ghcr.io/example/shop-api:1.5.0',
      args: ['gunicorn', 'shop.wsgi', '--bind', '0.0.0.0:8000'],
      env: { SECRET_KEY: 's3cr3t$value', GREETING: 'Hello\nWorld', LOG_LEVEL: 'info', DATABASE_USER: 'shop', WORKERS: '4', DEBUG: 'false' },
      resources: { cpus: 0.5, memory: '512Mi', pids: 200 },
      network: { mode: 'bridge', name: 'shop_frontend', aliases: ['backend-api'] },
      restart: 'always',
      dependsOn: [{ name: 'db', condition: 'healthy', restartWith: true }, { name: 'cache' }, { name: 'migrate', condition: 'completed' }],
      healthcheck: {
        exec: ['curl', '-fsS', 'http://localhost:8000/health'],
        interval: '10s',
        timeout: '2s',
        retries: 3,
        startPeriod: '20s',
        onUnhealthy: 'none',
      },
    });
    expect(r.spec('api').files).toEqual([{ target: '/app_settings', content: '[shop]\ncurrency = EUR\ntag = 1.5.0\n', mode: '0444' }]);
    expect(r.spec('api').secrets).toEqual([
      { name: 'db_password', mode: '0444' },
      { name: 'stripe_key', target: '/run/secrets/stripe', mode: '0400' },
    ]);
    expect(r.spec('api')).not.toHaveProperty('mounts');
    expect(r.spec('worker')).toMatchObject({
      env: { LOG_LEVEL: 'warning', C_FORCE_ROOT: '1' },
      stopGracePeriod: '1m30s',
      stopSignal: 'SIGINT',
    });
    expect(r.spec('migrate')).toMatchObject({ restart: 'never', args: ['python', 'manage.py', 'migrate', '--noinput'] });
    expect(r.spec('db')).toMatchObject({
      volumes: [{ name: 'shop_db-data', target: '/var/lib/postgresql/data' }],
      mounts: [{ source: join(FIXTURES, 'shop/initdb'), target: '/docker-entrypoint-initdb.d', readOnly: true }],
      secrets: [{ name: 'db_password', mode: '0444' }],
      healthcheck: { exec: ['sh', '-c', 'pg_isready -U ${POSTGRES_USER} -d shop'] },
      network: { name: 'shop-internal' },
    });
    expect(r.spec('cache')).toMatchObject({
      args: ['redis-server', '--appendonly', 'yes', '--maxmemory', '256mb'],
      volumes: [{ name: 'shop_redis' }],
      resources: { memory: '300Mi' },
    });
    expect(r.spec('proxy')).toMatchObject({
      network: {
        ports: [
          { host: 80, container: 80 },
          { host: 8443, container: 443, hostIP: '127.0.0.1' },
        ],
      },
      files: [{ target: '/etc/nginx/conf.d/default.conf', source: join(FIXTURES, 'shop/nginx/default.conf'), mode: '0444' }],
      tmpfs: [{ target: '/var/cache/nginx', size: '32Mi' }, { target: '/var/run' }],
      readOnlyRootfs: true,
    });
    expect(r.findings.map(formatFinding)).toEqual([
      '(top-level): name: project name "Shop" is not a compose project name (lowercase letters, digits, "_", "-"): used as "shop"',
      'api: networks.backend: pocker attaches a container to one network: it is on shop_frontend (frontend) only, not on shop-internal',
      "api: logging: pocker keeps each container's output in its own rotated log (pocker logs); log drivers are not supported",
      "worker: logging: pocker keeps each container's output in its own rotated log (pocker logs); log drivers are not supported",
      "migrate: logging: pocker keeps each container's output in its own rotated log (pocker logs); log drivers are not supported",
      "db: shm_size: the size of /dev/shm is pocker's own",
    ]);
    expect(r.spec('proxy')).not.toHaveProperty('mounts');
    const where = (name: string) =>
      `pocker reads its value from /etc/pocker/secrets/${name} (the default secrets dir; --secrets-dir or the instance config can name another)`;
    expect(r.notes.map(formatFinding).filter((n) => n.includes(': secrets.'))).toEqual([
      `(top-level): secrets.db_password: ${where('db_password')}: as root, install -D -m 0400 -o root -g root ${join(FIXTURES, 'shop/secrets/db_password.txt')} /etc/pocker/secrets/db_password`,
      `(top-level): secrets.stripe_key: ${where('stripe_key')}: write the value of the variable STRIPE_KEY (the environment's, else .env's, as compose takes it) there, owned by root, mode 0400 (as root, with STRIPE_KEY set: umask 077; mkdir -p /etc/pocker/secrets; printf %s "$STRIPE_KEY" > /etc/pocker/secrets/stripe_key)`,
    ]);
    const written = r.specs.map((c) => readFileSync(join(dir, c.file), 'utf8')).join('\n');
    expect([written, ...r.findings.map(formatFinding), ...r.notes.map(formatFinding)].join('\n')).not.toContain(ENV.STRIPE_KEY);
  });

  it('the WordPress quickstart: the default network, volumes and dependencies', () => {
    const r = convertAndValidate('wordpress/docker-compose.yml');
    expect(r.project).toBe('wordpress');
    expect(r.spec('db')).toMatchObject({
      image: 'mariadb:10.6.4-focal',
      args: ['--default-authentication-plugin=mysql_native_password'],
      volumes: [{ name: 'wordpress_db_data', target: '/var/lib/mysql' }],
      network: { mode: 'bridge', name: 'wordpress_default' },
      restart: 'always',
    });
    expect(r.spec('wordpress')).toMatchObject({
      env: { WORDPRESS_DB_HOST: 'db', WORDPRESS_DB_NAME: 'wordpress' },
      network: { name: 'wordpress_default', ports: [{ host: 80, container: 80 }] },
      dependsOn: [{ name: 'db' }],
    });
    expect(r.findings.map(formatFinding)).toEqual([
      'db: expose: nothing to convert: containers of a network reach each other on every port; only ports are published',
    ]);
  });

  it('a monitoring stack: container names, host networking, binds under ~, restart limits', () => {
    const r = convertAndValidate('monitoring/compose.yml');
    expect(r.spec('prometheus')).toMatchObject({
      name: 'prometheus',
      user: '65534:65534',
      network: { aliases: ['prom'], ports: [{ host: 9090, hostIP: '127.0.0.1' }] },
    });
    expect(r.spec('grafana')).toMatchObject({
      env: { GF_SECURITY_ADMIN_PASSWORD: 'admin-pw', GF_USERS_ALLOW_SIGN_UP: 'false' },
      mounts: [{ source: '/home/ops/grafana/provisioning', target: '/etc/grafana/provisioning', readOnly: true }],
      restart: 'on-failure',
      user: '472',
    });
    expect(r.spec('node-exporter')).toMatchObject({
      network: { mode: 'host' },
      capabilities: { add: ['SYS_TIME'] },
      mounts: [{ source: '/', target: '/host', readOnly: true }],
    });
    expect(r.spec('alertmanager')).toMatchObject({ resources: { cpus: 0.25, pids: 100 }, stopGracePeriod: '30s', restart: 'never' });
    expect(r.findings.map((f) => `${f.service}: ${f.field}`)).toEqual([
      'grafana: restart',
      'node-exporter: volumes[0].bind.propagation',
      'node-exporter: pid',
    ]);
    expect(() => convertAndValidate('monitoring/compose.yml', { HOME: '/h' })).toThrow(
      /required variable GRAFANA_PASSWORD is missing a value: set GRAFANA_PASSWORD/,
    );
  });

  it('a file full of what pocker cannot carry: each reported, the rest still a valid spec', () => {
    const r = convertAndValidate('legacy/docker-compose.yml');
    expect(r.specs.map((c) => c.spec.name)).toEqual(['redis-cache']);
    expect(r.spec('Redis_Cache')).toMatchObject({
      command: ['docker-entrypoint.sh'],
      args: ['sh', '-c', 'redis-server && echo done'],
      network: {
        name: 'legacy_one',
        ports: [
          { host: 7000, container: 7000 },
          { host: 7001, container: 7001 },
        ],
      },
    });
    expect(r.findings.map((f) => `${f.service}: ${f.field}`)).toEqual([
      'app: build',
      'Redis_Cache: (service name)',
      'Redis_Cache: entrypoint',
      'Redis_Cache: environment.UNSET_VARIABLE_FOR_CONVERT_TEST',
      'Redis_Cache: environment.spring.profiles.active',
      'Redis_Cache: ports[0]',
      'Redis_Cache: ports[1]',
      'Redis_Cache: networks.two',
      'Redis_Cache: volumes[0]',
      'Redis_Cache: deploy.replicas',
      'Redis_Cache: labels',
      'Redis_Cache: logging',
      'Redis_Cache: extra_hosts',
      'Redis_Cache: sysctls',
      'Redis_Cache: ulimits',
      'debug: profiles',
    ]);
  });
});
