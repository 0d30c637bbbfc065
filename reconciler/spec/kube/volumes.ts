/**
 * A container's volumeMounts, by the kind of the Pod's volume: hostPath → a bind mount,
 * persistentVolumeClaim → a named volume, emptyDir with medium Memory → a tmpfs, configMap →
 * files with their content, secret → secrets read from pocker's secrets dir (by key; a Secret's
 * values never come from the spec file).
 */
import { posix } from 'node:path';
import { DEFAULTS } from '../normalize.js';
import { ANNOTATION } from './annotations.js';
import type { SpecBuilder } from './builder.js';
import type { ContainerAnnotations, PodContext } from './context.js';
import type { Cursor } from './cursor.js';
import { kubeBytes } from './quantity.js';
import { NOT_SUPPORTED, VOLUME, VOLUME_MOUNT } from './rules.js';

/** Kubernetes' mode of a secret volume's files when it sets none (0644); pocker's default is 0400. */
const KUBE_SECRET_MODE = 0o644;
const POCKER_SECRET_MODE = 0o400;

/** The kinds of volume pocker maps. */
const SOURCES = ['hostPath', 'persistentVolumeClaim', 'emptyDir', 'configMap', 'secret'];

const octal = (mode: number): string => `0${mode.toString(8).padStart(3, '0')}`;

/** One file of a configMap or secret volume: the key, its path under the mount, its mode. */
interface Item {
  key: string;
  path: string;
  mode?: number;
  at: Cursor;
}

/** The items a configMap or secret volume projects: as listed, or (configMap) every key. */
function items(source: Cursor, keys: readonly string[] | null): Item[] | null {
  const list = source.at('items');
  if (!list.present) return keys && keys.map((k) => ({ key: k, path: k, at: source }));
  const out: Item[] = [];
  for (const it of list.list()) {
    it.keys({ key: true, path: true, mode: true }, NOT_SUPPORTED);
    const key = it.at('key').string();
    const path = it.at('path').string();
    if (key === undefined || path === undefined) {
      if (!it.at('key').present || !it.at('path').present) it.refuse('needs key and path');
      continue;
    }
    if (path.startsWith('/') || path.split('/').includes('..')) {
      it.at('path').refuse('must be a relative path without ".."');
      continue;
    }
    const mode = it.at('mode').mode();
    out.push({ key, path, ...(mode !== undefined && { mode }), at: it });
  }
  return out;
}

/** The items a mount takes: the one its subPath names, or all of them under the mount path. */
function chosen(m: Cursor, all: Item[], mountPath: string, subPath: string | undefined): Array<{ item: Item; target: string }> {
  if (subPath === undefined) return all.map((item) => ({ item, target: posix.join(mountPath, item.path) }));
  const item = all.find((i) => i.path === subPath);
  if (!item) {
    m.at('subPath').fail(`${subPath} is no item of the volume (items: ${all.map((i) => i.path).join(', ') || 'none'})`);
    return [];
  }
  return [{ item, target: mountPath }];
}

