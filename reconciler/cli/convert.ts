import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkSpecTexts, type SpecText } from '../convert/check.js';
import { convertCompose } from '../convert/convert.js';
import { renderSpec, renderStream } from '../convert/emit.js';
import { ConvertError } from '../convert/errors.js';
import { NodeComposeFiles, type ComposeFiles } from '../convert/files.js';
import { formatFinding } from '../convert/report.js';
import type { ConvertResult, Environment } from '../convert/types.js';
import { formatSpecError } from '../spec/types.js';
import { UsageError } from './options.js';

/** `pocker convert --help`. */
export const CONVERT_HELP = `Usage: pocker convert COMPOSE_FILE [-o DIR] [--force] [--strict]

Turns a docker compose file into pocker spec files, one per service (<service>.yaml, with its
container name inside). The file is read as compose reads it: anchors and merge keys, x-* fields
ignored, \${VAR}, \${VAR:-default}, \${VAR:?error} and $$ from the environment and the .env file
next to it, env_file and bind paths relative to its dir, the project name from
COMPOSE_PROJECT_NAME, its name: key or its dir's name.

Mapped: image, entrypoint (command) and command (args), environment and env_file, ports,
networks (one bridge network per container: the first; <project>_<net>, or the network's name),
network_mode host|none, named volumes (<project>_<vol>), binds, tmpfs, depends_on with its
conditions, healthcheck (onUnhealthy: none, Docker's 30s defaults written out), restart (default
never), limits (deploy.resources.limits, cpus, cpu_quota, mem_limit, memswap_limit, pids_limit,
cpu_shares, cpuset, blkio_config throttles), hostname, user, working_dir, stop_signal,
stop_grace_period, read_only, privileged, cap_add/cap_drop, tty, pull_policy never, configs as
files (a file config as its source, content and environment ones inline; external ones are
reported) and secrets as secrets (file, environment and external ones; pocker reads each from its
secrets dir), at compose's targets with uid, gid and mode (compose's default 0444 written out).

Everything else is printed on stderr, one line each: SERVICE: FIELD: why. Lines starting with
"note:" follow once the specs are written: what to do for them to run (each secret's value to
put into the secrets dir, with the command for a file secret; a CNI conflist for each network
other than pocker's); they are not losses, and --strict does not count them. Services without an
image (build only) or with profiles are not converted. Before anything is written the specs are
checked as pocker validate checks a dir holding only them. They hold the environment's values
(env, env_file, interpolation, content and environment configs) in clear; a secret's value is
never read.

Options:
  -o, --output DIR   write the spec files into DIR (made when missing); without -o, or with
                     -o -, print every spec on stdout, separated by ---
  --force            overwrite spec files that exist in DIR (without it convert writes none
                     when any exists)
  --strict           exit 1 and write nothing when anything is not converted (any SERVICE:
                     FIELD line)
  -h, --help         show this help

convert touches no container and reads no instance config; it takes none of the global options.

Exit status: 0 written (findings on stderr), 1 the compose file cannot be read or is invalid
(file:line:col), a spec would be invalid, a file exists, or --strict and findings, 2 usage.`;

/** Where convert reads and writes: the real process's, or a test's. */
export interface ConvertIo {
  cwd: string;
  env: Environment;
  files: ComposeFiles;
  stdout(text: string): void;
  stderr(text: string): void;
}

const realIo = (): ConvertIo => ({
  cwd: process.cwd(),
  env: process.env,
  files: new NodeComposeFiles(),
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
});

function parse(args: string[]): { file: string; output: string | null; force: boolean; strict: boolean; help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        output: { type: 'string', short: 'o' },
        force: { type: 'boolean' },
        strict: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) return { file: '', output: null, force: false, strict: false, help: true };
  if (parsed.positionals.length !== 1)
    throw new UsageError(parsed.positionals.length ? 'give one compose file' : 'give the compose file to convert');
  if (v.output === '') throw new UsageError('--output must not be empty');
  return {
    file: parsed.positionals[0]!,
    output: v.output === undefined || v.output === '-' ? null : v.output,
    force: !!v.force,
    strict: !!v.strict,
    help: false,
  };
}

