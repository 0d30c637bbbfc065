import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkSpecTexts } from '../../reconciler/convert/check.js';
import { convertCompose } from '../../reconciler/convert/convert.js';
import { renderSpec } from '../../reconciler/convert/emit.js';
import { ConvertError } from '../../reconciler/convert/errors.js';
import { MemoryFiles } from '../../reconciler/convert/files.js';
import { formatSpecError } from '../../reconciler/spec/types.js';
import { yaml } from '../../reconciler/spec/yamlLocate.js';

const SERVICES = ['web', 'api', 'db', 'My_Worker', 'cache'];
const port = fc.integer({ min: 0, max: 65535 });
const words = fc.constantFrom('a', 'b', 'x y', 'echo hi', 'sh -c "exit 0"', 'run; rm', '', '"it\'s"', '${HOME}', '--flag=1', '$$x');
const duration = fc.constantFrom('10s', '1m30s', '500ms', '0', '50ms', '5ms', '25h', 'soon', 30, '1h', '100us');
const size = fc.constantFrom('512m', '1g', '1k', '3m', '100', 0, 1048576, 'huge', '2.5g', -1, '1024k');
const service = fc.record(
  {
    image: fc.constantFrom('nginx:1.27', 'ghcr.io/o/app:2', 'Bad Image', 'redis', undefined),
    build: fc.constantFrom(undefined, '.'),
    container_name: fc.constantFrom(undefined, 'web', 'Main_DB', 'x', 'shared'),
    hostname: fc.constantFrom(undefined, 'web', 'db', 'host.local', 'bad_host', 'cache'),
    command: fc.oneof(fc.array(words, { maxLength: 3 }), words),
    entrypoint: fc.oneof(fc.constant(undefined), fc.array(words, { maxLength: 2 }), words),
    environment: fc.dictionary(
      fc.constantFrom('A', 'B_1', 'bad-key', '1X', 'PATH', 'x.y'),
      fc.oneof(fc.constantFrom('', 'v', 'a b', '$${X}', '${HOME}', 'ü'), fc.integer(), fc.boolean(), fc.constant(null)),
    ),
    ports: fc.array(
      fc.oneof(
        fc.tuple(port, port).map(([h, c]) => `${h}:${c}`),
        fc.tuple(port, port, fc.constantFrom('tcp', 'udp', 'sctp')).map(([h, c, p]) => `127.0.0.1:${h}:${c}/${p}`),
        fc.tuple(port, fc.integer({ min: 0, max: 3 })).map(([h, n]) => `${h}-${h + n}:${h}-${h + n}`),
        port.map(String),
        fc.record({
          target: port,
          published: fc.oneof(port, fc.constant(undefined)),
          host_ip: fc.constantFrom(undefined, '::1', '10.0.0.1'),
        }),
      ),
      { maxLength: 4 },
    ),
    volumes: fc.array(
      fc.constantFrom('data:/data', 'data:/data:ro', './x:/x', '/abs:/abs:rw', '/anon', 'logs:/proc/x', './y:/data', 'data:/', '~/h:/h', {
        type: 'tmpfs',
        target: '/t',
        tmpfs: { size: '1k', mode: 0o1777 },
      }),
      { maxLength: 4 },
    ),
    tmpfs: fc.constantFrom(undefined, '/run', ['/tmp:size=1m', '/t'], '/dev/shm:size=64m'),
    networks: fc.constantFrom(undefined, ['front'], ['back', 'front'], { front: { aliases: ['web', 'db', 'alias1', 'Bad_Alias'] } }),
    depends_on: fc.oneof(
      fc.subarray(SERVICES),
      fc.dictionary(
        fc.constantFrom(...SERVICES),
        fc.record({
          condition: fc.constantFrom('service_started', 'service_healthy', 'service_completed_successfully'),
          restart: fc.boolean(),
        }),
      ),
    ),
    healthcheck: fc.oneof(
      fc.constant(undefined),
      fc.record({
        test: fc.oneof(words, fc.constant(['CMD', 'true']), fc.constant(['NONE'])),
        interval: duration,
        timeout: duration,
        retries: fc.integer({ min: -1, max: 2000 }),
        start_period: duration,
      }),
    ),
    restart: fc.constantFrom(undefined, 'no', 'always', 'on-failure:3', 'unless-stopped'),
    mem_limit: size,
    memswap_limit: size,
    cpus: fc.constantFrom(undefined, 0.5, '2', 0, 0.001, 'x', 5000),
    pids_limit: fc.constantFrom(undefined, -1, 0, 100, 1.5),
    cpu_shares: fc.constantFrom(undefined, 1, 512, 300000),
    user: fc.constantFrom(undefined, 1000, 'app', 'App', '1000:1000', ':'),
    working_dir: fc.constantFrom(undefined, '/srv', 'rel', '/a/../b'),
    stop_signal: fc.constantFrom(undefined, 'SIGINT', 'KILL', 'WHAT', '3'),
    stop_grace_period: duration,
    cap_add: fc.subarray(['NET_ADMIN', 'sys_time', 'ALL', 'FLY']),
    configs: fc.array(
      fc.constantFrom(
        'site',
        'inline',
        'env',
        'unset',
        'ext',
        { source: 'inline', target: '/etc/x.conf', mode: 0o440, uid: '1000', gid: 1000 },
        { source: 'env', target: 'rel/x', mode: '0o600' },
        { source: 'site', target: '/data/in-volume' },
        { source: 'site', target: '/x' },
        { source: 'inline', target: '/t' },
        { source: 'inline', target: '/' },
        { source: 'inline', target: '/etc/dir/' },
        { source: 'inline', target: '/proc/x', mode: 'rw', uid: 'app' },
        { source: 'site', target: '/run/secrets/db' },
        { source: 'inline', target: '/etc' },
      ),
      { maxLength: 4 },
    ),
    secrets: fc.array(
      fc.constantFrom(
        'db',
        'env',
        'ext',
        'weird',
        'weird2',
        { source: 'db', target: '/run/x' },
        { source: 'ext', target: '../x' },
        { source: 'env', target: 'api', mode: 0o400, uid: '33', gid: '33' },
        { source: 'db', target: '/data' },
        { source: 'ext', target: '/etc/x.conf/key' },
        { source: 'weird', target: '/etc/x.conf', mode: 0o4755 },
      ),
      { maxLength: 4 },
    ),
  },
  { requiredKeys: [] },
);
/** Services as compose takes them: network_mode or networks, dependencies on other services only. */
const services = fc
  .tuple(
    fc.dictionary(fc.constantFrom(...SERVICES), service, { minKeys: 1 }),
    fc.array(fc.constantFrom(undefined, 'host', 'none', 'bridge')),
  )
  .map(([generated, modes]) => {
    const all = structuredClone(generated);
    Object.entries(all).forEach(([name, svc], i) => {
      const s = svc as Record<string, unknown>;
      const mode = modes[i];
      if (mode) [s.network_mode, s.networks] = [mode, undefined];
      const deps = s.depends_on;
      if (Array.isArray(deps)) s.depends_on = deps.filter((d) => d !== name && d in all);
      else if (deps && typeof deps === 'object')
        s.depends_on = Object.fromEntries(Object.entries(deps).filter(([d]) => d !== name && d in all));
    });
    return all;
  });
