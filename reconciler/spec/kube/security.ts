/**
 * A container's securityContext (over its Pod's): privileged, capabilities, the user
 * (runAsUser/runAsGroup, or a name in the `pocker.io/user` annotation), readOnlyRootFilesystem.
 * What pocker always does (no_new_privs, Docker's seccomp filter) is accepted as stated and
 * refused when the manifest asks for less.
 */
import { ANNOTATION } from './annotations.js';
import type { SpecBuilder } from './builder.js';
import type { ContainerAnnotations } from './context.js';
import type { Cursor } from './cursor.js';
import { NOT_SUPPORTED, SECURITY_CONTEXT } from './rules.js';

/** The field the container sets, else the Pod's. */
function either(own: Cursor, pod: Cursor, key: string): Cursor {
  return own.at(key).present ? own.at(key) : pod.at(key);
}

/** Refuses a seccompProfile other than RuntimeDefault (what pocker applies). */
export function checkSeccomp(at: Cursor): void {
  if (!at.present) return;
  at.keys({ type: true, localhostProfile: "is not supported: pocker applies Docker's default filter (RuntimeDefault)" }, NOT_SUPPORTED);
  const type = at.at('type').string();
  if (type !== undefined && type !== 'RuntimeDefault')
    at.at('type').fail(`${type}: pocker always applies Docker's default seccomp filter (RuntimeDefault; privileged: true has none)`);
}

/** Reads the security settings of a container (`pod`: the Pod's securityContext, checked by the Pod) into the spec. */
export function importSecurity(c: Cursor, pod: Cursor, b: SpecBuilder, ann: ContainerAnnotations): void {
  const sc = c.at('securityContext');
  sc.keys(SECURITY_CONTEXT, NOT_SUPPORTED);
  sc.map();
  const privileged = sc.at('privileged').bool();
  if (privileged !== undefined) b.set(['privileged'], privileged, sc.at('privileged').place);
  const caps = sc.at('capabilities');
  caps.keys({ add: true, drop: true }, NOT_SUPPORTED);
  for (const kind of ['add', 'drop'] as const) {
    const list = caps.at(kind).strings();
    if (list !== undefined) b.set(['capabilities', kind], list, caps.at(kind).place);
  }
  const ro = sc.at('readOnlyRootFilesystem').bool();
  if (ro !== undefined) b.set(['readOnlyRootfs'], ro, sc.at('readOnlyRootFilesystem').place);
  const escalation = sc.at('allowPrivilegeEscalation').bool();
  if (escalation === true && privileged !== true)
    sc.at('allowPrivilegeEscalation').fail('true is not supported: pocker always sets no_new_privs (unless privileged: true)');
  checkSeccomp(sc.at('seccompProfile'));

  const userAt = either(sc, pod, 'runAsUser');
  const groupAt = either(sc, pod, 'runAsGroup');
  const uid = userAt.int();
  const gid = groupAt.int();
  const named = ann.get(ANNOTATION.user);
  if (named) {
    const user = named.string();
    if (userAt.present || groupAt.present) named.refuse('and runAsUser/runAsGroup both say who runs it: keep one');
    else if (user !== undefined) b.set(['user'], user, named.place);
  } else if (uid !== undefined) {
    b.set(['user'], gid !== undefined ? `${uid}:${gid}` : String(uid), userAt.place);
  } else if (gid !== undefined) {
    groupAt.fail('without runAsUser is not supported: pocker sets a user and its group together (give runAsUser too)');
  }
  const nonRoot = either(sc, pod, 'runAsNonRoot');
  if (nonRoot.bool() === true) {
    if (named) nonRoot.refuse('cannot be checked before the image runs (the user is a name): give runAsUser, or leave runAsNonRoot out');
    else if (uid === undefined) nonRoot.refuse("cannot be checked before the image's USER runs: give runAsUser (not 0)");
    else if (uid === 0) nonRoot.refuse('is true, and runAsUser is 0 (root): Kubernetes would refuse to start it');
  }
}
