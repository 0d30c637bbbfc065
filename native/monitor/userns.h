/* User namespaces and idmapped mounts: the mechanism of `userns: auto`. The monitor makes the
 * container's user namespace up front (its uid and gid maps written from outside, as only a
 * process privileged in the parent namespace can); the init, still host root, mounts the layers
 * and the idmapped binds through it, then enters it and takes a copy of its mount namespace, in
 * which every mount it made is locked (no unmount, no read-write remount of a read-only bind). */
#ifndef POCKER_USERNS_H
#define POCKER_USERNS_H

#include "error.h"

#include <stdint.h>

/* One range of host ids: container ids 0..size-1 are host uid..uid+size-1 and gid..gid+size-1. */
struct id_range {
	uint32_t uid, gid, size;
	int set; /* 0: no user namespace (the host's) */
};

/* Creates a user namespace mapped by r and returns an fd of it (O_CLOEXEC), or -1 with err set.
 * With netns not NULL, also a network namespace owned by it (*netns: its fd), so that the
 * container's root has its network capabilities there. */
int userns_create(const struct id_range *r, int *netns, struct pk_error *err);

/* The user namespace owning the network namespace netns_fd (NS_GET_USERNS): an fd, or -1 with err
 * set. *host is set when that is the host's own (a namespace pinned without a user namespace). */
int userns_of_netns(int netns_fd, int *host, struct pk_error *err);

/* `pocker-monitor pin-netns PATH UID GID SIZE`: a network namespace owned by a new user namespace
 * mapped by the range, kept alive by a bind mount on PATH (a new file). Returns the exit status. */
int pin_netns_main(int argc, char **argv);

/* A detached copy of the mount at path (with its submounts when recursive), idmapped through the
 * user namespace userns_fd: an fd for move_mount, or -1 with err set (naming the filesystem when
 * the kernel cannot idmap it). */
int idmapped_clone(const char *path, int userns_fd, int recursive, struct pk_error *err);

/* Attaches a detached mount (idmapped_clone) at target_fd (an O_PATH fd) or, with target_fd
 * AT_FDCWD, at path. Returns 0, or -1 with err set. */
int attach_mount(int mount_fd, int target_fd, const char *path, struct pk_error *err);

/* Joins the user namespace as its root (uid and gid 0, no supplementary groups), then unshares the
 * mount namespace so that every mount made before is locked. Returns 0, or -1 with err set. */
int userns_enter(int userns_fd, struct pk_error *err);

#endif
