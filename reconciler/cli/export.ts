import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { exportKube } from '../kube/export.js';
import { objectsByWorkload, renderObjects } from '../kube/render.js';
import { formatFinding } from '../kube/report.js';
import { ExportError, type ExportOptions, type ExportResult } from '../kube/types.js';
import { sourcePath } from '../spec/contents.js';
import { loadSpecDir } from '../spec/load.js';
import { formatSpecError, type DesiredContainer } from '../spec/types.js';
import { hostContentReader } from '../state/contentReader.js';
import { containerPaths, type InstanceDirs } from '../state/layout.js';
import { parseContainerRecord } from '../state/records.js';
import { GLOBAL_HELP, parseCommand, UsageError } from './options.js';

/** `pocker export --help`. */
export const EXPORT_HELP = `Usage: pocker export kube [NAME...] [--dir DIR] [--kind Pod|Deployment] [-o FILE|DIR]
                         [--publish service|hostport] [--service-type ClusterIP|NodePort]
                         [--include-secret-values] [--strict] [--force]

Writes the containers of --dir (or only NAME...) as Kubernetes objects, for kubectl apply -f:
  - a container with restart: always is a Pod (--kind Deployment: a Deployment, replicas 1,
    strategy Recreate); one with restart: on-failure a Pod (OnFailure; a warning with --kind
    Deployment); one with restart: never a batch/v1 Job (backoffLimit 0);
  - a job (restart not always, no healthcheck) another container waits for with condition:
    completed is an init container of each such container's Pod, and no object of its own;
  - files are a ConfigMap per container (<name>-files, each file by subPath), named volumes
    PersistentVolumeClaims (1Gi, ReadWriteOnce), tmpfs emptyDir (medium Memory, sizeLimit), bind
    mounts hostPath, secrets Secret volumes (key = the secret's name; the Secret itself only with
    --include-secret-values, else a note with the kubectl command that makes it);
  - published ports a Service per container (--publish service, the default; --service-type
    ClusterIP, the default, or NodePort), or the Pod's hostPorts (--publish hostport);
  - image (pinned to the digest this instance runs, when its record says), command, args, env,
    workingDir, limits (requests equal), healthcheck (livenessProbe, or readinessProbe with
    onUnhealthy: none; startupProbe for startPeriod), restartPolicy, user, capabilities,
    privileged, readOnlyRootfs, tty as their Kubernetes fields.
Every object is labelled app.kubernetes.io/managed-by: pocker and annotated pocker.io/source.
What a Pod has no field for (layers and store images, pids, cpuset, memsw, io, cpu shares, stop
signal, state, ...) is kept in pocker.io/ annotations, which pocker reads back when a spec file
holds the objects. Every field the cluster does not do as pocker does is printed on stderr as
"warning: FILE: CONTAINER: FIELD: why"; "note:" lines say what to do (Secrets to create) and
are not warnings.

Options:
  -o, --output FILE|DIR  write into FILE (one stream), or into DIR (an existing directory, or a
                         path ending in /) one <workload>.yaml per Pod, Deployment or Job with
                         every object it needs; without -o, or with -o -, print on stdout
  --kind Pod|Deployment  what a container with restart: always becomes (default Pod)
  --publish service|hostport
                         published ports as a Service per container, or as hostPorts (default service)
  --service-type ClusterIP|NodePort
                         the type of those Services (default ClusterIP)
  --include-secret-values
                         write each secret's value (read from the secrets dir) into a Secret;
                         files written then are mode 0600
  --strict               exit 1 and write nothing when there is any warning
  --force                overwrite files that exist (without it nothing is written when one does)

Exit status: 0 written, 1 a spec is invalid, a source or secret cannot be read, a file exists, or
--strict and warnings, 2 usage.

${GLOBAL_HELP}`;

/** Where export reads its specs from and writes to: the process's, or a test's. */
export interface ExportIo {
  cwd: string;
  stdout(text: string): void;
  stderr(text: string): void;
}

