/**
 * The names an image of a canonical registry reference may have in the store: the reference
 * itself (as a pull writes it), and Docker's short form (`nginx:1.27` for
 * `docker.io/library/nginx:1.27`, `team/app:2` for `docker.io/team/app:2`) as an import with
 * `--name nginx:1.27` writes it.
 */
export function storeNamesOf(reference: string): string[] {
  const names = [reference];
  if (reference.startsWith('docker.io/library/')) names.push(reference.slice('docker.io/library/'.length));
  else if (reference.startsWith('docker.io/')) names.push(reference.slice('docker.io/'.length));
  return names;
}
