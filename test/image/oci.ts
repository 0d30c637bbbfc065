import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { hostArchitecture } from '../../reconciler/image/layout.js';

/** One entry of a hand-made tar (any path, any type: tests need entries no tar tool writes). */
export interface TarItem {
  path: string;
  type?: 'file' | 'dir' | 'symlink' | 'link' | 'char' | 'block' | 'fifo';
  data?: string | Buffer;
  linkpath?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  devmajor?: number;
  devminor?: number;
}

const TYPE_FLAG = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' } as const;

function field(buf: Buffer, off: number, len: number, value: string): void {
  const b = Buffer.from(value, 'utf8');
  if (b.length > len) throw new Error(`tar field too long: ${value}`);
  b.copy(buf, off);
}

function octal(buf: Buffer, off: number, len: number, n: number): void {
  field(buf, off, len, `${n.toString(8).padStart(len - 1, '0')}\0`);
}

/** A ustar archive of items, written byte by byte (names up to 100 bytes). */
export function makeTar(items: TarItem[]): Buffer {
  const blocks: Buffer[] = [];
  for (const it of items) {
    const type = it.type ?? 'file';
    const data = type === 'file' ? Buffer.from(it.data ?? '') : Buffer.alloc(0);
    const h = Buffer.alloc(512);
    field(h, 0, 100, it.path);
    octal(h, 100, 8, it.mode ?? (type === 'dir' ? 0o755 : 0o644));
    octal(h, 108, 8, it.uid ?? 0);
    octal(h, 116, 8, it.gid ?? 0);
    octal(h, 124, 12, data.length);
    octal(h, 136, 12, it.mtime ?? 1_700_000_000);
    field(h, 148, 8, '        ');
    field(h, 156, 1, TYPE_FLAG[type]);
    field(h, 157, 100, it.linkpath ?? '');
    field(h, 257, 6, 'ustar\0');
    field(h, 263, 2, '00');
    octal(h, 329, 8, it.devmajor ?? 0);
    octal(h, 337, 8, it.devminor ?? 0);
    let sum = 0;
    for (const b of h) sum += b;
    field(h, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** One layer of a test image: its uncompressed tar, gzipped in the blob or not. */
export interface TestLayer {
  tar: Buffer;
  gzip?: boolean;
  /** Override of the layer's media type (default: OCI tar or tar+gzip). */
  mediaType?: string;
  /** Override of the config's diff_id for it (to test a wrong one). */
  diffId?: string;
}

/** What writeLayout wrote. */
export interface TestImage {
  manifest: string;
  config: string;
  /** Blob digests of the layers, bottom first. */
  blobs: string[];
  /** diff_ids, bottom first. */
  diffIds: string[];
  blobPath: (digest: string) => string;
}

/** Writes an OCI image layout (oci-layout, index.json, blobs/sha256/) with one image of these layers. */
export function writeLayout(
  dir: string,
  layers: TestLayer[],
  annotations: Record<string, string> = { 'org.opencontainers.image.ref.name': 'test/image:v1' },
): TestImage {
  const blobDir = join(dir, 'blobs', 'sha256');
  mkdirSync(blobDir, { recursive: true });
  const put = (b: Buffer): string => {
    const d = sha(b);
    writeFileSync(join(blobDir, d.slice(7)), b);
    return d;
  };
  const descs = layers.map((l) => {
    const blob = l.gzip ? gzipSync(l.tar) : l.tar;
    return {
      mediaType: l.mediaType ?? `application/vnd.oci.image.layer.v1.tar${l.gzip ? '+gzip' : ''}`,
      digest: put(blob),
      size: blob.length,
    };
  });
  const diffIds = layers.map((l) => l.diffId ?? sha(l.tar));
  const config = Buffer.from(
    JSON.stringify({ architecture: hostArchitecture(), os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds }, config: {} }),
  );
  const configDigest = put(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: descs,
    }),
  );
  const manifestDigest = put(manifest);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifestDigest, size: manifest.length, annotations }],
    }),
  );
  return {
    manifest: manifestDigest,
    config: configDigest,
    blobs: descs.map((d) => d.digest),
    diffIds,
    blobPath: (d) => join(blobDir, d.slice(7)),
  };
}
