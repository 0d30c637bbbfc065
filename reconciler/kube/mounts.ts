/**
 * What a container mounts, as volumes of its Pod: bind mounts as hostPath, named volumes as
 * PersistentVolumeClaims, tmpfs as emptyDir (medium Memory, sizeLimit), files as a ConfigMap of
 * the container (one key per file, each mounted by subPath), secrets as Secret volumes (one key
 * per secret, named as pocker's secret; the values only with --include-secret-values).
 */
import { basename } from 'node:path';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';
import { DEFAULTS } from '../spec/normalize.js';
import { ANNOTATION } from '../spec/kube/annotations.js';
import { formatExactBytes } from '../spec/kube/quantity.js';
import { MAX_CONTENT_BYTES } from '../spec/files.js';
import type { ContainerContext } from './context.js';
import { configMapKey, dnsSubdomain, UniqueNames } from './names.js';
import { ExportError } from './types.js';
import { specFile } from './report.js';

/** pocker's mode of a secret's file when its entry sets none. */
const SECRET_MODE = 0o400;
/** What a claim asks for: pocker's volumes have no size. */
export const CLAIM_SIZE = '1Gi';

/** The name of the Secret holding a pocker secret (its key is the secret's own name). */
export function secretObjectName(secret: string): string {
  return dnsSubdomain(secret);
}

/** The claim of a named volume (the volume's name when Kubernetes takes it). */
export function claimName(volume: string): string {
  return dnsSubdomain(volume);
}

function binds(ctx: ContainerContext, mounts: IVolumeMount[]): void {
  const { d, pod, report } = ctx;
  (d.user.mounts ?? []).forEach((m, i) => {
    const name = pod.volume(`host-${basename(m.source) || 'root'}`, { hostPath: { path: m.source } });
    mounts.push({ name, mountPath: m.target, ...(m.readOnly && { readOnly: true }) });
    report.warn(
      d,
      `mounts[${i}]`,
      `${m.source} as a hostPath ties the Pod to the node that has it: copy it there, or put the data into a PersistentVolumeClaim${m.readOnly ? " (a read-only hostPath is read-only at its top only, pocker's is read-only below too)" : ''}`,
    );
  });
}

function claims(ctx: ContainerContext, mounts: IVolumeMount[]): void {
  const { d, pod, shared, report } = ctx;
  (d.user.volumes ?? []).forEach((v, i) => {
    const claim = claimName(v.name);
    const name = pod.claimVolume(claim);
    mounts.push({ name, mountPath: v.target, ...(v.readOnly && { readOnly: true }) });
    const fresh = shared.add(
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: {
          name: claim,
          labels: ctx.labels(),
          annotations: { ...ctx.sourceAnnotation, ...(claim !== v.name && { [`pocker.io/${ANNOTATION.volume}`]: v.name }) },
        },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: CLAIM_SIZE } } },
      },
      pod.plan.main.spec.name,
    );
    if (fresh)
      report.warn(
        d,
        `volumes[${i}]`,
        `pocker's volume ${v.name} has no size: claim ${claim} asks for ${CLAIM_SIZE} (ReadWriteOnce) of the cluster's default storage class; set what the data needs, and copy the data from <data-dir>/volumes/${v.name} (see the README)`,
      );
  });
}

function tmpfs(ctx: ContainerContext, mounts: IVolumeMount[]): void {
  const { d, pod, report, init } = ctx;
  const modes: Record<string, { mode: string }> = {};
  (d.user.tmpfs ?? []).forEach((t, i) => {
    const size = t.sizeBytes ?? DEFAULTS.tmpfsBytes;
    const name = pod.volume(`tmp-${basename(t.target) || 'root'}`, { emptyDir: { medium: 'Memory', sizeLimit: formatExactBytes(size) } });
    mounts.push({ name, mountPath: t.target });
    if (t.sizeBytes === DEFAULTS.tmpfsBytes)
      report.note(
        d,
        `tmpfs[${i}].size`,
        "64Mi is pocker's default, which Kubernetes does not share (no limit): it is written out, and read back the spec leaves it out (the same tmpfs under another spec hash)",
        'differs',
      );
    if (t.mode !== undefined) {
      modes[t.target] = { mode: `0${t.mode.toString(8)}` };
      report.warn(d, `tmpfs[${i}].mode`, "an emptyDir's mode is Kubernetes' own (0777): pocker reads the mode back from pocker.io/tmpfs");
    }
  });
  if (Object.keys(modes).length) pod.annotate(ANNOTATION.tmpfs, init, JSON.stringify(modes));
}