/** Reads a container's volumeMounts into mounts, volumes, tmpfs, files and secrets. */
export function importMounts(c: Cursor, container: string, b: SpecBuilder, pod: PodContext, ann: ContainerAnnotations): void {
  const fileExtras = ann.byTarget(ANNOTATION.files);
  const secretExtras = ann.byTarget(ANNOTATION.secrets);
  const tmpfsExtras = ann.byTarget(ANNOTATION.tmpfs);
  const used = new Set<string>();
  for (const m of c.at('volumeMounts').list()) {
    m.keys(VOLUME_MOUNT, NOT_SUPPORTED);
    const name = m.at('name').string();
    const mountPath = m.at('mountPath').string();
    if (name === undefined || mountPath === undefined) {
      if (!m.at('name').present || !m.at('mountPath').present) m.refuse('needs name and mountPath');
      continue;
    }
    const readOnly = m.at('readOnly').bool() === true;
    const subPath = m.at('subPath').string();
    const propagation = m.at('mountPropagation').string();
    if (propagation !== undefined && propagation !== 'None')
      m.at('mountPropagation').fail(`${propagation} is not supported: pocker's mounts are private to the container (None)`);
    const rro = m.at('recursiveReadOnly').string();
    if (rro !== undefined && !['Disabled', 'IfPossible', 'Enabled'].includes(rro))
      m.at('recursiveReadOnly').fail(`${rro} is not a value of it`);
    const vol = pod.volumes.get(name);
    if (!vol) {
      m.at('name').fail(`${name} is not a volume of the Pod`);
      continue;
    }
    const kind = SOURCES.find((k) => Object.hasOwn(vol.map() ?? {}, k));
    if (!kind) continue;
    const src = vol.at(kind);
    const noSubPath = (): boolean => {
      if (subPath !== undefined) m.at('subPath').refuse(`is not supported for a ${kind} volume: pocker mounts it whole`);
      return subPath === undefined;
    };
    if (kind === 'hostPath') {
      src.keys({ path: true, type: true }, NOT_SUPPORTED);
      const type = src.at('type').string();
      if (type !== undefined && !['', 'Directory', 'File'].includes(type))
        src.at('type').fail(`${type} is not supported: pocker binds a source that exists (Directory or File)`);
      const source = src.at('path').string();
      if (source !== undefined && noSubPath())
        b.push('mounts', { source, target: mountPath, ...(readOnly && { readOnly: true }) }, m.place);
    } else if (kind === 'persistentVolumeClaim') {
      src.keys({ claimName: true, readOnly: true }, NOT_SUPPORTED);
      const claim = src.at('claimName').string();
      const ro = readOnly || src.at('readOnly').bool() === true;
      if (claim !== undefined && noSubPath())
        b.push('volumes', { name: pod.resources.claims.get(claim) ?? claim, target: mountPath, ...(ro && { readOnly: true }) }, m.place);
    } else if (kind === 'emptyDir') {
      src.keys({ medium: true, sizeLimit: true }, NOT_SUPPORTED);
      const medium = src.at('medium').string();
      if (medium !== 'Memory') {
        (src.at('medium').present ? src.at('medium') : src).refuse(
          "is not supported without medium: Memory: pocker's scratch space is a tmpfs (for data on disk use a persistentVolumeClaim, a named volume)",
        );
        continue;
      }
      const users = pod.emptyDirUsers.get(name) ?? [];
      if (users.length > 1) {
        m.at('name').fail(
          `emptyDir ${name} is mounted by ${users.join(' and ')}: a pocker tmpfs belongs to one container (share data through a persistentVolumeClaim)`,
        );
        continue;
      }
      if (readOnly) m.at('readOnly').refuse('is not supported for an emptyDir: a pocker tmpfs is writable');
      if (!noSubPath()) continue;
      const entry: Record<string, unknown> = { target: mountPath };
      if (src.at('sizeLimit').present) {
        const size = kubeBytes(src.at('sizeLimit').value);
        if ('error' in size) src.at('sizeLimit').fail(size.error);
        else if (size.bytes !== DEFAULTS.tmpfsBytes) entry.size = size.bytes;
      }
      const extra = tmpfsExtras.value[mountPath];
      if (extra) {
        used.add(`tmpfs\0${mountPath}`);
        if (extra.mode !== undefined) entry.mode = extra.mode;
      }
      b.push('tmpfs', entry, m.place);
    } else if (kind === 'configMap') {
      src.keys({ name: true, items: true, defaultMode: true, optional: true }, NOT_SUPPORTED);
      const cmName = src.at('name').string();
      if (cmName === undefined) continue;
      const cm = pod.resources.configMaps.get(cmName);
      if (!cm) {
        src.at('name').fail(`ConfigMap ${cmName} is not in this file: pocker reads a ConfigMap from the spec file that uses it`);
        continue;
      }
      const defaultMode = src.at('defaultMode').mode();
      const all = items(src, Object.keys(cm.data).sort()) ?? [];
      for (const { item, target } of chosen(m, all, mountPath, subPath)) {
        const content = cm.data[item.key];
        const extra = fileExtras.value[target];
        if (extra) used.add(`files\0${target}`);
        if (content === undefined && extra?.source === undefined) {
          item.at.fail(
            `ConfigMap ${cmName} has no key ${item.key}${cm.binary.has(item.key) ? ' in data (binaryData is not supported: pocker files are text)' : ''}`,
          );
          continue;
        }
        const mode = item.mode ?? defaultMode;
        b.push(
          'files',
          {
            target,
            ...(extra?.source !== undefined ? { source: extra.source } : { content }),
            ...(mode !== undefined && { mode: octal(mode) }),
            ...(extra?.uid !== undefined && { uid: extra.uid }),
            ...(extra?.gid !== undefined && { gid: extra.gid }),
            ...(extra?.onChange !== undefined && { onChange: extra.onChange }),
          },
          item.at === src ? m.place : item.at.place,
        );
      }
    } else {
      src.keys({ secretName: true, items: true, defaultMode: true, optional: true }, NOT_SUPPORTED);
      const secretName = src.at('secretName').string();
      const all = items(src, null);
      if (secretName === undefined) continue;
      if (!all) {
        src.refuse(
          `lists no items: pocker reads each key of Secret ${secretName} from its secrets dir (<secrets-dir>/KEY): list the keys under items`,
        );
        continue;
      }
      const defaultMode = src.at('defaultMode').mode();
      for (const { item, target } of chosen(m, all, mountPath, subPath)) {
        const extra = secretExtras.value[target];
        if (extra) used.add(`secrets\0${target}`);
        const mode = item.mode ?? defaultMode ?? KUBE_SECRET_MODE;
        b.push(
          'secrets',
          {
            name: item.key,
            target,
            ...(mode !== POCKER_SECRET_MODE && { mode: octal(mode) }),
            ...(extra?.uid !== undefined && { uid: extra.uid }),
            ...(extra?.gid !== undefined && { gid: extra.gid }),
            ...(extra?.onChange !== undefined && { onChange: extra.onChange }),
          },
          item.at.place,
        );
      }
    }
  }
  for (const [field, extras] of [
    ['files', fileExtras],
    ['secrets', secretExtras],
    ['tmpfs', tmpfsExtras],
  ] as const)
    for (const target of Object.keys(extras.value))
      if (!used.has(`${field}\0${target}`)) extras.at?.refuse(`names ${target}, which is no ${field} target of ${container}`);
}

