import { describe, expect, it } from 'vitest';
import { convertCompose } from '../../reconciler/convert/convert.js';
import { ConvertError } from '../../reconciler/convert/errors.js';
import { MemoryFiles } from '../../reconciler/convert/files.js';
import { normalizeProjectName } from '../../reconciler/convert/project.js';
import { formatFinding } from '../../reconciler/convert/report.js';
import type { Environment } from '../../reconciler/convert/types.js';

const run = (text: string, opts: { path?: string; env?: Environment; files?: Record<string, string> } = {}) =>
  convertCompose({
    composePath: opts.path ?? '/srv/My App.v2/compose.yaml',
    text,
    env: opts.env ?? {},
    files: new MemoryFiles(opts.files ?? {}),
  });
function refusal(text: string, opts: Parameters<typeof run>[1] = {}): ConvertError {
  try {
    run(text, opts);
  } catch (e) {
    if (e instanceof ConvertError) return e;
    throw e;
  }
  throw new Error('converted');
}
const WEB = 'services:\n  web:\n    image: nginx:${TAG:-1.27}\n';

describe('the project', () => {
  it('normalizes names as compose does', () => {
    expect(normalizeProjectName('My App.v2')).toBe('myappv2');
    expect(normalizeProjectName('__Shop-1_')).toBe('shop-1_');
  });

  it('is named by COMPOSE_PROJECT_NAME, else name:, else the dir; networks and volumes carry the name', () => {
    const text = `${WEB}    volumes: [data:/data]\nvolumes:\n  data:\n`;
    const byDir = run(text);
    expect(byDir.project).toBe('myappv2');
    expect(byDir.specs[0]!.spec).toMatchObject({ network: { name: 'myappv2_default' }, volumes: [{ name: 'myappv2_data' }] });
    expect(run(`name: shop\n${text}`).project).toBe('shop');
    expect(run(`name: \${PROJECT}\n${text}`, { env: { PROJECT: 'from-env' } }).project).toBe('from-env');
    expect(run(`name: shop\n${text}`, { files: { '/srv/My App.v2/.env': 'COMPOSE_PROJECT_NAME=override\n' } }).project).toBe('override');
    const bad = run(`name: Shop Front\n${text}`);
    expect(bad.project).toBe('shopfront');
    expect(bad.findings.map(formatFinding)).toEqual([
      '(top-level): name: project name "Shop Front" is not a compose project name (lowercase letters, digits, "_", "-"): used as "shopfront"',
    ]);
  });

  it('interpolates from the process environment over .env, and leaves x- fields alone', () => {
    const files = { '/srv/My App.v2/.env': '# pinned\nTAG=1.26\nPORT=8080\nHOST_PORT=${PORT}\n' };
    const text = `${WEB}    ports: ["\${HOST_PORT}:80"]\n    environment: {PRICE: "$$5", U: "\${UNSET}"}\nx-doc: "\${NOT:?ignored}"\n`;
    const r = run(text, { files });
    expect(r.specs[0]!.spec).toMatchObject({
      image: 'nginx:1.26',
      env: { PRICE: '$5', U: '' },
      network: { ports: [{ host: 8080, container: 80 }] },
    });
    expect(r.notes.map(formatFinding)).toContain('web: environment.U: variable UNSET is not set: a blank string is used, as compose does');
    expect(run(text, { files, env: { TAG: '1.25' } }).specs[0]!.spec.image).toBe('nginx:1.25');
    expect(run(text).specs[0]!.spec.image).toBe('nginx:1.27');
  });

  it('reads YAML 1.1 octals as compose does, and "no" as a string', () => {
    const r = run(`${WEB}    restart: no\n    volumes: [{type: tmpfs, target: /c, tmpfs: {size: 4096, mode: 0640}}]\n`);
    expect(r.specs[0]!.spec).toMatchObject({ restart: 'never', tmpfs: [{ target: '/c', size: '4Ki', mode: '0640' }] });
  });

  it('ignores version and reports include and unknown top-level keys', () => {
    const r = run(`version: "3.9"\ninclude: [other.yaml]\nsurprise: 1\n${WEB}`);
    expect(r.findings.map(formatFinding)).toEqual([
      '(top-level): include: the included compose files are not read: convert each of them on its own',
      '(top-level): surprise: not a top-level key convert knows: ignored',
    ]);
  });
});

describe('compose files compose refuses', () => {
  it('locates YAML errors as file:line:col, as spec files are', () => {
    const e = refusal('services:\n  web:\n    image: nginx\n    image: httpd\n');
    expect(e.code).toBe('YAML');
    expect(e.message).toMatch(/^\/srv\/My App\.v2\/compose\.yaml:4:5: Map keys must be unique/);
    expect(refusal('services:\n  web: [unclosed\n').message).toMatch(/^\/srv\/My App\.v2\/compose\.yaml:\d+:\d+: /);
  });

  it('locates a required variable that is not set', () => {
    const e = refusal('services:\n  web:\n    image: nginx\n    environment:\n      KEY: ${API_KEY:?give the API key}\n');
    expect([e.code, e.message]).toEqual([
      'INTERPOLATION',
      '/srv/My App.v2/compose.yaml:5:12: required variable API_KEY is missing a value: give the API key',
    ]);
    expect(refusal('services:\n  web:\n    image: nginx\n    command: echo $\n').code).toBe('INTERPOLATION');
  });

  it('refuses documents that are no compose file', () => {
    expect(refusal('').message).toContain('the compose file is empty');
    expect(refusal('- a\n- b\n').message).toContain('must be a mapping');
    expect(refusal('name: x\n').message).toContain('"services" must be a mapping of services, not nothing');
    expect(refusal('services:\n  web: nginx\n').message).toMatch(/compose\.yaml:2:8: services\.web must be a mapping/);
    expect(refusal('services: {}\n---\nservices: {}\n').message).toMatch(/:2:1: the compose file holds several YAML documents/);
    expect(refusal('services:\n  web:\n    image: nginx\n    restart: sometimes\n').message).toMatch(
      /:4:14: services\.web\.restart: restart is no, always/,
    );
    expect(refusal('services:\n  web:\n    image: nginx\n    depends_on: [web]\n').message).toContain('a service cannot depend on itself');
    expect(
      refusal('services:\n  a:\n    image: nginx\n    depends_on: [b]\n  b:\n    image: nginx\n    depends_on: [a]\n').message,
    ).toMatch(/:4:17: services\.a\.depends_on: dependency cycle a -> b -> a$/);
  });

  it('reads only the files it is pointed at: .env next to the compose file and the env_files', () => {
    const files = new MemoryFiles({ '/p/a.env': 'A=1' });
    convertCompose({ composePath: '/p/compose.yaml', text: 'services:\n  w:\n    image: nginx\n    env_file: a.env\n', env: {}, files });
    expect(files.reads).toEqual(['/p/.env', '/p/a.env']);
  });
});