const compose = fc.record({
  services,
  networks: fc.constant({ front: null, back: { name: 'shared' } }),
  volumes: fc.constant({ data: null, logs: { name: 'central' } }),
  configs: fc.constant({
    site: { file: './site.conf' },
    inline: { content: 'a=${HOME}\n' },
    env: { environment: 'HOME' },
    unset: { environment: 'NOT_SET' },
    ext: { external: true },
  }),
  secrets: fc.constant({
    db: { file: './db.txt' },
    env: { environment: 'HOME' },
    ext: { external: true },
    weird: { file: '/s', name: 'my secret!' },
    weird2: { external: true, name: 'my_secret_' },
  }),
});

describe('any compose file', () => {
  it('either is refused with a ConvertError, or gives specs pocker validate accepts as a dir', () => {
    fc.assert(
      fc.property(compose, (c) => {
        const text = yaml().stringify(c);
        let r;
        try {
          r = convertCompose({ composePath: '/srv/app/compose.yaml', text, env: { HOME: '/root' }, files: new MemoryFiles() });
        } catch (e) {
          expect(e).toBeInstanceOf(ConvertError);
          return;
        }
        const texts = r.specs.map((s) => ({ file: s.file, text: renderSpec(s, '/srv/app/compose.yaml', r.project) }));
        expect(checkSpecTexts('/specs', texts).map(formatSpecError), text).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });
});
