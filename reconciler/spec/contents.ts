import { builtins } from '../builtins.js';
import { isAbsolute, join } from 'node:path';
import { MAX_CONTENT_BYTES } from './files.js';
import { FileContents, type DesiredContainer } from './types.js';

/** Where a controller's load reads the contents of files and secrets (a real one reads the host; tests record). */
export interface ContentReader {
  /** The bytes of a file source (an absolute path), or why it cannot be used. */
  readSource(path: string): { data: Buffer } | { error: string };
  /** The bytes of a secret of the instance's secrets dir, or why it cannot be used (never the value). */
  readSecret(name: string): { data: Buffer } | { error: string };
  /** The keyed digest of a secret's value (`hmac-sha256:HEX`). */
  secretDigest(data: Buffer): string;
}

/** The digest a file's content is known by in plans and records. */
export function contentDigest(data: Buffer): string {
  return `sha256:${builtins.crypto().createHash('sha256').update(data).digest('hex')}`;
}

/** The host path of a file source: absolute as written, or relative to the spec dir. */
export function sourcePath(specDir: string, source: string): string {
  return isAbsolute(source) ? source : join(specDir, source);
}

/**
 * Reads the contents of a desired container's files and secrets and fills in their digests. A
 * source or secret that cannot be read leaves the container with a contentProblem (the plan then
 * changes nothing of it), never an error of its spec file: the other containers go on.
 */
export function resolveContents(d: DesiredContainer, reader: ContentReader): DesiredContainer {
  if (!d.spec.files.length && !d.spec.secrets.length) return d;
  const contents = new FileContents();
  const problems: string[] = [];
  const files = d.spec.files.map((f, i) => {
    const inline = d.user.files?.[i]?.content;
    let r: { data: Buffer } | { error: string };
    if (inline !== undefined) r = { data: Buffer.from(inline) };
    else {
      const path = sourcePath(d.source.dir, f.source!);
      r = reader.readSource(path);
      if ('error' in r) r = { error: `files[${i}] (${f.target}): source ${path}: ${r.error}` };
    }
    if ('data' in r && r.data.length > MAX_CONTENT_BYTES)
      r = { error: `files[${i}] (${f.target}): ${r.data.length} bytes, more than ${MAX_CONTENT_BYTES}` };
    if ('error' in r) {
      problems.push(r.error);
      return f;
    }
    contents.set(f.target, r.data);
    return { ...f, digest: contentDigest(r.data) };
  });
  const secrets = d.spec.secrets.map((s, i) => {
    let r = reader.readSecret(s.name);
    if ('data' in r && r.data.length > MAX_CONTENT_BYTES) r = { error: `${r.data.length} bytes, more than ${MAX_CONTENT_BYTES}` };
    let digest = '';
    if ('data' in r) {
      try {
        digest = reader.secretDigest(r.data);
      } catch (e) {
        r = { error: `its digest: ${(e as Error).message}` };
      }
    }
    if ('error' in r) {
      problems.push(`secrets[${i}] (${s.name}): ${r.error}`);
      return s;
    }
    contents.set(s.target, r.data);
    return { ...s, digest };
  });
  if (problems.length) return { ...d, contentProblem: problems.join('; ') };
  return { ...d, spec: { ...d.spec, files, secrets }, contents };
}
