/**
 * A pocker spec document being built from Kubernetes objects, with where each of its fields came
 * from: a problem pocker's checks find in the spec is reported at the Kubernetes field it was
 * made of (`spec.containers[0].resources.limits.memory (resources.memory): …`).
 */
import { fieldName, type DocPath, type Place } from './cursor.js';

/** A port to publish, and where it was said. */
export interface DraftPort {
  port: { host: number; container: number; protocol?: 'tcp' | 'udp'; hostIP?: string };
  from: Place;
}

/** A firewall rule as a spec file writes it (`from` for ingress, `to` for egress), and where each part was said. */
export interface DraftRule {
  rule: { from?: string; to?: string; ports?: Array<number | string>; protocol?: 'tcp' | 'udp' };
  /** The entry it comes from; its peer; its ports. */
  from: Place;
  peerFrom: Place;
  portsFrom?: Place;
}

/** The network of a container before the file's Services and NetworkPolicies have added their ports and rules. */
export interface NetworkDraft {
  mode: 'none' | 'host' | 'bridge';
  modeFrom: Place;
  name?: { value: string; from: Place };
  aliases?: { value: string[]; from: Place };
  ports: DraftPort[];
  ingress: DraftRule[];
  egress: DraftRule[];
}

const keyOf = (path: DocPath): string => path.map(String).join('\0');

/** One spec document with the origin of its fields. */
export class SpecBuilder {
  readonly value: Record<string, unknown> = { apiVersion: 'pocker/v1' };
  readonly network: NetworkDraft;
  readonly #origins = new Map<string, Place>();

  /**
   * `home` is the container the spec is made of (where problems without a more precise origin
   * point); `index` is the document of its workload in the file.
   */
  constructor(
    readonly name: string,
    readonly home: Place,
    readonly index: number,
  ) {
    this.value.name = name;
    this.#origins.set(keyOf(['name']), home);
    this.network = { mode: 'bridge', modeFrom: home, ports: [], ingress: [], egress: [] };
  }

  /** Sets a field (creating the mappings above it), remembering where it came from. */
  set(path: DocPath, v: unknown, from: Place): void {
    let node = this.value as Record<string | number, unknown>;
    for (const p of path.slice(0, -1)) {
      node[p] ??= {};
      node = node[p] as Record<string | number, unknown>;
    }
    node[path[path.length - 1]!] = v;
    this.#origins.set(keyOf(path), from);
  }

  /** Appends to a list field, remembering where the item came from. */
  push(field: string, item: unknown, from: Place): void {
    const list = ((this.value[field] as unknown[] | undefined) ??= []);
    list.push(item);
    this.#origins.set(keyOf([field, list.length - 1]), from);
  }

  /** Remembers where a field came from without setting it (a field set as part of a larger value). */
  from(path: DocPath, from: Place): void {
    this.#origins.set(keyOf(path), from);
  }

  has(field: string): boolean {
    return this.value[field] !== undefined;
  }

  /** Where a field of the spec came from: the origin of its longest known prefix, else the container. */
  origin(path: DocPath): Place {
    for (let n = path.length; n > 0; n--) {
      const hit = this.#origins.get(keyOf(path.slice(0, n)));
      if (hit) return hit;
    }
    return this.home;
  }

  /** The Kubernetes field a spec field came from, named for messages: `FIELD (specField)`. */
  describe(path: DocPath): string {
    const o = this.origin(path);
    return path.length ? `${fieldName(o.path)} (${fieldName(path)})` : fieldName(o.path);
  }

  /** Writes the network draft into the document: none without anything else is no network section (pocker's default). */
  finishNetwork(): void {
    const n = this.network;
    if (n.mode === 'none' && !n.name && !n.aliases && !n.ports.length && !n.ingress.length && !n.egress.length) return;
    this.set(['network', 'mode'], n.mode, n.modeFrom);
    if (n.name) this.set(['network', 'name'], n.name.value, n.name.from);
    if (n.aliases) this.set(['network', 'aliases'], n.aliases.value, n.aliases.from);
    n.ports.forEach((p, i) => {
      const net = this.value.network as { ports?: unknown[] };
      (net.ports ??= []).push(p.port);
      this.from(['network', 'ports', i], p.from);
    });
    for (const dir of ['ingress', 'egress'] as const)
      n[dir].forEach((r, i) => {
        const net = this.value.network as Record<string, unknown[] | undefined>;
        (net[dir] ??= []).push(r.rule);
        this.from(['network', dir, i], r.from);
        this.from(['network', dir, i, dir === 'ingress' ? 'from' : 'to'], r.peerFrom);
        if (r.portsFrom) this.from(['network', dir, i, 'ports'], r.portsFrom);
      });
  }
}
