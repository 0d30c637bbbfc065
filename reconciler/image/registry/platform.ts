/**
 * Choosing the manifest of one platform from an image index (or Docker manifest list), as
 * containerd's default matcher does: os and architecture must match; variants are compared in
 * their normalized form, and for arm and amd64 an older variant runs on a newer one.
 */
import { hostArchitecture, type Descriptor } from '../layout.js';

/** An OCI platform (`linux/arm64`, `linux/arm/v7`). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const ARCH_ALIASES: Readonly<Record<string, string>> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
  i386: '386',
  i686: '386',
};

/** This host's platform: linux, its GOARCH architecture, and on 32-bit arm the variant Node was built for. */
export function hostPlatform(): Platform {
  const architecture = hostArchitecture();
  const armVersion = (process.config.variables as Record<string, unknown>).arm_version;
  return { os: 'linux', architecture, ...(architecture === 'arm' && armVersion !== undefined && { variant: `v${String(armVersion)}` }) };
}

/** The GOARCH form of an architecture name (`x86_64` -> `amd64`, `aarch64` -> `arm64`). */
export function normalizeArchitecture(arch: string): string {
  const a = arch.toLowerCase();
  return ARCH_ALIASES[a] ?? a;
}

/** The variant an image without one means: arm64 is v8, arm v7, amd64 v1 (containerd's defaults). */
function normalizeVariant(architecture: string, variant: string | undefined): string {
  const v = (variant ?? '').toLowerCase();
  if (architecture === 'arm64') return v === '' || v === '8' ? 'v8' : v;
  if (architecture === 'arm') return v === '' ? 'v7' : /^\d+$/.test(v) ? `v${v}` : v;
  if (architecture === 'amd64') return v === '' ? 'v1' : v;
  return v;
}

/** `os/architecture[/variant]`. */
export function formatPlatform(p: { os?: string; architecture?: string; variant?: string }): string {
  return [p.os ?? '?', p.architecture ?? '?', p.variant].filter(Boolean).join('/');
}

/** How well an image platform fits the wanted one: 0 is exact, higher is a worse fit, null none. */
function fit(offered: Platform, wanted: Platform): number | null {
  if (offered.os.toLowerCase() !== wanted.os.toLowerCase()) return null;
  const arch = normalizeArchitecture(offered.architecture);
  if (arch !== normalizeArchitecture(wanted.architecture)) return null;
  const have = normalizeVariant(arch, offered.variant);
  const want = normalizeVariant(arch, wanted.variant);
  if (have === want) return 0;
  if (arch === 'arm' || arch === 'amd64') {
    const h = /^v(\d+)$/.exec(have);
    const w = /^v(\d+)$/.exec(want);
    if (h && w && Number(h[1]) < Number(w[1])) return Number(w[1]) - Number(h[1]);
  }
  return null;
}

/** Whether an index entry is an attestation or signature, not an image (BuildKit writes unknown/unknown). */
function isAttestation(d: Descriptor): boolean {
  return (
    (d.platform?.os === 'unknown' && d.platform?.architecture === 'unknown') ||
    d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest'
  );
}

/**
 * The best entry for the wanted platform (the first of equally good ones), or the platforms on offer
 * when none fits. An index with one image entry and no platform on it yields that entry.
 */
export function choosePlatformManifest(manifests: Descriptor[], wanted: Platform): { chosen: Descriptor } | { offered: string[] } {
  const images = manifests.filter((m) => !isAttestation(m));
  if (images.length === 1 && !images[0]!.platform) return { chosen: images[0]! };
  let best: { d: Descriptor; score: number } | null = null;
  for (const d of images) {
    const p = d.platform;
    if (!p || typeof p.os !== 'string' || typeof p.architecture !== 'string') continue;
    const score = fit({ os: p.os, architecture: p.architecture, ...(p.variant !== undefined && { variant: p.variant }) }, wanted);
    if (score !== null && (!best || score < best.score)) best = { d, score };
  }
  if (best) return { chosen: best.d };
  return { offered: images.map((m) => (m.platform ? formatPlatform(m.platform) : `(no platform) ${m.digest}`)) };
}
