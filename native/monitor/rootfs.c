#define _GNU_SOURCE
#include "rootfs.h"
#include "userns.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define RESOLVE_NO_MAGICLINKS_ 0x02
#define RESOLVE_IN_ROOT_ 0x10
#define MOUNT_ATTR_RDONLY_ 0x00000001ULL
#define MOUNT_ATTR_NOSUID_ 0x00000002ULL
#define MOUNT_ATTR_NODEV_ 0x00000004ULL
#define MOUNT_ATTR_NOEXEC_ 0x00000008ULL
#define AT_RECURSIVE_ 0x8000
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

struct mount_attr_ {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

struct open_how_ {
	uint64_t flags, mode, resolve;
};

/* Opens rel (relative to the rootfs) as if the rootfs were "/": ".." and symlinks stay inside. */
static int open_in_root(int rootfd, const char *rel, int flags)
{
	struct open_how_ how = { .flags = (uint64_t)(flags | O_CLOEXEC),
				 .resolve = RESOLVE_IN_ROOT_ | RESOLVE_NO_MAGICLINKS_ };
	return (int)syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof how);
}

/*
 * Resolves target inside the rootfs the way runc's securejoin does: component by component,
 * following symlinks as if the rootfs were "/" (an absolute link restarts at the rootfs, ".."
 * never leaves it), creating missing directories (and, when is_dir is 0, an empty file as the
 * last component). Returns an O_PATH fd of the result, which is never outside the rootfs.
 */
static int ensure_in_root(int rootfd, const char *target, int is_dir)
{
	char resolved[4096] = "";
	char todo[8192];
	char cand[4096];
	int links = 0;
	if (strlen(target) >= sizeof todo) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(todo, target);
	char *p = todo;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char comp[256];
		if (len >= sizeof comp) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, p, len);
		comp[len] = 0;
		p += len;
		const char *rest = p;
		while (*rest == '/')
			rest++;
		int last = *rest == 0;
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			char *slash = strrchr(resolved, '/');
			if (slash)
				*slash = 0;
			else
				resolved[0] = 0;
			continue;
		}
		if (snprintf(cand, sizeof cand, "%s%s%s", resolved, *resolved ? "/" : "", comp) >= (int)sizeof cand) {
			errno = ENAMETOOLONG;
			return -1;
		}
		int fd = open_in_root(rootfd, cand, O_PATH | O_NOFOLLOW);
		if (fd < 0 && errno == ENOENT) {
			int parent = open_in_root(rootfd, resolved, O_PATH | O_DIRECTORY);
			if (parent < 0)
				return -1;
			int rc;
			if (!last || is_dir) {
				rc = mkdirat(parent, comp, 0755);
			} else {
				rc = openat(parent, comp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
				if (rc >= 0)
					close(rc);
			}
			int e = errno;
			close(parent);
			if (rc < 0 && e != EEXIST) {
				errno = e;
				return -1;
			}
			fd = open_in_root(rootfd, cand, O_PATH | O_NOFOLLOW);
		}
		if (fd < 0)
			return -1;
		struct stat st;
		if (fstat(fd, &st) < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (S_ISLNK(st.st_mode)) {
			char link[4096];
			ssize_t n = readlinkat(fd, "", link, sizeof link - 1);
			int e = errno;
			close(fd);
			if (n < 0) {
				errno = e;
				return -1;
			}
			link[n] = 0;
			if (++links > 40) {
				errno = ELOOP;
				return -1;
			}
			if (link[0] == '/')
				resolved[0] = 0;
			char next[8192];
			if (snprintf(next, sizeof next, "%s/%s", link, rest) >= (int)sizeof next) {
				errno = ENAMETOOLONG;
				return -1;
			}
			strcpy(todo, next);
			p = todo;
			continue;
		}
		close(fd);
		if (!last && !S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			return -1;
		}
		strcpy(resolved, cand);
	}
	return open_in_root(rootfd, resolved, O_PATH | O_NOFOLLOW);
}

