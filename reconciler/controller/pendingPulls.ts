import type { DirLoad } from '../spec/load.js';

/** The pulls a loaded spec dir waits for (one per image, whatever the number of containers). */
export function pendingPulls(load: DirLoad): string[] {
  return [...new Set(load.desired.flatMap((d) => (d.pendingImage ? [d.pendingImage.pull] : [])))].sort();
}

/** The failures of the last pulls, attached to the desired containers that wait for those images. */
export function withPullErrors(load: DirLoad, errors: ReadonlyMap<string, string>): DirLoad {
  if (!errors.size) return load;
  return {
    ...load,
    desired: load.desired.map((d) => {
      const error = d.pendingImage && errors.get(d.pendingImage.pull);
      return error ? { ...d, pendingImage: { ...d.pendingImage!, error } } : d;
    }),
  };
}
