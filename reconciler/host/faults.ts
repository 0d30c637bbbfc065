/**
 * Fault injection for crash-consistency tests (off in production). POCKER_FAULT (or setFaults in
 * tests) holds rules "point[:container]=action[*count]" separated by commas; action is `kill`
 * (SIGKILL this process, as a crash would) or an errno name (the step fails with that error).
 * Points are the named steps of FAULT_STEPS and the failing operations of FAULT_OPERATIONS.
 */

/** The steps of creating, updating and removing a container, in order; the fault harness kills a controller at each. */
export const FAULT_STEPS = [
  'create:record',
  'create:cgroup',
  'create:cni-added',
  'create:network',
  'create:spawned',
  'create:started',
  'create:recorded',
  'update:cgroup',
  'remove:marked',
  'remove:stopped',
  'remove:cgroup',
  'remove:network',
  'remove:data',
  'remove:state',
] as const;

/** The steps of an auto-update and of its rollback (the auto-update fault test kills the controller at each). */
export const AUTO_UPDATE_STEPS = [
  'auto-update:updating',
  'auto-update:moved',
  'auto-update:rolling-back',
  'auto-update:rolled-back',
] as const;

/** Operations a rule can make fail with an errno (the disk full, the kernel refusing a write). */
export const FAULT_OPERATIONS = ['write-record', 'cgroup-write', 'unmount'] as const;

/** A point faultPoint() can be called at. */
export type FaultPoint = (typeof FAULT_STEPS)[number] | (typeof AUTO_UPDATE_STEPS)[number] | (typeof FAULT_OPERATIONS)[number];

interface Rule {
  point: string;
  container: string | null;
  action: string;
  /** How many more times it fires (Infinity: always). */
  left: number;
}

let rules: Rule[] | null = null;

function parse(text: string): Rule[] {
  return text
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean)
    .map((r) => {
      const [lhs, rhs = 'kill'] = r.split('=');
      const parts = lhs!.split(':');
      // Steps are "phase:step" (create:cgroup); failing operations are one word (unmount).
      const stepNames = parts.length > 1 && ['create', 'update', 'remove', 'auto-update'].includes(parts[0]!);
      const point = stepNames ? parts.slice(0, 2).join(':') : parts[0]!;
      const container = parts[stepNames ? 2 : 1] ?? null;
      const [action, count] = rhs.split('*');
      return { point: point!, container: container ?? null, action: action!, left: count ? Number(count) : Infinity };
    });
}

/** Replaces the active rules (tests running in-process); null falls back to POCKER_FAULT. */
export function setFaults(text: string | null): void {
  rules = text === null ? null : parse(text);
}

function active(): Rule[] {
  rules ??= parse(process.env.POCKER_FAULT ?? '');
  return rules;
}

/** A named step: crashes or fails here when a rule says so. Costs one array scan when none is set. */
export function faultPoint(point: FaultPoint, container?: string): void {
  const list = active();
  if (!list.length) return;
  const rule = list.find((r) => r.point === point && r.left > 0 && (r.container === null || r.container === container));
  if (!rule) return;
  rule.left--;
  if (rule.action === 'kill') process.kill(process.pid, 'SIGKILL');
  throw Object.assign(new Error(`injected fault ${rule.action} at ${point}${container ? ` of ${container}` : ''}`), { code: rule.action });
}