/** Writes every file or none: each to a temporary name first, renamed into place once all are written. */
function writeAll(dir: string, texts: readonly SpecText[]): void {
  mkdirSync(dir, { recursive: true });
  const temps: Array<[string, string]> = [];
  try {
    for (const t of texts) {
      const tmp = join(dir, `.${t.file}.${process.pid}.tmp`);
      writeFileSync(tmp, t.text, { mode: 0o644 });
      temps.push([tmp, join(dir, t.file)]);
    }
    for (const [tmp, path] of temps) renameSync(tmp, path);
  } finally {
    for (const [tmp] of temps) rmSync(tmp, { force: true });
  }
}

/** What is not converted: printed first, before anything is written (--strict refuses it). */
function printFindings(io: ConvertIo, r: ConvertResult): void {
  for (const f of r.findings) io.stderr(`${formatFinding(f)}\n`);
}

/** What the operator must do for the specs to run: printed once they are written. */
function printNotes(io: ConvertIo, r: ConvertResult): void {
  for (const n of r.notes) io.stderr(`note: ${formatFinding(n)}\n`);
}

/** Converts, checks and writes; every failure is a ConvertError. */
function convertAndWrite(opts: ReturnType<typeof parse>, io: ConvertIo): void {
  const composePath = resolve(io.cwd, opts.file);
  const dir = opts.output === null ? null : resolve(io.cwd, opts.output);
  const text = io.files.readText(composePath);
  if (text === null) throw ConvertError.at('READ', composePath, 'no such file');
  const result = convertCompose({ composePath, text, env: io.env, files: io.files });
  printFindings(io, result);
  if (!result.specs.length) throw ConvertError.at('NOTHING', composePath, 'no service could be converted (see above)');
  const texts = result.specs.map((c) => ({ file: c.file, text: renderSpec(c, composePath, result.project) }));
  const invalid = checkSpecTexts(dir ?? io.cwd, texts);
  if (invalid.length)
    throw new ConvertError('SPEC', [
      ...invalid,
      { file: composePath, line: 1, col: 1, message: 'the specs made from it do not validate: a defect of pocker convert' },
    ]);
  if (opts.strict && result.findings.length)
    throw ConvertError.at('STRICT', composePath, `--strict: ${result.findings.length} thing(s) above not converted`);
  if (dir === null) io.stdout(renderStream(result.specs, composePath, result.project));
  else {
    const own = texts.find((t) => join(dir, t.file) === composePath);
    if (own)
      throw ConvertError.at(
        'OUTPUT',
        composePath,
        `the spec of service ${JSON.stringify(own.file.slice(0, -5))} would replace the compose file itself: write into another dir`,
      );
    const existing = opts.force ? [] : texts.filter((t) => existsSync(join(dir, t.file)));
    if (existing.length)
      throw new ConvertError(
        'OUTPUT',
        existing.map((t) => ({ file: join(dir, t.file), line: 1, col: 1, message: 'exists (--force overwrites it)' })),
      );
    try {
      writeAll(dir, texts);
    } catch (e) {
      throw ConvertError.at(
        'OUTPUT',
        dir,
        `cannot write the specs: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        undefined,
        e,
      );
    }
  }
  printNotes(io, result);
  io.stderr(
    `converted ${result.specs.length} service(s) of project ${result.project} to ${dir ?? 'stdout'}: ${result.findings.length} not converted, ${result.notes.length} note(s)\n`,
  );
}

/** `pocker convert` with its inputs and outputs given (the tests' entry). */
export function runConvert(args: string[], io: ConvertIo): number {
  const opts = parse(args);
  if (opts.help) {
    io.stdout(`${CONVERT_HELP}\n`);
    return 0;
  }
  try {
    convertAndWrite(opts, io);
    return 0;
  } catch (e) {
    if (!(e instanceof ConvertError)) throw e;
    for (const p of e.problems) io.stderr(`${formatSpecError(p)}\n`);
    io.stderr(`error: ${e.code}: nothing written\n`);
    return 1;
  }
}

/** `pocker convert ARGS...` on the real process; its exit status. */
export async function main(args: string[]): Promise<number> {
  return runConvert(args, realIo());
}