/* Mounts onto target inside the rootfs through its fd, never through a path the container controls. */
static int mount_at(int rootfd, const char *target, int is_dir, const char *src, const char *fstype,
		    unsigned long flags, const char *data, struct pk_error *err)
{
	int fd = ensure_in_root(rootfd, target, is_dir);
	if (fd < 0)
		return pk_error_set(err, errno, "create mount point %s", target);
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	int rc = mount(src, proc, fstype, flags, data);
	int e = errno;
	close(fd);
	if (rc < 0)
		return pk_error_set(err, e, "%s %s", fstype ? fstype : "bind mount on", target);
	return 0;
}

/* Sets per-mount attributes (MOUNT_ATTR_*) on the mount at target and on every mount below it
 * (mount_setattr with AT_RECURSIVE, Linux 5.12): a read-only bind of a tree whose submounts stayed
 * writable would be no read-only bind at all. */
static int setattr_recursive(int rootfd, const char *target, int is_dir, uint64_t attrs, struct pk_error *err)
{
	int fd = ensure_in_root(rootfd, target, is_dir);
	if (fd < 0)
		return pk_error_set(err, errno, "open for mount_setattr %s", target);
	struct mount_attr_ attr = { .attr_set = attrs };
	int rc = (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE_, &attr, sizeof attr);
	int e = errno;
	close(fd);
	if (rc < 0)
		return pk_error_set(err, e, "%s %s", e == ENOSYS ? "mount_setattr (Linux 5.12 or later is needed for recursive mount flags) on" : "mount_setattr (recursive) on", target);
	return 0;
}

/* With a user namespace: each layer is overmounted (in this mount namespace only) by an idmapped
 * copy of itself, so the layers on disk stay owned by host root and shared, and the container's
 * root owns the top of the writable layer. */
static int idmap_layers(const struct config *c, int userns_fd, struct pk_error *err)
{
	for (size_t i = 0; i < c->n_lower; i++) {
		int fd = idmapped_clone(c->lower[i], userns_fd, 0, err);
		if (fd < 0)
			return -1;
		int rc = attach_mount(fd, AT_FDCWD, c->lower[i], err);
		close(fd);
		if (rc < 0)
			return -1;
	}
	if (lchown(c->upper, c->userns.uid, c->userns.gid) < 0)
		return pk_error_set(err, errno, "chown %s to %u:%u", c->upper, c->userns.uid, c->userns.gid);
	return 0;
}

static int mount_overlay(const struct config *c, int userns_fd, struct pk_error *err)
{
	if (userns_fd >= 0 && idmap_layers(c, userns_fd, err) < 0)
		return -1;
	char opts[4096];
	size_t off = 0;
	int n = snprintf(opts, sizeof opts, "lowerdir=");
	off = (size_t)n;
	for (size_t i = 0; i < c->n_lower; i++) {
		n = snprintf(opts + off, sizeof opts - off, "%s%s", i ? ":" : "", c->lower[i]);
		if (n < 0 || (size_t)n >= sizeof opts - off)
			return pk_error_set(err, E2BIG, "overlay options (too long for one page)");
		off += (size_t)n;
	}
	n = snprintf(opts + off, sizeof opts - off, ",upperdir=%s,workdir=%s", c->upper, c->work);
	if (n < 0 || (size_t)n >= sizeof opts - off)
		return pk_error_set(err, E2BIG, "overlay options (too long for one page)");
	if (mount("overlay", c->rootfs, "overlay", c->nodev ? MS_NODEV : 0, opts) < 0)
		return pk_error_set(err, errno, "mount overlay on %s", c->rootfs);
	return 0;
}

int mount_devpts(int rootfd, struct pk_error *err)
{
	return mount_at(rootfd, "dev/pts", 1, "devpts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5", err);
}