/** Checks the Pod's volumes: one known source each; returns them by name, and who mounts each emptyDir. */
export function readPodVolumes(
  pod: Cursor,
  containers: ReadonlyArray<{ name: string; at: Cursor }>,
): Pick<PodContext, 'volumes' | 'emptyDirUsers'> {
  const volumes = new Map<string, Cursor>();
  for (const v of pod.at('volumes').list()) {
    v.keys(VOLUME, NOT_SUPPORTED);
    const name = v.at('name').string();
    if (name === undefined) {
      if (!v.at('name').present) v.refuse('needs a name');
      continue;
    }
    const keys = Object.keys(v.map() ?? {});
    const kinds = SOURCES.filter((k) => keys.includes(k));
    if (kinds.length > 1) v.refuse(`gives ${kinds.join(' and ')}: a volume has one source`);
    else if (!kinds.length && keys.every((k) => k === 'name')) v.refuse(`needs a source (${SOURCES.join(', ')})`);
    if (volumes.has(name)) v.at('name').fail(`${name} is already a volume of the Pod`);
    volumes.set(name, v);
  }
  const emptyDirUsers = new Map<string, string[]>();
  for (const c of containers)
    for (const m of c.at.at('volumeMounts').list()) {
      const name = m.at('name').value;
      if (typeof name === 'string' && volumes.get(name)?.at('emptyDir').present) {
        const users = emptyDirUsers.get(name) ?? [];
        if (!users.includes(c.name)) users.push(c.name);
        emptyDirUsers.set(name, users);
      }
    }
  return { volumes, emptyDirUsers };
}
