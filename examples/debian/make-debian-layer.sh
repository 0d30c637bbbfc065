#!/bin/sh
# Builds a Debian 12 (bookworm) image layer with debootstrap (--variant=minbase) and configures it
# for a container the way LXC's lxc-debian template configures its rootfs (see README.md here):
#   examples/debian/make-debian-layer.sh [DEST [MIRROR]]
# DEST defaults to /var/lib/pocker/layers/debian-bookworm. MIRROR (argument or environment)
# defaults to the Debian mirror this host's apt sources use; SECURITY_MIRROR likewise.
# COMPONENTS (default "main") go into the layer's apt sources; INCLUDE adds packages
# (comma-separated) to the bootstrap.
# The layer is built in a temp dir next to DEST and renamed into place at the end: a failed or
# interrupted build leaves nothing. A complete layer carries /etc/pocker-layer; when DEST already
# has it, nothing is done. A DEST without it is refused (remove it to rebuild).
set -eu

suite=bookworm
dest=${1:-/var/lib/pocker/layers/debian-bookworm}
mirror=${2:-${MIRROR:-}}
security_mirror=${SECURITY_MIRROR:-}
components=${COMPONENTS:-main}
include=ca-certificates,netbase${INCLUDE:+,$INCLUDE}
export PATH="$PATH:/usr/sbin:/sbin"

die() { echo "make-debian-layer: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap chroots, mounts /proc and creates files of every owner)"
command -v debootstrap >/dev/null || die "debootstrap not found (apt-get install debootstrap)"
command -v flock >/dev/null || die "flock not found (apt-get install util-linux)"
case $dest in
  /*) ;;
  *) dest=$(pwd)/$dest ;;
esac
dest=${dest%/}
[ -n "$dest" ] && [ "$dest" != / ] || die "refusing to build into /"

# Prints "URI SUITE" for every enabled deb source of this host's apt (one-line and deb822 formats).
host_sources() {
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" {
      i = 2
      if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
      print $i, $(i + 1)
    }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'function flush() {
        if (types ~ /(^| )deb( |$)/ && tolower(enabled) != "no") {
          n = split(uris, u, " "); m = split(suites, s, " ")
          for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print u[i], s[j]
        }
        types = uris = suites = enabled = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      { key = tolower($1); sub(/^[^:]*:[ \t]*/, "") }
      key == "types:" { types = $0 } key == "uris:" { uris = $0 }
      key == "suites:" { suites = $0 } key == "enabled:" { enabled = $0 }
      END { flush() }' "$f"
  done
}

# The host's mirror for a suite: the first source listing it, else the first whose URI ends in
# the archive name (a non-bookworm Debian host's mirror serves bookworm too).
host_mirror() {
  host_sources | awk -v suite="$1" -v archive="$2" '
    $2 == suite && !exact { exact = $1 }
    $1 ~ ("/" archive "/?$") && !any { any = $1 }
    END { if (exact) print exact; else if (any) print any }'
}

[ -n "$mirror" ] || mirror=$(host_mirror "$suite" debian)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
[ -n "$security_mirror" ] || security_mirror=$(host_mirror "$suite-security" debian-security)
[ -n "$security_mirror" ] || security_mirror=http://deb.debian.org/debian-security
mirror=${mirror%/}
security_mirror=${security_mirror%/}

parent=$(dirname "$dest")
name=$(basename "$dest")
mkdir -p "$parent"
exec 9<"$parent"
flock 9

if [ -f "$dest/etc/pocker-layer" ]; then
  echo "make-debian-layer: $dest is already built (remove it to rebuild)"
  exit 0
fi
[ ! -e "$dest" ] || die "$dest exists but is not a complete layer (no /etc/pocker-layer); remove it to rebuild"

# Unmounts whatever debootstrap left mounted under a temp dir, then removes it and its log.
remove_tmp() {
  awk -v p="$1/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
    umount -l "$m" || true
  done
  rm -rf --one-file-system "$1"
  rm -f "$1.log"
}
# Under the lock, a temp dir left by an earlier build is stale (its builder was killed).
for stale in "$parent/.$name.tmp."*; do
  [ ! -e "$stale" ] || remove_tmp "${stale%.log}"
done
tmp=$parent/.$name.tmp.$$
trap 'remove_tmp "$tmp"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir "$tmp"

started=$(date +%s)
echo "make-debian-layer: debootstrap $suite from $mirror into $tmp"
if ! debootstrap --variant=minbase --include="$include" "$suite" "$tmp" "$mirror" >"$tmp.log" 2>&1; then
  tail -n 25 "$tmp.log" >&2
  [ ! -f "$tmp/debootstrap/debootstrap.log" ] || tail -n 25 "$tmp/debootstrap/debootstrap.log" >&2
  die "debootstrap failed (mirror $mirror; set MIRROR to use another)"
fi
rm -f "$tmp.log"

cd "$tmp"

echo debian > etc/hostname
cat > etc/hosts <<'EOF'
127.0.0.1   localhost
127.0.1.1   debian

# The following lines are desirable for IPv6 capable hosts
::1     localhost ip6-localhost ip6-loopback
ff02::1 ip6-allnodes
ff02::2 ip6-allrouters
EOF
: > etc/resolv.conf
ln -sfn /proc/self/mounts etc/mtab

rm -f etc/apt/sources.list
cat > etc/apt/sources.list.d/debian.sources <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: $components
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: $suite-security
Components: $components
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

# Packages installed later must not start services: the container has no init system to run them.
cat > usr/sbin/policy-rc.d <<'EOF'
#!/bin/sh
# Written by pocker's make-debian-layer.sh: no service starts at package installation.
exit 101
EOF
chmod 755 usr/sbin/policy-rc.d

# Should systemd be added on top, it starts no getty on terminals the container does not have and
# no udev for devices it cannot manage.
mkdir -p etc/systemd/system
for unit in getty@.service serial-getty@.service console-getty.service container-getty@.service \
  getty-static.service systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
  udev.service; do
  ln -sfn /dev/null "etc/systemd/system/$unit"
done

echo 'LANG=C.UTF-8' > etc/default/locale
echo Etc/UTC > etc/timezone
if [ -e usr/share/zoneinfo/Etc/UTC ]; then
  ln -sfn /usr/share/zoneinfo/Etc/UTC etc/localtime
fi

[ ! -e etc/machine-id ] || : > etc/machine-id
rm -f var/lib/dbus/machine-id
rm -rf var/lib/apt/lists/* var/cache/apt/*.bin var/cache/apt/archives/*.deb var/cache/ldconfig/aux-cache
mkdir -p var/lib/apt/lists/partial

# /dev: pocker mounts a fresh one over it; the layer holds no device nodes.
find dev -mindepth 1 -delete

cat > etc/pocker-layer <<EOF
layer=debian-$suite
suite=$suite
mirror=$mirror
security_mirror=$security_mirror
debootstrap=$(dpkg-query -W -f='${Version}' debootstrap 2>/dev/null || echo unknown)
built=$(date -u +%Y-%m-%dT%H:%M:%SZ)
EOF

cd /
mv -T "$tmp" "$dest"
trap - EXIT
echo "make-debian-layer: Debian $(cat "$dest/etc/debian_version") layer ready at $dest ($(du -sh "$dest" | cut -f1), $(($(date +%s) - started)) s)"