function files(ctx: ContainerContext, mounts: IVolumeMount[]): void {
  const { d, pod, shared, report, init } = ctx;
  const list = d.user.files ?? [];
  if (!list.length) return;
  const cmName = `${d.spec.name}-files`;
  const keys = new UniqueNames(configMapKey);
  const data: Record<string, string> = {};
  const items: Array<{ key: string; path: string; mode?: number }> = [];
  const extras: Record<string, Record<string, unknown>> = {};
  const targets: Array<{ target: string; key: string }> = [];
  list.forEach((f, i) => {
    const key = keys.take(basename(f.target));
    let content = f.content;
    if (f.source !== undefined) {
      const r = ctx.opts.readSource(d, f.source);
      if ('error' in r)
        throw new ExportError('SOURCE', [{ file: specFile(d), field: `files[${i}].source`, message: `${f.source}: ${r.error}` }]);
      content = r.text;
      report.warn(
        d,
        `files[${i}].source`,
        `ConfigMap ${cmName} holds ${f.source} as it is now; pocker reads the file at each pass (it reads the source back from pocker.io/files)`,
      );
    }
    data[key] = content ?? '';
    items.push({ key, path: key, ...(f.mode !== undefined && { mode: f.mode }) });
    targets.push({ target: f.target, key });
    const extra = {
      ...(f.uid !== undefined && { uid: f.uid }),
      ...(f.gid !== undefined && { gid: f.gid }),
      ...(f.onChange !== undefined && { onChange: f.onChange }),
      ...(f.source !== undefined && { source: f.source }),
    };
    if (Object.keys(extra).length) extras[f.target] = extra;
    if (f.uid !== undefined || f.gid !== undefined)
      report.warn(
        d,
        `files[${i}].uid`,
        "a ConfigMap's files belong to root on Kubernetes: pocker reads the owner back from pocker.io/files",
      );
    if (f.onChange !== undefined)
      report.warn(
        d,
        `files[${i}].onChange`,
        `${f.onChange}: Kubernetes neither signals nor restarts a container when a ConfigMap changes: pocker reads it back from pocker.io/files`,
      );
  });
  const volume = pod.volume(`files-${d.spec.name}`, { configMap: { name: cmName, items } });
  for (const t of targets) mounts.push({ name: volume, mountPath: t.target, subPath: t.key, readOnly: true });
  shared.add(
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: cmName, labels: ctx.labels(d.spec.name), annotations: { ...ctx.sourceAnnotation } },
      data,
    },
    pod.plan.main.spec.name,
  );
  if (Object.keys(extras).length) pod.annotate(ANNOTATION.files, init, JSON.stringify(extras));
  report.warn(
    d,
    'files',
    `a changed ConfigMap reaches a subPath mount only when the Pod is made again (pocker rewrites a file in place, then does what onChange says)`,
  );
  const bytes = Object.values(data).reduce((n, s) => n + Buffer.byteLength(s), 0);
  if (bytes > MAX_CONTENT_BYTES)
    report.warn(d, 'files', `ConfigMap ${cmName} holds ${bytes} bytes, more than Kubernetes takes (1 MiB): split the files`);
}

function secrets(ctx: ContainerContext, mounts: IVolumeMount[]): void {
  const { d, pod, shared, report, init, opts } = ctx;
  const extras: Record<string, Record<string, unknown>> = {};
  (d.user.secrets ?? []).forEach((s, i) => {
    const object = secretObjectName(s.name);
    const target = s.target ?? `/run/secrets/${s.name}`;
    const volume = pod.volume(`secret-${s.name}`, {
      secret: { secretName: object, items: [{ key: s.name, path: s.name, mode: s.mode ?? SECRET_MODE }] },
    });
    mounts.push({ name: volume, mountPath: target, subPath: s.name, readOnly: true });
    if (opts.secretValue) {
      const v = opts.secretValue(s.name);
      if ('error' in v) throw new ExportError('SECRET', [{ file: specFile(d), field: `secrets[${i}]`, message: `${s.name}: ${v.error}` }]);
      const value = v.data.toString('base64');
      const fresh = shared.add(
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: object, labels: ctx.labels(), annotations: { ...ctx.sourceAnnotation } },
          type: 'Opaque',
          data: { [s.name]: value },
        },
        pod.plan.main.spec.name,
      );
      if (!fresh) {
        const existing = shared.get('Secret', object) as { data?: Record<string, string> };
        existing.data = { ...existing.data, [s.name]: value };
      }
    } else
      report.note(
        d,
        `secrets[${i}]`,
        `Secret ${object} is not written (its value stays in pocker's secrets dir): create it on the cluster with kubectl create secret generic ${object} --from-file=${s.name}=${opts.secretsDir}/${s.name} (or export with --include-secret-values); until then the Pod waits for it`,
      );
    if (s.mode === SECRET_MODE)
      report.note(
        d,
        `secrets[${i}].mode`,
        "0400 is pocker's default, which Kubernetes does not share (0644): it is written out, and read back the spec leaves it out (the same secret under another spec hash)",
        'differs',
      );
    const extra = {
      ...(s.uid !== undefined && { uid: s.uid }),
      ...(s.gid !== undefined && { gid: s.gid }),
      ...(s.onChange !== undefined && { onChange: s.onChange }),
    };
    if (Object.keys(extra).length) extras[target] = extra;
    if (s.uid !== undefined || s.gid !== undefined)
      report.warn(
        d,
        `secrets[${i}].uid`,
        "a Secret's files belong to root on Kubernetes: pocker reads the owner back from pocker.io/secrets",
      );
    if (s.onChange !== undefined)
      report.warn(
        d,
        `secrets[${i}].onChange`,
        `${s.onChange}: Kubernetes neither signals nor restarts a container when a Secret changes: pocker reads it back from pocker.io/secrets`,
      );
  });
  if (Object.keys(extras).length) pod.annotate(ANNOTATION.secrets, init, JSON.stringify(extras));
}

/** Writes the container's volumeMounts (in the order of mounts, volumes, tmpfs, files, secrets) and its Pod's volumes. */
export function exportMounts(ctx: ContainerContext, c: IContainer): void {
  const mounts: IVolumeMount[] = [];
  binds(ctx, mounts);
  claims(ctx, mounts);
  tmpfs(ctx, mounts);
  files(ctx, mounts);
  secrets(ctx, mounts);
  if (mounts.length) c.volumeMounts = mounts;
}
