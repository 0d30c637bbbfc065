/** Collects the findings of an export, each once, in the order found. */
import { join } from 'node:path';
import type { DesiredContainer } from '../spec/types.js';
import type { ExportFinding } from './types.js';

/** The spec file a container comes from, as findings and `pocker.io/source` name it. */
export function specFile(d: DesiredContainer): string {
  return join(d.source.dir, d.source.file);
}

/** Warnings (what Kubernetes cannot express) and notes (what to do or know), per container and field. */
export class Report {
  readonly warnings: ExportFinding[] = [];
  readonly notes: ExportFinding[] = [];
  readonly #seen = new Set<string>();

  /** Something the cluster does otherwise than pocker; `same`: pocker reads the manifest back to the same spec. */
  warn(d: DesiredContainer, field: string, message: string, readBack: ExportFinding['readBack'] = 'same'): void {
    this.#push(this.warnings, d, field, message, readBack);
  }

  /** Something to do or know that Kubernetes carries as it is. */
  note(d: DesiredContainer, field: string, message: string, readBack: ExportFinding['readBack'] = 'same'): void {
    this.#push(this.notes, d, field, message, readBack);
  }

  #push(list: ExportFinding[], d: DesiredContainer, field: string, message: string, readBack: ExportFinding['readBack']): void {
    const f: ExportFinding = { file: specFile(d), container: d.spec.name, field, message, readBack };
    const key = `${list === this.warnings ? 'w' : 'n'}\0${f.file}\0${f.container}\0${field}\0${message}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    list.push(f);
  }
}

/** A finding as one line: `FILE: CONTAINER: FIELD: why`. */
export function formatFinding(f: ExportFinding): string {
  return `${f.file}: ${f.container}: ${f.field}: ${f.message}`;
}