const realIo = (): ExportIo => ({
  cwd: process.cwd(),
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
});

const OWN_OPTIONS = {
  output: { type: 'string', short: 'o' },
  kind: { type: 'string' },
  publish: { type: 'string' },
  'service-type': { type: 'string' },
  'include-secret-values': { type: 'boolean' },
  strict: { type: 'boolean' },
  force: { type: 'boolean' },
} as const;

function oneOf<T extends string>(flag: string, v: string | undefined, values: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (!(values as readonly string[]).includes(v)) throw new UsageError(`--${flag} must be ${values.join(' or ')}`);
  return v as T;
}

/** The digest each container's registry image is pinned to, from the records of this instance (of this spec dir). */
function pins(dirs: InstanceDirs, dir: string, io: ExportIo): (name: string, d?: DesiredContainer) => string | undefined {
  let warned = false;
  return (name, d) => {
    let text: string;
    try {
      text = readFileSync(containerPaths(dirs, name).record, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && !warned) {
        warned = true;
        io.stderr(`note: cannot read the records of ${dirs.dataDir} (${code}): images are written by reference, not pinned\n`);
      }
      return undefined;
    }
    const r = parseContainerRecord(text);
    if (!('value' in r) || r.value.source.dir !== dir) return undefined;
    const pin = r.value.spec.image;
    const ref = d && 'reference' in d.user.image ? d.user.image.reference : undefined;
    return pin && ref === pin.reference ? pin.digest : undefined;
  };
}

/** Writes every file or none: each to a temporary name first (mode 0600 when they hold secret values), renamed once all are written. */
function writeAll(files: ReadonlyArray<{ path: string; text: string }>, secret: boolean): void {
  const temps: Array<[string, string]> = [];
  try {
    for (const f of files) {
      const tmp = `${f.path}.${process.pid}.tmp`;
      writeFileSync(tmp, f.text, { mode: secret ? 0o600 : 0o644 });
      temps.push([tmp, f.path]);
    }
    for (const [tmp, path] of temps) renameSync(tmp, path);
  } finally {
    for (const [tmp] of temps) rmSync(tmp, { force: true });
  }
}

function isDirTarget(path: string, given: string): boolean {
  if (given.endsWith('/')) return true;
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Writes the objects where -o says (WriteRefused when a file exists); returns where. */
function write(result: ExportResult, output: string | null, io: ExportIo, force: boolean, secret: boolean, header: string): string {
  if (output === null) {
    io.stdout(renderObjects(result.objects, header));
    return 'stdout';
  }
  const path = resolve(io.cwd, output);
  if (isDirTarget(path, output)) {
    mkdirSync(path, { recursive: true });
    const files = [...objectsByWorkload(result.objects)].map(([w, objects]) => ({ file: join(path, `${w}.yaml`), objects }));
    const existing = force ? [] : files.filter((f) => existsSync(f.file));
    if (existing.length) throw new WriteRefused(existing.map((f) => `${f.file}: exists (--force overwrites it)`));
    writeAll(
      files.map((f) => ({ path: f.file, text: renderObjects(f.objects, header) })),
      secret,
    );
    return path;
  }
  if (!force && existsSync(path)) throw new WriteRefused([`${path}: exists (--force overwrites it)`]);
  writeAll([{ path, text: renderObjects(result.objects, header) }], secret);
  return path;
}

class WriteRefused extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
  }
}

