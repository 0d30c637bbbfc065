/**
 * Reading a Kubernetes object of unknown shape: a Cursor is a value with its place in the file
 * (document and path), so every problem is reported where it is, naming the field as Kubernetes
 * does (`spec.containers[0].image`).
 */
import type { Document } from 'yaml';
import { nodeAt, yaml } from '../yamlLocate.js';

/** A path inside a document: keys and indexes. */
export type DocPath = Array<string | number>;

/** A place in a spec file: the YAML document and the path inside it. */
export interface Place {
  doc: Document;
  path: DocPath;
}

/** A problem of a Kubernetes object, at its place (`at: key` points at the key rather than its value). */
export interface KubeProblem extends Place {
  message: string;
  at?: 'key' | 'value';
}

/** `spec.containers[0].image` for a path. */
export function fieldName(path: DocPath): string {
  return path.length
    ? path
        .map((p) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z0-9_-]+$/.test(p) ? p : `[${JSON.stringify(p)}]`))
        .join('.')
        .replace(/\.\[/g, '[')
    : 'the document';
}

/** What a key that pocker does not take means: `true` = accepted; a string = why it is refused. */
export type KeyRules = Readonly<Record<string, true | string>>;

/** A value of a Kubernetes object at its place, collecting problems into a shared list. */
export class Cursor {
  constructor(
    readonly value: unknown,
    readonly doc: Document,
    readonly path: DocPath,
    readonly problems: KubeProblem[],
  ) {}

  /** The field as Kubernetes names it. */
  get field(): string {
    return fieldName(this.path);
  }

  get place(): Place {
    return { doc: this.doc, path: this.path };
  }

  get present(): boolean {
    return this.value !== undefined && this.value !== null;
  }

  /** The value under key (absent when this is no mapping). */
  at(key: string | number): Cursor {
    const v = this.value !== null && typeof this.value === 'object' ? (this.value as Record<string | number, unknown>)[key] : undefined;
    return new Cursor(v, this.doc, [...this.path, key], this.problems);
  }

  /** Records a problem of this field: `FIELD: message`. */
  fail(message: string, at: 'key' | 'value' = 'value'): void {
    this.problems.push({ doc: this.doc, path: this.path, message: `${this.field}: ${message}`, at });
  }

  /** Records a problem worded as `FIELD reason` (`spec.affinity is not supported on a single host`). */
  refuse(reason: string, at: 'key' | 'value' = 'value'): void {
    this.failRaw(`${this.field} ${reason}`, at);
  }

  /** Records a problem with its own wording (it names the field itself). */
  failRaw(message: string, at: 'key' | 'value' = 'value'): void {
    this.problems.push({ doc: this.doc, path: this.path, message, at });
  }

  /** The mapping here; null (and a problem) when it is something else; null when absent. */
  map(): Record<string, unknown> | null {
    if (!this.present) return null;
    if (typeof this.value !== 'object' || Array.isArray(this.value)) {
      this.refuse('must be a mapping');
      return null;
    }
    return this.value as Record<string, unknown>;
  }

  /** The items of the list here (each a cursor); [] when absent or not a list (with a problem). */
  list(): Cursor[] {
    if (!this.present) return [];
    if (!Array.isArray(this.value)) {
      this.refuse('must be a list');
      return [];
    }
    return this.value.map((_, i) => this.at(i));
  }

  /** The string here; undefined when absent or not a string (with a problem). */
  string(): string | undefined {
    if (!this.present) return undefined;
    if (typeof this.value !== 'string') {
      this.refuse('must be a string');
      return undefined;
    }
    return this.value;
  }

  /** The whole number here; undefined when absent or not one (with a problem). */
  int(): number | undefined {
    if (!this.present) return undefined;
    if (typeof this.value !== 'number' || !Number.isSafeInteger(this.value)) {
      this.refuse('must be a whole number');
      return undefined;
    }
    return this.value;
  }

  /**
   * A file mode (0 to 0777): a number, where `0644` is octal as kubectl's YAML 1.1 reads it (YAML
   * 1.2 would read 644); undefined when absent or no mode (with a problem).
   */
  mode(): number | undefined {
    const n = this.int();
    if (n === undefined) return undefined;
    const node = nodeAt(this.doc, this.path, 'value');
    const src = yaml().isScalar(node) ? node.source : undefined;
    const mode = typeof src === 'string' && /^0[0-7]+$/.test(src) ? parseInt(src, 8) : n;
    if (mode < 0 || mode > 0o777) {
      this.refuse('must be a mode from 0 to 0777 (511)');
      return undefined;
    }
    return mode;
  }

  /** true or false here; undefined when absent or neither (with a problem). */
  bool(): boolean | undefined {
    if (!this.present) return undefined;
    if (typeof this.value !== 'boolean') {
      this.refuse('must be true or false');
      return undefined;
    }
    return this.value;
  }

  /** A list of strings; undefined when absent or not one (with a problem). */
  strings(): string[] | undefined {
    if (!this.present) return undefined;
    const items = this.list();
    if (!Array.isArray(this.value)) return undefined;
    const out: string[] = [];
    for (const item of items) {
      const s = item.string();
      if (s === undefined) return undefined;
      out.push(s);
    }
    return out;
  }

  /** A mapping of strings to strings (labels, annotations, ConfigMap data); {} when absent. */
  stringMap(): Record<string, string> {
    const m = this.map();
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(m ?? {})) {
      if (typeof v === 'string') out[k] = v;
      else this.at(k).refuse('must be a string');
    }
    return out;
  }

  /**
   * Refuses every key of this mapping that rules do not accept: `FIELD is not supported…` at the
   * key, with the rule's reason, or `defaultReason` for keys the rules do not name.
   */
  keys(rules: KeyRules, defaultReason: string): void {
    const m = this.present && typeof this.value === 'object' && !Array.isArray(this.value) ? (this.value as Record<string, unknown>) : {};
    for (const k of Object.keys(m)) {
      const rule = Object.hasOwn(rules, k) ? rules[k] : undefined;
      if (rule === true) continue;
      this.at(k).refuse(rule ?? defaultReason, 'key');
    }
  }
}
