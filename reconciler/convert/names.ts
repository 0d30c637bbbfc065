/** Container names from compose service names: DNS labels, derived when the compose name is not one. */
import { isContainerName } from '../spec/names.js';

/** Whether a string is a DNS label (a pocker container name or alias). */
export const isDnsLabel = isContainerName;

/** The DNS label nearest a name: lowercase, every run of other characters one "-", at most 63 characters; `service` when nothing is left. */
export function deriveLabel(s: string): string {
  const label = s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return label || 'service';
}

/** A file name for a service's spec: `<service>.yaml`, unless the service name would be a hidden file or not a plain file name. */
export function specFileName(service: string, name: string): string {
  return /^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(service) ? `${service}.yaml` : `${name}.yaml`;
}
