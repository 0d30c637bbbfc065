import { formatDuration } from '../spec/duration.js';
import { formatSize } from '../spec/quantity.js';
import { GLOBAL_HELP, parseCommand, UsageError } from './options.js';
import { table } from './table.js';

export const IMAGE_HELP = `Usage: pocker image pull REF
       pocker image update [NAME...]
       pocker image updates [-o table|json]
       pocker image import DIR|TAR [--name NAME[:TAG]] [--select NAME|DIGEST]
       pocker image ls [-o table|json]
       pocker image rm REF
       pocker image prune

The image store of this instance, under <data-dir>/images. A spec runs a registry image with
"image: nginx:1.27" (pulled when the store lacks it, then pinned: each container records the
manifest digest it was created with and keeps running that digest until its spec changes or
pocker image update moves it), an imported one with "image: {ref: NAME:TAG}" (importing another
image under the same reference recreates the containers that use it), or directories with
"image: {layers: [...]}".

pull    Pulls REF (Docker's defaults: nginx = docker.io/library/nginx:latest) from its registry
        (OCI distribution API; a multi-platform index resolved to linux/<this host's
        architecture>): the manifest and config verified against their digests, the layers the
        store lacks downloaded a few at once (registries.concurrency), hashed as they stream and
        unpacked as they arrive, each discarded whole if its digest does not match, then moved
        into place together; the reference is written last. Progress per layer on a terminal.
        Moves no container: running containers stay on the digest they are pinned to.
        Credentials: /etc/pocker/auth.json, then $XDG_RUNTIME_DIR/containers/auth.json, then
        ~/.docker/config.json (the "auths" map docker login and podman login write). Plain HTTP
        only for localhost, 127.0.0.0/8, ::1 and registries.insecure of the instance config;
        registries.mirrors and registries.ca there too.
update  Pulls the references the named containers (default: every container running a
        registry image) run, and recreates those whose pinned digest differs from what the
        reference names now; the others are left alone. A digest in the spec
        (image: app@sha256:...) pins for good: change the spec to move it. A container with
        autoUpdate moves as the watching controller moves it: a digest marked bad for it is
        not tried, and its rollback window is watched before the command returns (exit 1 when
        it rolled back; Ctrl-C leaves the window to the controller).
updates Lists every container with autoUpdate: the digest it runs, the one its tag names at the
        registry now (resolved, nothing pulled), and what an update would do; changes nothing.
import  Imports an image from an OCI image layout: a directory (oci-layout, index.json,
        blobs/) as "skopeo copy docker://... oci:DIR" or umoci write it, or a tar archive of one
        ("oci-archive:", or "docker save" of Docker 25 and later, which writes an OCI layout; the
        older format without index.json is refused; gzip-compressed or not). Every digest is
        verified: the manifest, the config, each layer blob against its descriptor (size and digest), and each
        uncompressed layer against the config's diff_ids. Each layer is unpacked once, by its
        diff_id, and shared by every image that has it; whiteouts become overlayfs whiteouts.
        Layers with device nodes, paths leaving the layer (.., absolute paths, writes through
        symlinks, hard links to outside) are refused and the import fails as a whole; nothing is
        left half-made. Layers: tar, tar+gzip (OCI and Docker media types); tar+zstd only on a
        Node with zstd in zlib (22.15 or later). A multi-platform index is resolved to
        linux/<this host's architecture>.
        The reference is --name, else the entry's io.containerd.image.name annotation, else its
        org.opencontainers.image.ref.name when that is a whole NAME:TAG. A ref.name that is only
        a tag (skopeo's oci:DIR:TAG) needs --name NAME, which keeps that tag. Re-importing under
        an existing reference replaces it.
        --name NAME[:TAG]      reference to store the image under (tag default: the
                               annotation's, else latest)
        --select NAME|DIGEST   which index.json entry to import when it lists several (by its
                               ref.name annotation or manifest digest)
ls      Lists the references: REF, DIGEST (manifest, short), REPO DIGEST (what the registry's
        reference named when pulled: an index for a multi-platform image), LAYERS, SIZE
        (uncompressed layers), IMPORTED.
rm      Removes a reference, and every layer that no other reference and no container uses.
        Refused while a container of this instance names the reference or runs on a layer that
        would be removed. Layers left unused by a re-import are removed too (by the next import
        or rm, once no container runs on them).
prune   Removes every reference that no container of this instance runs and no spec of a known
        spec dir (one a pass has reconciled) names, then the layers nothing uses. Never one in
        use.

${GLOBAL_HELP}`;

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${s < 1 ? '0s' : formatDuration(s * 1000)} ago`;
}

export async function main(args: string[]): Promise<number> {
  const cmd = parseCommand(args, { name: { type: 'string' }, select: { type: 'string' }, output: { type: 'string', short: 'o' } }, true);
  if (cmd.values.help) {
    console.log(IMAGE_HELP);
    return 0;
  }
  const [verb, ...rest] = cmd.positionals;
  const v = cmd.values as { name?: string; select?: string; output?: string };
  const { NodeHost } = await import('../host/nodeHost.js');
  const host = new NodeHost();
  if (verb === 'import' || verb === 'rm' || verb === 'pull' || verb === 'update' || verb === 'prune') {
    const { prepareInstance } = await import('../instance/privateDirs.js');
    const { createLogger } = await import('../log/logger.js');
    prepareInstance(host, cmd.dirs, createLogger(cmd.logLevel));
  }
  if (verb === 'import') {
    if (rest.length !== 1) throw new UsageError('usage: pocker image import DIR|TAR [--name NAME[:TAG]] [--select NAME|DIGEST]');
    if (v.output !== undefined) throw new UsageError('-o is an option of image ls');
    const { importImage } = await import('../image/import.js');
    const { shortDigest } = await import('../image/digest.js');
    const r = await importImage(host, {
      source: rest[0]!,
      dirs: cmd.dirs,
      ...(v.name !== undefined && { name: v.name }),
      ...(v.select !== undefined && { select: v.select }),
      progress: process.stderr.isTTY ? (line: string) => console.error(line) : undefined,
    });
    const fresh = r.layers.filter((l) => !l.reused).length;
    console.log(
      `imported ${r.ref} ${r.manifest}: ${r.layers.length} layer(s), ${fresh} unpacked, ${r.layers.length - fresh} already in the store, ${formatSize(r.size)} in ${(r.ms / 1000).toFixed(2)} s`,
    );
    if (r.replaced) console.log(`${r.ref} named ${r.replaced} before: containers using it are recreated by their next pass`);
    if (r.removedLayers.length)
      console.log(`removed ${r.removedLayers.length} unused layer(s): ${r.removedLayers.map(shortDigest).join(', ')}`);
    return 0;
  }
  if (v.name !== undefined || v.select !== undefined) throw new UsageError('--name and --select are options of image import');
  if (verb === 'updates') {
    const output = v.output ?? 'table';
    if (output !== 'table' && output !== 'json') throw new UsageError('-o must be table or json');
    const verbs = await import('./imageVerbs.js');
    return verbs.updates(host, cmd, rest, output);
  }
  if (verb === 'pull' || verb === 'update' || verb === 'prune') {
    if (v.output !== undefined) throw new UsageError('-o is an option of image ls and image updates');
    const verbs = await import('./imageVerbs.js');
    return verbs[verb](host, cmd, rest);
  }
  if (verb === 'ls') {
    if (rest.length) throw new UsageError('usage: pocker image ls [-o table|json]');
    const output = v.output ?? 'table';
    if (output !== 'table' && output !== 'json') throw new UsageError('-o must be table or json');
    const { listImages } = await import('../image/remove.js');
    const { shortDigest } = await import('../image/digest.js');
    const images = listImages(host, cmd.dirs.dataDir);
    if (output === 'json') {
      console.log(JSON.stringify(images, null, 2));
      return 0;
    }
    const now = Date.now();
    const rows = images.map((i) => [
      i.ref,
      shortDigest(i.manifest),
      i.repoDigest ? shortDigest(i.repoDigest) : '-',
      String(i.layers.length),
      formatSize(i.size),
      age(now - i.importedAtMs),
    ]);
    console.log(table(['REF', 'DIGEST', 'REPO DIGEST', 'LAYERS', 'SIZE', 'IMPORTED'], rows));
    return 0;
  }
  if (v.output !== undefined) throw new UsageError('-o is an option of image ls');
  if (verb === 'rm') {
    if (rest.length !== 1) throw new UsageError('usage: pocker image rm REF');
    const { removeImage } = await import('../image/remove.js');
    const { shortDigest } = await import('../image/digest.js');
    const r = await removeImage(host, rest[0]!, cmd.dirs);
    console.log(
      `removed ${r.ref}${r.removedLayers.length ? ` and ${r.removedLayers.length} layer(s): ${r.removedLayers.map(shortDigest).join(', ')}` : ''}`,
    );
    if (r.keptBecause) console.log(`unused layers kept: ${r.keptBecause}`);
    return 0;
  }
  throw new UsageError(
    verb === undefined
      ? 'name a subcommand: pull, update, updates, import, ls, rm or prune'
      : `unknown subcommand "${verb}" (pull, update, updates, import, ls, rm or prune)`,
  );
}
