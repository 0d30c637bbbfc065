/** Host-independent checks of paths named in a spec. */

/** Returns why p is not a clean absolute path, or null when it is. */
export function absolutePathProblem(p: string): string | null {
  if (!p.startsWith('/')) return `"${p}" is not an absolute path`;
  if (p.includes('\0')) return 'path contains a NUL byte';
  if (p === '/') return null;
  if (p.endsWith('/')) return `"${p}" ends with "/"; write it without`;
  for (const seg of p.slice(1).split('/')) {
    if (seg === '') return `"${p}" contains "//"`;
    if (seg === '.' || seg === '..') return `"${p}" contains "${seg}"; write the path without . or .. parts`;
  }
  return null;
}

/** Characters overlayfs uses as separators in its mount options. */
const OVERLAY_SPECIAL = /[:,\\\n]/;

/** Returns why p cannot be an image layer directory, or null when it can. */
export function layerPathProblem(p: string): string | null {
  const base = absolutePathProblem(p);
  if (base) return base;
  if (p === '/') return 'the host root cannot be a layer';
  if (OVERLAY_SPECIAL.test(p)) return `layer path "${p}" contains one of : , \\ or a newline, which overlayfs cannot take`;
  return null;
}

/** Returns why p cannot be a bind mount target, or null when it can. */
export function mountTargetProblem(p: string): string | null {
  const base = absolutePathProblem(p);
  if (base) return base;
  if (p === '/') return 'cannot mount over the container root';
  if (/^\/(proc|sys|dev)(\/|$)/.test(p)) return `"${p}" is inside /proc, /sys or /dev, which pocker sets up itself`;
  return null;
}
