import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mainHelp } from '../../reconciler/cli/dispatch.js';
import { EXPORT_HELP, runExport } from '../../reconciler/cli/export.js';
import { packageRoot } from '../../reconciler/native.js';
import { UsageError } from '../../reconciler/cli/options.js';
import { parseSpecFile } from '../../reconciler/spec/parse.js';
import { formatSpecError } from '../../reconciler/spec/types.js';
import { containerPaths } from '../../reconciler/state/layout.js';
import { kubeSchemaErrors } from '../helpers/kube.js';
import { recordOf } from '../helpers/specs.js';
import { yaml } from '../../reconciler/spec/yamlLocate.js';

const WEB = `name: web
image: nginx:1.27
network: {mode: bridge, ports: [{host: 8080, container: 80}]}
files: [{target: /etc/nginx/conf.d/site.conf, source: site.conf}]
secrets: [{name: tls}]
`;
const PLAIN = `name: plain
image: nginx:1.27
network: {mode: bridge}
restart: always
`;

describe('pocker export kube', () => {
  let root: string;
  let dir: string;
  let out: { stdout: string; stderr: string };
  const run = (...args: string[]) => {
    out = { stdout: '', stderr: '' };
    return runExport(args, { cwd: root, stdout: (t) => (out.stdout += t), stderr: (t) => (out.stderr += t) });
  };
  const flags = () => [
    '--dir',
    dir,
    '--data-dir',
    join(root, 'data'),
    '--state-dir',
    join(root, 'state'),
    '--secrets-dir',
    join(root, 'secrets'),
  ];
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'pocker-export-'));
    dir = join(root, 'specs');
    mkdirSync(dir);
    writeFileSync(join(dir, 'web.yaml'), WEB);
    writeFileSync(join(dir, 'site.conf'), 'server { listen 80; }\n');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('prints valid objects on stdout, warnings and notes on stderr, and pocker reads the stream back', () => {
    expect(run('kube', ...flags())).toBe(0);
    const docs = yaml()
      .parseAllDocuments(out.stdout)
      .map((d) => d.toJS() as Record<string, unknown>);
    expect(docs.map((d) => `${String(d.kind)}/${String((d.metadata as { name: string }).name)}`)).toEqual([
      'ConfigMap/web-files',
      'Pod/web',
      'Service/web',
    ]);
    for (const d of docs) expect(kubeSchemaErrors(d)).toEqual([]);
    expect(docs[0]).toMatchObject({ data: { 'site.conf': 'server { listen 80; }\n' } });
    const lines = out.stderr.trimEnd().split('\n');
    expect(lines.filter((l) => l.startsWith('warning: '))).toEqual([
      `warning: ${dir}/web.yaml: web: files[0].source: ConfigMap web-files holds site.conf as it is now; pocker reads the file at each pass (it reads the source back from pocker.io/files)`,
      `warning: ${dir}/web.yaml: web: files: a changed ConfigMap reaches a subPath mount only when the Pod is made again (pocker rewrites a file in place, then does what onChange says)`,
      `warning: ${dir}/web.yaml: web: network.ports: Service web gives other Pods its ports 80 inside the cluster only, where pocker publishes them on the host (8080): --service-type NodePort or --publish hostport publish them on the nodes; pocker reads them back from pocker.io/ports`,
    ]);
    expect(lines.filter((l) => l.startsWith('note: '))).toEqual([
      `note: ${dir}/web.yaml: web: secrets[0]: Secret tls is not written (its value stays in pocker's secrets dir): create it on the cluster with kubectl create secret generic tls --from-file=tls=${root}/secrets/tls (or export with --include-secret-values); until then the Pod waits for it`,
    ]);
    expect(lines.at(-1)).toBe('exported 1 workload(s) as 3 object(s) to stdout: 3 warning(s), 1 note(s)');
    const back = parseSpecFile(out.stdout, join(root, 'kube.yaml'), { dir, file: 'kube.yaml' });
    expect(back.errors.map(formatSpecError)).toEqual([]);
    expect(back.specs.map((s) => s.user)).toEqual([
      {
        name: 'web',
        image: { reference: 'docker.io/library/nginx:1.27' },
        network: { mode: 'bridge', ports: [{ host: 8080, container: 80 }] },
        files: [{ target: '/etc/nginx/conf.d/site.conf', source: 'site.conf' }],
        secrets: [{ name: 'tls' }],
      },
    ]);
  });

  it('writes -o FILE or -o DIR/, a file per workload, and overwrites only with --force', () => {
    writeFileSync(join(dir, 'plain.yaml'), PLAIN);
    expect(run('kube', ...flags(), '-o', 'app.yaml')).toBe(0);
    const file = join(root, 'app.yaml');
    expect(readFileSync(file, 'utf8')).toMatch(/^# Exported by pocker export kube from .*: kubectl apply -f FILE\n/);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(run('kube', ...flags(), '-o', 'app.yaml')).toBe(1);
    expect(out.stderr).toContain(`${file}: exists (--force overwrites it)\nerror: OUTPUT: nothing written\n`);
    expect(run('kube', ...flags(), '-o', 'app.yaml', '--force')).toBe(0);
    expect(run('kube', ...flags(), '-o', 'k8s/')).toBe(0);
    expect(readdirSync(join(root, 'k8s')).sort()).toEqual(['plain.yaml', 'web.yaml']);
    expect(readFileSync(join(root, 'k8s', 'web.yaml'), 'utf8')).toContain('kind: ConfigMap');
    expect(readFileSync(join(root, 'k8s', 'plain.yaml'), 'utf8')).not.toContain('kind: ConfigMap');
    expect(run('kube', ...flags(), 'plain', '-o', 'k8s')).toBe(1);
    expect(run('kube', ...flags(), 'plain', '-o', 'k8s', '--force')).toBe(0);
  });

  it('--strict exits 1 and writes nothing when there is a warning; a spec the cluster runs alike passes', () => {
    expect(run('kube', ...flags(), '--strict', '-o', 'app.yaml')).toBe(1);
    expect(out.stderr).toContain('error: STRICT: --strict and 3 warning(s) above: nothing written\n');
    expect(existsSync(join(root, 'app.yaml'))).toBe(false);
    rmSync(join(dir, 'web.yaml'));
    writeFileSync(
      join(dir, 'plain.yaml'),
      PLAIN.replace('network: {mode: bridge}\n', 'network: {mode: bridge}\nhealthcheck: {tcp: {port: 80}}\n'),
    );
    writeFileSync(join(dir, 'api.yaml'), 'name: api\nimage: nginx:1.27\nnetwork: {mode: bridge, ports: [{host: 30080, container: 80}]}\n');
    expect(run('kube', ...flags(), '--strict', '--service-type', 'NodePort')).toBe(1);
    expect(out.stderr).toMatch(/warning: .*plain: network: other Pods reach a Pod by a Service's name/);
    rmSync(join(dir, 'plain.yaml'));
    expect(run('kube', ...flags(), '--strict', '--service-type', 'NodePort')).toBe(0);
    expect(out.stderr).not.toContain('warning:');
  });

  it('names the image by the digest this instance pins it to', () => {
    const [d] = parseSpecFile(WEB, join(dir, 'web.yaml'), { dir, file: 'web.yaml' }).specs;
    const digest = `sha256:${'ef'.repeat(32)}`;
    const rec = recordOf(d!, { source: { dir, file: 'web.yaml', doc: 0 } });
    rec.spec = { ...rec.spec, image: { reference: 'docker.io/library/nginx:1.27', digest } };
    const path = containerPaths({ stateDir: join(root, 'state'), dataDir: join(root, 'data'), cgroupParent: 'x' }, 'web').record;
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, JSON.stringify(rec));
    expect(run('kube', ...flags())).toBe(0);
    expect(out.stdout).toContain(`image: docker.io/library/nginx:1.27@${digest}\n`);
    expect(out.stdout).toContain('pocker.io/image: docker.io/library/nginx:1.27\n');
  });

  it.runIf(process.getuid?.() === 0)(
    '--include-secret-values writes each value from the secrets dir into a Secret, in files of mode 0600',
    () => {
      const secrets = join(root, 'secrets');
      mkdirSync(secrets, { mode: 0o700 });
      writeFileSync(join(secrets, 'tls'), 'k3y', { mode: 0o400 });
      chmodSync(join(secrets, 'tls'), 0o400);
      expect(run('kube', ...flags(), '--include-secret-values', '-o', 'app.yaml')).toBe(0);
      expect(statSync(join(root, 'app.yaml')).mode & 0o777).toBe(0o600);
      const docs = yaml()
        .parseAllDocuments(readFileSync(join(root, 'app.yaml'), 'utf8'))
        .map((d) => d.toJS() as Record<string, unknown>);
      expect(docs.find((d) => d.kind === 'Secret')).toMatchObject({
        metadata: { name: 'tls' },
        type: 'Opaque',
        data: { tls: Buffer.from('k3y').toString('base64') },
      });
      expect(out.stderr).not.toContain('k3y');
      chmodSync(join(secrets, 'tls'), 0o644);
      expect(run('kube', ...flags(), '--include-secret-values')).toBe(1);
      expect(out.stderr).toMatch(
        /: secrets\[0\]: tls: refusing .*tls: mode 644 lets others in; chmod go=\nerror: SECRET: nothing written\n$/,
      );
    },
  );

  it('refuses specs that do not validate, names it does not know, and bad usage', () => {
    writeFileSync(join(dir, 'bad.yaml'), 'name: bad\nimage: nginx\nresources: {memory: 1Mi}\n');
    expect(run('kube', ...flags())).toBe(1);
    expect(out.stderr).toBe(
      `${dir}/bad.yaml:3:21: memory must be at least 4Mi (got 1Mi)\nerror: SPEC: 1 error(s) in 1 file(s) of ${dir}: nothing written\n`,
    );
    rmSync(join(dir, 'bad.yaml'));
    expect(run('kube', ...flags(), 'nope')).toBe(1);
    expect(out.stderr).toBe(`error: NAME: no container nope in ${dir}: nothing written\n`);
    expect(() => run(...flags())).toThrow(new UsageError('give the format to export to: kube'));
    expect(() => run('helm', ...flags())).toThrow(new UsageError('unknown format "helm" (pocker exports to kube)'));
    expect(() => run('kube', '--kind', 'StatefulSet')).toThrow(new UsageError('--kind must be Pod or Deployment'));
    expect(() => run('kube', '--publish', 'hostport', '--service-type', 'NodePort')).toThrow(
      new UsageError('--service-type needs --publish service'),
    );
  });

  it('has a help that names every option, and a line in pocker --help', () => {
    expect(run('--help')).toBe(0);
    expect(out.stdout).toBe(`${EXPORT_HELP}\n`);
    for (const o of [
      '--kind Pod|Deployment',
      '-o, --output FILE|DIR',
      '--publish service|hostport',
      '--service-type ClusterIP|NodePort',
      '--include-secret-values',
      '--strict',
      '--force',
      '--dir DIR',
    ])
      expect(EXPORT_HELP).toContain(o);
    // main.ts runs the CLI when imported: its table is read as text.
    const main = readFileSync(join(packageRoot(), 'reconciler', 'cli', 'main.ts'), 'utf8');
    expect(mainHelp()).toMatch(/\n {2}export kube {8}write the specs of --dir as Kubernetes objects/);
    expect(main).toContain("  export: () => import('./export.js'),\n");
  });
});
