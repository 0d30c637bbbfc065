/** CPU lists as the kernel writes them (`0-2,5`): parsed to sorted sets and printed canonically. */

/** Highest CPU number accepted in a spec (the kernel's NR_CPUS is at most 8192). */
export const MAX_CPU = 8191;

/** Parses "0-1,3" into a sorted, de-duplicated list of CPU numbers, or returns an error message. */
export function parseCpuList(text: string): { cpus: number[] } | { error: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { cpus: [] };
  const cpus = new Set<number>();
  for (const part of trimmed.split(',')) {
    const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(part);
    if (!m) return { error: `"${text}" is not a CPU list (examples: "0", "0-1,3")` };
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) return { error: `range ${part} in "${text}" runs backwards` };
    if (hi > MAX_CPU) return { error: `CPU ${hi} in "${text}" is above ${MAX_CPU}` };
    for (let c = lo; c <= hi; c++) cpus.add(c);
  }
  return { cpus: [...cpus].sort((a, b) => a - b) };
}

/** Formats a sorted CPU list canonically: consecutive runs as ranges ("0-1,3"). */
export function formatCpuList(cpus: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cpus.length;) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
    parts.push(i === j ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Canonical form of a kernel or user CPU list string; unparsable input is returned trimmed. */
export function canonicalCpuList(text: string): string {
  const r = parseCpuList(text);
  return 'cpus' in r ? formatCpuList(r.cpus) : text.trim();
}
