/** Names of Kubernetes objects, volumes and keys made from pocker's names. */

/** A DNS label (RFC 1123) made of `s`: lowercase letters, digits and "-", at most `max` characters. */
export function dnsLabel(s: string, max = 63): string {
  const out = s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .slice(0, max)
    .replace(/^-+|-+$/g, '');
  return out || 'x';
}

/** Whether `s` is a DNS subdomain (the names of ConfigMaps, Secrets, PersistentVolumeClaims). */
export function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(s);
}

/** A DNS subdomain made of `s` (`s` itself when it is one). */
export function dnsSubdomain(s: string): string {
  return isDnsSubdomain(s) ? s : dnsLabel(s);
}

/** A Service's name (a DNS-1035 label: it starts with a letter) for a container. */
export function serviceName(container: string): string {
  return /^[a-z]/.test(container) ? container : dnsLabel(`s-${container}`);
}

/** A key of a ConfigMap (letters, digits, "-", "_", "."). */
export function configMapKey(s: string): string {
  const out = s.replace(/[^-._a-zA-Z0-9]+/g, '-').slice(0, 253);
  return out && out !== '.' && out !== '..' ? out : 'file';
}

/** Hands out names once each, adding -2, -3… to a name taken already. */
export class UniqueNames {
  readonly #taken = new Set<string>();

  constructor(private readonly make: (hint: string) => string) {}

  take(hint: string): string {
    const base = this.make(hint);
    let name = base;
    for (let n = 2; this.#taken.has(name); n++) name = this.make(`${base.slice(0, 56)}-${n}`);
    this.#taken.add(name);
    return name;
  }
}