/** `pocker export ARGS...` with its output given (the tests' entry); its exit status. */
export function runExport(args: string[], io: ExportIo): number {
  const cmd = parseCommand(args, OWN_OPTIONS, true);
  const v = cmd.values;
  if (v.help) {
    io.stdout(`${EXPORT_HELP}\n`);
    return 0;
  }
  const [format, ...names] = cmd.positionals;
  if (format === undefined) throw new UsageError('give the format to export to: kube');
  if (format !== 'kube') throw new UsageError(`unknown format "${format}" (pocker exports to kube)`);
  if (v.output === '') throw new UsageError('--output must not be empty');
  const kind = oneOf('kind', v.kind, ['Pod', 'Deployment'] as const, 'Pod');
  const publish = oneOf('publish', v.publish, ['service', 'hostport'] as const, 'service');
  const serviceType = oneOf('service-type', v['service-type'], ['ClusterIP', 'NodePort'] as const, 'ClusterIP');
  if (v['service-type'] !== undefined && publish === 'hostport') throw new UsageError('--service-type needs --publish service');
  const secret = !!v['include-secret-values'];

  const load = loadSpecDir(cmd.dir);
  if (load.status !== 'ok') {
    io.stderr(`error: ${load.statusError}\n`);
    return 1;
  }
  if (load.errors.length) {
    for (const e of load.errors) io.stderr(`${formatSpecError(e)}\n`);
    io.stderr(`error: SPEC: ${load.errors.length} error(s) in ${load.failedFiles.size} file(s) of ${cmd.dir}: nothing written\n`);
    return 1;
  }
  if (!load.desired.length) {
    io.stderr(`error: NOTHING: no container spec in ${cmd.dir}: nothing written\n`);
    return 1;
  }
  const unknown = names.filter((n) => !load.desired.some((d) => d.spec.name === n));
  if (unknown.length) {
    io.stderr(`error: NAME: no container ${unknown.join(', ')} in ${cmd.dir}: nothing written\n`);
    return 1;
  }
  const reader = hostContentReader({ dataDir: cmd.dirs.dataDir, secretsDir: cmd.secretsDir });
  const pinOf = pins(cmd.dirs, cmd.dir, io);
  const byName = new Map(load.desired.map((d) => [d.spec.name, d]));
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const opts: ExportOptions = {
    kind,
    publish,
    serviceType,
    secretsDir: cmd.secretsDir,
    pin: (name) => pinOf(name, byName.get(name)),
    readSource: (d, source) => {
      const r = reader.readSource(sourcePath(d.source.dir, source));
      if ('error' in r) return r;
      try {
        return { text: utf8.decode(r.data) };
      } catch {
        return { error: "not UTF-8 text (a ConfigMap's data is text)" };
      }
    },
    ...(secret && { secretValue: (name: string) => reader.readSecret(name) }),
  };
  let result: ExportResult;
  try {
    result = exportKube(load.desired, names.length ? names : null, opts);
  } catch (e) {
    if (!(e instanceof ExportError)) throw e;
    for (const p of e.problems) io.stderr(`${p.file}: ${p.field}: ${p.message}\n`);
    io.stderr(`error: ${e.code}: nothing written\n`);
    return 1;
  }
  for (const w of result.warnings) io.stderr(`warning: ${formatFinding(w)}\n`);
  if (v.strict && result.warnings.length) {
    io.stderr(`error: STRICT: --strict and ${result.warnings.length} warning(s) above: nothing written\n`);
    return 1;
  }
  let where: string;
  try {
    where = write(
      result,
      v.output === undefined || v.output === '-' ? null : v.output,
      io,
      !!v.force,
      secret,
      `Exported by pocker export kube from ${cmd.dir}: kubectl apply -f FILE`,
    );
  } catch (e) {
    if (!(e instanceof WriteRefused)) {
      io.stderr(`error: OUTPUT: cannot write: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}: nothing written\n`);
      return 1;
    }
    for (const l of e.lines) io.stderr(`${l}\n`);
    io.stderr('error: OUTPUT: nothing written\n');
    return 1;
  }
  for (const n of result.notes) io.stderr(`note: ${formatFinding(n)}\n`);
  const workloads = new Set(result.objects.flatMap((o) => o.workloads)).size;
  io.stderr(
    `exported ${workloads} workload(s) as ${result.objects.length} object(s) to ${where}: ${result.warnings.length} warning(s), ${result.notes.length} note(s)\n`,
  );
  return 0;
}

/** `pocker export ARGS...` on the real process; its exit status. */
export async function main(args: string[]): Promise<number> {
  return runExport(args, realIo());
}
