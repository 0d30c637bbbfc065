import { lstatSync, readFileSync, readdirSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { SpecCache } from './cache.js';
import { crossFileProblems } from './crossChecks.js';
import { resolveImageRefs, type ImageResolver } from './imageRef.js';
import { isSpecFileName, MAX_SPEC_FILE_BYTES, parseSpecFile, type ParsedFile } from './parse.js';
import type { DesiredContainer, SpecError } from './types.js';
import { resolveContents, type ContentReader } from './contents.js';

/** State of the spec directory itself. `ok` means readable (possibly empty). */
export type DirStatus = 'ok' | 'missing' | 'unreadable' | 'not-a-directory' | 'untrusted';

/**
 * Who may write specs: whoever can write a spec owns the host, so a spec file and its dir must
 * belong to one of these uids and not be writable by group or others.
 */
export interface Trust {
  uids: readonly number[];
}

/** Why a file or dir with this owner and mode cannot be trusted, or null. */
export function trustProblem(st: { uid: number; mode: number }, trust: Trust | undefined, what: string): string | null {
  if (!trust) return null;
  if (!trust.uids.includes(st.uid))
    return `refusing ${what}: owned by uid ${st.uid}, not by ${trust.uids.map((u) => (u === 0 ? 'root' : `uid ${u}`)).join(' or ')} (see --trusted-owner)`;
  if (st.mode & 0o022)
    return `refusing ${what}: writable by ${st.mode & 0o020 ? 'its group' : ''}${(st.mode & 0o022) === 0o022 ? ' and ' : ''}${st.mode & 0o002 ? 'others' : ''} (mode ${(st.mode & 0o777).toString(8)}); chmod go-w`;
  return null;
}

/**
 * What a controller's load looks up on the host: images in the store, and the contents of files
 * and secrets (without a content reader their digests stay empty).
 */
export interface HostLookups {
  images: ImageResolver;
  contents?: ContentReader;
}

/** The desired set read from one spec directory, as a whole. */
export interface DirLoad {
  /** The directory as given (never symlink-resolved: it is the source identity). */
  dir: string;
  status: DirStatus;
  /** Why the directory could not be read, when status is not ok. */
  statusError?: string;
  /** Spec file names found (sorted). */
  files: string[];
  /** Valid specs of files without errors. */
  desired: DesiredContainer[];
  errors: SpecError[];
  /** Files with any error: the containers they last defined are kept as they are. */
  failedFiles: Set<string>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads one file as a spec file (size cap, strict UTF-8, trusted owner), returning its text, an error, or that it vanished. */
export function readSpecFile(path: string, trust?: Trust): { text: string } | { error: string } | { vanished: true } {
  const r = readSpecFileCached(path, trust);
  if ('parsed' in r) throw new Error('readSpecFile: a cached parse without a cache');
  return 'stat' in r ? { text: r.text } : r;
}

/** readSpecFile, with the file's stat and the time it was read; or a cached parse when `cached` knows the file. */
function readSpecFileCached(
  path: string,
  trust?: Trust,
  cached?: (st: Stats) => ParsedFile | undefined,
): { text: string; stat: Stats; readAtMs: number } | { parsed: ParsedFile } | { error: string } | { vanished: true } {
  try {
    const st = statSync(path);
    if (!st.isFile()) return { error: 'not a regular file' };
    const distrust = trustProblem(st, trust, 'this spec file');
    if (distrust) return { error: distrust };
    if (st.size > MAX_SPEC_FILE_BYTES) return { error: `file is larger than ${MAX_SPEC_FILE_BYTES} bytes` };
    const hit = cached?.(st);
    if (hit) return { parsed: hit };
    const readAtMs = Date.now();
    const buf = readFileSync(path);
    if (buf.length > MAX_SPEC_FILE_BYTES) return { error: `file is larger than ${MAX_SPEC_FILE_BYTES} bytes` };
    return { text: utf8.decode(buf), stat: st, readAtMs };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err instanceof TypeError) return { error: 'file is not valid UTF-8 text' };
    if (err.code === 'ENOENT' && !lexists(path)) return { vanished: true };
    return { error: `cannot read: ${err.code ?? err.message}` };
  }
}

function lexists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads and validates spec files (already listed) as one set; duplicate names fail both files.
 * With a cache, files unchanged since their last parse are not parsed again. With an image
 * resolver (controllers), `image.ref` is resolved to the image's layers; without one (validate)
 * it is only checked for shape.
 */
export function loadSpecFiles(
  dir: string,
  files: string[],
  pathOf: (file: string) => string,
  trust?: Trust,
  cache?: SpecCache,
  lookups?: HostLookups,
  partial = false,
): Pick<DirLoad, 'desired' | 'errors' | 'failedFiles'> & { warnings: string[] } {
  const errors: SpecError[] = [];
  const failedFiles = new Set<string>();
  const perFile = new Map<string, DesiredContainer[]>();
  for (const file of files) {
    const path = pathOf(file);
    const read = readSpecFileCached(path, trust, cache && ((st) => cache.lookup(path, { dir, file }, st)));
    if ('vanished' in read) continue;
    if ('error' in read) {
      errors.push({ file: path, line: 1, col: 1, message: read.error });
      failedFiles.add(file);
      continue;
    }
    let parsed: ParsedFile;
    if ('parsed' in read) parsed = read.parsed;
    else {
      parsed = parseSpecFile(read.text, path, { dir, file });
      cache?.store(path, { dir, file }, read.stat, read.readAtMs, parsed);
    }
    if (!parsed.errors.length && lookups) {
      const r = resolveImageRefs(parsed.specs, path, lookups.images);
      const contents = lookups.contents;
      parsed = { specs: contents ? r.specs.map((d) => resolveContents(d, contents)) : r.specs, errors: r.errors };
    }
    if (parsed.errors.length) {
      errors.push(...parsed.errors);
      failedFiles.add(file);
    } else {
      perFile.set(file, parsed.specs);
    }
  }
  const cross = crossFileProblems(perFile, pathOf, partial);
  errors.push(...cross.errors);
  for (const f of cross.failedFiles) failedFiles.add(f);
  const desired: DesiredContainer[] = [];
  for (const [file, specs] of perFile) if (!failedFiles.has(file)) desired.push(...specs);
  desired.sort((a, b) => (a.spec.name < b.spec.name ? -1 : a.spec.name > b.spec.name ? 1 : 0));
  return { desired, errors, failedFiles, warnings: cross.warnings };
}

/**
 * Reads a spec directory as a whole: only top-level `*.yaml`/`*.yml` files (symlinks to files
 * count; dotfiles, `..data` style entries, backups and subdirectories do not).
 */
export function loadSpecDir(dir: string, trust?: Trust, cache?: SpecCache, lookups?: HostLookups): DirLoad {
  let names: string[];
  try {
    const st = statSync(dir);
    if (!st.isDirectory())
      return {
        dir,
        status: 'not-a-directory',
        statusError: `${dir} is not a directory`,
        files: [],
        desired: [],
        errors: [],
        failedFiles: new Set(),
      };
    const distrust = trustProblem(st, trust, `spec dir ${dir}`);
    if (distrust) return { dir, status: 'untrusted', statusError: distrust, files: [], desired: [], errors: [], failedFiles: new Set() };
    names = readdirSync(dir);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const status: DirStatus = err.code === 'ENOENT' ? 'missing' : 'unreadable';
    return { dir, status, statusError: `${dir}: ${err.code ?? err.message}`, files: [], desired: [], errors: [], failedFiles: new Set() };
  }
  const files = names.filter(isSpecFileName).filter((n) => {
    try {
      return statSync(join(dir, n)).isFile();
    } catch {
      return true;
    }
  });
  files.sort();
  const loaded = loadSpecFiles(dir, files, (f) => join(dir, f), trust, cache, lookups);
  cache?.prune();
  return { dir, status: 'ok', files, ...loaded };
}
