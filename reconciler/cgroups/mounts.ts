/** Where the cgroup hierarchies are mounted, read from /proc/self/mountinfo. */
export interface CgroupMounts {
  /** v1 controller name -> mount point (co-mounted controllers share one). */
  v1: Map<string, string>;
  /** cgroup2 mount point, if any (the whole tree on v2, "unified" on hybrid hosts). */
  unified: string | null;
}

function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses mountinfo text into the cgroup mounts it lists (first mount of each controller wins). */
export function parseCgroupMounts(mountinfo: string): CgroupMounts {
  const v1 = new Map<string, string>();
  let unified: string | null = null;
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const post = line.slice(sep + 3).split(' ');
    const mountPoint = unescapeMountPath(pre[4] ?? '');
    const fsType = post[0];
    if (fsType === 'cgroup2') {
      unified ??= mountPoint;
    } else if (fsType === 'cgroup') {
      for (const opt of (post[2] ?? '').split(',')) {
        if (opt === 'rw' || opt === 'ro' || opt.includes('=') || opt === 'clone_children' || opt === 'noprefix' || opt === 'xattr')
          continue;
        if (!v1.has(opt)) v1.set(opt, mountPoint);
      }
    }
  }
  return { v1, unified };
}
