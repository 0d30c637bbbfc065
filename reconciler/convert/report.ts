import type { Finding, Note } from './types.js';

/** The `service` of findings about the compose file's own keys and its top-level networks, volumes, configs and secrets. */
export const TOP_LEVEL = '(top-level)';

/** Collects what a conversion loses (findings) and what the operator must do (notes), each once, in the order found. */
export class Report {
  readonly findings: Finding[] = [];
  readonly notes: Note[] = [];
  private readonly seen = new Set<string>();

  /** Something of the compose file the specs do not carry, or carry differently. */
  lose(service: string, field: string, message: string): void {
    this.push(this.findings, { service, field, message });
  }

  /** Something the operator must do or know (a secret's value to put in place); not a loss: `--strict` does not count it. */
  note(service: string, field: string, message: string): void {
    this.push(this.notes, { service, field, message });
  }

  private push(list: Finding[], f: Finding): void {
    const key = `${list === this.findings ? 'f' : 'n'}\0${f.service}\0${f.field}\0${f.message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    list.push(f);
  }
}

/** A finding or note as one line: `SERVICE: FIELD: why`. */
export function formatFinding(f: Finding): string {
  return `${f.service}: ${f.field}: ${f.message}`;
}
