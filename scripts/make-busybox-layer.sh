#!/bin/sh
# Builds pocker's default image layer from Debian's busybox-static (no download):
#   scripts/make-busybox-layer.sh [DATA_DIR]   -> DATA_DIR/layers/busybox (default /var/lib/pocker)
# The layer is rebuilt in a temp dir and swapped in with a rename, so a half-built layer is never used.
set -eu
data_dir=${1:-/var/lib/pocker}
busybox=$(command -v busybox || true)
[ -x /bin/busybox ] && busybox=/bin/busybox
if [ -z "$busybox" ]; then
  echo "make-busybox-layer: busybox not found (apt-get install busybox-static)" >&2; exit 1
fi
if ldd "$busybox" >/dev/null 2>&1; then
  echo "make-busybox-layer: $busybox is dynamically linked; install busybox-static" >&2; exit 1
fi
layers=$data_dir/layers
dest=$layers/busybox
tmp=$layers/.busybox.tmp.$$
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$layers"
rm -rf "$tmp"
mkdir -p "$tmp"
cd "$tmp"
mkdir -p bin sbin usr/bin usr/sbin etc proc sys dev tmp root var/www var/log run home
chmod 1777 tmp
chmod 700 root
cp "$busybox" bin/busybox
for applet in $("$busybox" --list-full); do
  [ "$applet" = bin/busybox ] && continue
  [ -e "$applet" ] || ln -s /bin/busybox "$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nwww-data:x:33:33:www-data:/var/www:/bin/false\n' > etc/passwd
printf 'root:x:0:\ntty:x:5:\nwww-data:x:33:\nnogroup:x:65534:\n' > etc/group
printf 'hosts: files dns\n' > etc/nsswitch.conf
: > etc/hosts
: > etc/resolv.conf
echo 'pocker' > etc/hostname
printf '<!doctype html>\n<title>pocker</title>\n<p>Hello from a pocker container.</p>\n' > var/www/index.html
cd /
rm -rf "$dest.old"
[ -e "$dest" ] && mv "$dest" "$dest.old"
mv "$tmp" "$dest"
rm -rf "$dest.old"
trap - EXIT
echo "busybox layer ready at $dest ($("$dest/bin/busybox" | head -1))"
