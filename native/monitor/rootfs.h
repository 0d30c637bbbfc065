/* Builds the container's filesystem view inside its new mount namespace: overlay root, /proc,
 * minimal /dev, /sys (read-only), bind mounts, then pivot_root. Mount targets are resolved inside
 * the rootfs (openat2 RESOLVE_IN_ROOT), so a symlink in an image cannot send a mount to the host. */
#ifndef POCKER_ROOTFS_H
#define POCKER_ROOTFS_H

#include "config.h"
#include "error.h"

/* Mounts everything and pivots into the rootfs; with userns_fd (not -1) the layers and the binds
 * that ask for it are idmapped through that user namespace. Returns 0, or -1 with err set. */
int rootfs_setup(const struct config *c, int userns_fd, struct pk_error *err);

/* Mounts a new devpts instance (gid 5 the tty group, as the caller's user namespace counts) on
 * dev/pts of the root at rootfd. Returns 0, or -1 with err set. */
int mount_devpts(int rootfd, struct pk_error *err);

#endif