static const char *const devlinks[][2] = {
	{ "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
	{ "/proc/self/fd/2", "stderr" }, { "pts/ptmx", "ptmx" },
};

/* /dev: a tmpfs (nodev for unprivileged containers, so a node created there cannot be opened),
 * with the allowed device nodes bound from the host's /dev, devpts, shm and mqueue. */
static int setup_dev(const struct config *c, int rootfd, struct pk_error *err)
{
	unsigned long devflags = MS_NOSUID | MS_STRICTATIME | (c->nodev ? MS_NODEV : 0);
	/* With a user namespace these belong to the container's root (and its tty group). */
	char owner[64] = "", devdata[128], shmdata[128];
	if (c->userns.set)
		snprintf(owner, sizeof owner, ",uid=%u,gid=%u", c->userns.uid, c->userns.gid);
	snprintf(devdata, sizeof devdata, "mode=755,size=65536k%s", owner);
	snprintf(shmdata, sizeof shmdata, "mode=1777,size=65536k%s", owner);
	if (mount_at(rootfd, "dev", 1, "tmpfs", "tmpfs", devflags, devdata, err))
		return -1;
	char target[64], source[64];
	for (size_t i = 0; i < c->n_devs; i++) {
		snprintf(target, sizeof target, "dev/%s", c->devs[i]);
		snprintf(source, sizeof source, "/dev/%s", c->devs[i]);
		if (mount_at(rootfd, target, 0, source, NULL, MS_BIND, NULL, err))
			return -1;
	}
	int devfd = open_in_root(rootfd, "dev", O_PATH | O_DIRECTORY);
	if (devfd < 0)
		return pk_error_set(err, errno, "open /dev");
	for (size_t i = 0; i < sizeof devlinks / sizeof *devlinks; i++) {
		if (symlinkat(devlinks[i][0], devfd, devlinks[i][1]) < 0) {
			int e = errno;
			close(devfd);
			return pk_error_set(err, e, "symlink /dev/ %s", devlinks[i][1]);
		}
	}
	close(devfd);
	/* With a user namespace devpts is mounted from inside it (mount_devpts), its ids the container's. */
	if (c->userns.set) {
		int pts = ensure_in_root(rootfd, "dev/pts", 1);
		if (pts < 0)
			return pk_error_set(err, errno, "create mount point dev/pts");
		close(pts);
	} else if (mount_devpts(rootfd, err)) {
		return -1;
	}
	if (mount_at(rootfd, "dev/shm", 1, "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, shmdata, err))
		return -1;
	if (mount_at(rootfd, "dev/mqueue", 1, "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err))
		return -1;
	return 0;
}

/* Whether path exists inside the rootfs (nothing is created). */
static int exists_in_root(int rootfd, const char *path, int *is_dir)
{
	int fd = open_in_root(rootfd, path + (*path == '/'), O_PATH);
	if (fd < 0)
		return 0;
	struct stat st;
	int ok = fstat(fd, &st) == 0;
	*is_dir = ok && S_ISDIR(st.st_mode);
	close(fd);
	return ok;
}

/* Hides kernel files and dirs (/dev/null over files, an empty read-only tmpfs over dirs) and
 * makes kernel interfaces read-only, as runc does for unprivileged containers. */
static int protect_kernel_paths(const struct config *c, int rootfd, struct pk_error *err)
{
	int is_dir;
	for (size_t i = 0; i < c->n_mask_files; i++) {
		if (exists_in_root(rootfd, c->mask_files[i], &is_dir) && !is_dir &&
		    mount_at(rootfd, c->mask_files[i], 0, "/dev/null", NULL, MS_BIND, NULL, err))
			return -1;
	}
	for (size_t i = 0; i < c->n_mask_dirs; i++) {
		if (exists_in_root(rootfd, c->mask_dirs[i], &is_dir) && is_dir &&
		    mount_at(rootfd, c->mask_dirs[i], 1, "tmpfs", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0", err))
			return -1;
	}
	for (size_t i = 0; i < c->n_ro_paths; i++) {
		if (!exists_in_root(rootfd, c->ro_paths[i], &is_dir))
			continue;
		int fd = ensure_in_root(rootfd, c->ro_paths[i], is_dir);
		if (fd < 0)
			return pk_error_set(err, errno, "open %s", c->ro_paths[i]);
		char proc[64];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		int rc = mount(proc, proc, NULL, MS_BIND | MS_REC, NULL);
		int e = errno;
		close(fd);
		if (rc < 0)
			return pk_error_set(err, e, "bind %s", c->ro_paths[i]);
		if (setattr_recursive(rootfd, c->ro_paths[i], is_dir, MOUNT_ATTR_RDONLY_ | MOUNT_ATTR_NOSUID_ | MOUNT_ATTR_NODEV_ | MOUNT_ATTR_NOEXEC_, err))
			return -1;
	}
	return 0;
}

static int setup_sys(int rootfd, int new_net, int privileged, struct pk_error *err)
{
	unsigned long flags = (privileged ? 0 : MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	if (new_net)
		return mount_at(rootfd, "sys", 1, "sysfs", "sysfs", flags, NULL, err);
	/* Sharing the host's network namespace: sysfs cannot be mounted anew; bind the host's, and make
	 * it and everything mounted below it (cgroupfs, tracefs, ...) read-only, as Docker does. */
	if (mount_at(rootfd, "sys", 1, "/sys", NULL, MS_BIND | MS_REC, NULL, err))
		return -1;
	return privileged ? 0 : setattr_recursive(rootfd, "sys", 1, MOUNT_ATTR_RDONLY_ | MOUNT_ATTR_NOSUID_ | MOUNT_ATTR_NODEV_ | MOUNT_ATTR_NOEXEC_, err);
}

/* An idmapped copy of source (and its submounts) attached at target inside the rootfs. */
static int bind_idmapped(int rootfd, const struct bind_mount *b, int userns_fd, struct pk_error *err)
{
	int fd = idmapped_clone(b->source, userns_fd, 1, err);
	if (fd < 0)
		return -1;
	int target = ensure_in_root(rootfd, b->target, b->is_dir);
	if (target < 0) {
		close(fd);
		return pk_error_set(err, errno, "create mount point %s", b->target);
	}
	int rc = attach_mount(fd, target, b->target, err);
	close(target);
	close(fd);
	return rc;
}

static int setup_binds(const struct config *c, int rootfd, int userns_fd, struct pk_error *err)
{
	for (size_t i = 0; i < c->n_binds; i++) {
		const struct bind_mount *b = &c->binds[i];
		if (b->idmap && userns_fd >= 0) {
			if (bind_idmapped(rootfd, b, userns_fd, err))
				return -1;
		} else if (mount_at(rootfd, b->target, b->is_dir, b->source, NULL, MS_BIND | MS_REC, NULL, err)) {
			return -1;
		}
		uint64_t attrs = (b->read_only ? MOUNT_ATTR_RDONLY_ : 0) | (c->nodev ? MOUNT_ATTR_NODEV_ : 0);
		if (attrs && setattr_recursive(rootfd, b->target, b->is_dir, attrs, err))
			return -1;
	}
	return 0;
}

static int setup_tmpfs(const struct config *c, int rootfd, struct pk_error *err)
{
	for (size_t i = 0; i < c->n_tmpfs; i++)
		if (mount_at(rootfd, c->tmpfs[i].target, 1, "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, c->tmpfs[i].data, err))
			return -1;
	return 0;
}

static int pivot(const char *rootfs, struct pk_error *err)
{
	if (chdir(rootfs) < 0)
		return pk_error_set(err, errno, "chdir %s", rootfs);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return pk_error_set(err, errno, "pivot_root %s", rootfs);
	if (umount2(".", MNT_DETACH) < 0)
		return pk_error_set(err, errno, "detach old root of %s", rootfs);
	if (chdir("/") < 0)
		return pk_error_set(err, errno, "chdir /");
	return 0;
}

int rootfs_setup(const struct config *c, int userns_fd, struct pk_error *err)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return pk_error_set(err, errno, "make mounts private /");
	if (mount_overlay(c, userns_fd, err))
		return -1;
	int rootfd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return pk_error_set(err, errno, "open rootfs %s", c->rootfs);
	int rc = -1;
	if (mount_at(rootfd, "proc", 1, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err))
		goto out;
	if (setup_dev(c, rootfd, err))
		goto out;
	if (setup_sys(rootfd, c->new_net, c->privileged, err))
		goto out;
	if (protect_kernel_paths(c, rootfd, err))
		goto out;
	if (setup_binds(c, rootfd, userns_fd, err))
		goto out;
	if (setup_tmpfs(c, rootfd, err))
		goto out;
	int cwd = ensure_in_root(rootfd, c->cwd, 1);
	if (cwd < 0) {
		pk_error_set(err, errno, "create working directory %s", c->cwd);
		goto out;
	}
	close(cwd);
	if (c->readonly_rootfs && mount(NULL, c->rootfs, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | (c->nodev ? MS_NODEV : 0), NULL) < 0) {
		pk_error_set(err, errno, "read-only remount of %s", c->rootfs);
		goto out;
	}
	rc = pivot(c->rootfs, err);
out:
	close(rootfd);
	return rc;
}
