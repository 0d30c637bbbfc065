#define _GNU_SOURCE
#include "userns.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#define OPEN_TREE_CLONE_ 1
#define AT_RECURSIVE_ 0x8000
#define MOUNT_ATTR_IDMAP_ 0x00100000ULL
#define MOVE_MOUNT_F_EMPTY_PATH_ 0x04
#define MOVE_MOUNT_T_EMPTY_PATH_ 0x40
#define NS_GET_USERNS_ 0xb701

struct mount_attr_ {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

static int write_map(pid_t pid, const char *file, uint32_t host, uint32_t size)
{
	char path[64], map[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	snprintf(map, sizeof map, "0 %u %u\n", host, size);
	return write_file(path, map);
}

int userns_create(const struct id_range *r, int *netns, struct pk_error *err)
{
	int ready[2], done[2];
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(done, O_CLOEXEC) < 0)
		return pk_error_set(err, errno, "pipe for the user namespace");
	pid_t parent = getpid();
	pid_t holder = fork();
	if (holder < 0)
		return pk_error_set(err, errno, "fork the user namespace's holder");
	if (holder == 0) {
		/* Dies with the monitor (killed mid-start by the controller): a holder left waiting would
		 * keep the container's lock, which it inherited, and no start of it could take it again. */
		close(ready[0]);
		close(done[1]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		char c = unshare(CLONE_NEWUSER) == 0 ? 0 : (char)errno;
		if (!c && netns && unshare(CLONE_NEWNET) < 0)
			c = (char)(errno | 0x40);
		if (write(ready[1], &c, 1) != 1 || c)
			_exit(1);
		ssize_t n = read(done[0], &c, 1);
		_exit(n < 0);
	}
	close(ready[1]);
	close(done[0]);
	char c = 0;
	int fd = -1;
	ssize_t n = read(ready[0], &c, 1);
	if (n != 1)
		pk_error_set(err, errno, "create a user namespace (its holder died)");
	else if (c & 0x40)
		pk_error_set(err, c & ~0x40, "unshare network namespace in the user namespace");
	else if (c)
		pk_error_set(err, c, "unshare user namespace%s", c == EPERM ? " (refused to a chrooted process, or user.max_user_namespaces is 0)" : "");
	else if (write_map(holder, "uid_map", r->uid, r->size) < 0)
		pk_error_set(err, errno, "write uid_map 0 %u %u", r->uid, r->size);
	else if (write_map(holder, "gid_map", r->gid, r->size) < 0)
		pk_error_set(err, errno, "write gid_map 0 %u %u", r->gid, r->size);
	else {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/ns/user", (int)holder);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			pk_error_set(err, errno, "open %s", path);
		snprintf(path, sizeof path, "/proc/%d/ns/net", (int)holder);
		if (fd >= 0 && netns && (*netns = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			pk_error_set(err, errno, "open %s", path);
			close(fd);
			fd = -1;
		}
	}
	close(done[1]);
	close(ready[0]);
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	return fd;
}

int userns_of_netns(int netns_fd, int *host, struct pk_error *err)
{
	int fd = ioctl(netns_fd, NS_GET_USERNS_);
	if (fd < 0)
		return pk_error_set(err, errno, "ioctl NS_GET_USERNS");
	struct stat a, b;
	*host = fstat(fd, &a) == 0 && stat("/proc/1/ns/user", &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
	return fd;
}

int pin_netns_main(int argc, char **argv)
{
	struct pk_error err;
	struct id_range r = { .set = 1 };
	if (argc != 6 || sscanf(argv[3], "%u", &r.uid) != 1 || sscanf(argv[4], "%u", &r.gid) != 1 || sscanf(argv[5], "%u", &r.size) != 1 || !r.size) {
		write_str(2, "usage: pocker-monitor pin-netns PATH UID GID SIZE\n");
		return 2;
	}
	const char *path = argv[2];
	int netns = -1;
	int userns = userns_create(&r, &netns, &err);
	if (userns < 0)
		pk_error_exit(2, "pin-netns: ", &err, "\n", 1);
	int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0) {
		pk_error_set(&err, errno, "create %s", path);
		pk_error_exit(2, "pin-netns: ", &err, "\n", 1);
	}
	close(fd);
	char src[64];
	snprintf(src, sizeof src, "/proc/self/fd/%d", netns);
	if (mount(src, path, NULL, MS_BIND, NULL) < 0) {
		pk_error_set(&err, errno, "bind the network namespace on %s", path);
		unlink(path);
		pk_error_exit(2, "pin-netns: ", &err, "\n", 1);
	}
	return 0;
}

static const char *fs_name(long type)
{
	switch ((unsigned long)type) {
	case 0x01021994UL: return "tmpfs (idmapped from Linux 6.3)";
	case 0x794c7630UL: return "overlayfs (cannot be idmapped)";
	case 0x01021997UL: return "9p (cannot be idmapped)";
	case 0x6969UL: return "nfs (cannot be idmapped)";
	case 0x65735546UL: return "fuse (cannot be idmapped)";
	case 0xEF53UL: return "ext4";
	case 0x58465342UL: return "xfs";
	case 0x9123683EUL: return "btrfs";
	default: return NULL;
	}
}

int idmapped_clone(const char *path, int userns_fd, int recursive, struct pk_error *err)
{
	int fd = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE_ | O_CLOEXEC | (recursive ? AT_RECURSIVE_ : 0));
	if (fd < 0)
		return pk_error_set(err, errno, "open_tree %s", path);
	struct mount_attr_ attr = { .attr_set = MOUNT_ATTR_IDMAP_, .userns_fd = (uint64_t)userns_fd };
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE_ : 0), &attr, sizeof attr) < 0) {
		int e = errno;
		struct statfs st;
		const char *fs = fstatfs(fd, &st) == 0 ? fs_name(st.f_type) : NULL;
		close(fd);
		if (e == EINVAL || e == EOPNOTSUPP)
			return pk_error_set(err, e, "idmapped mount of %s (on %s%s: this kernel cannot idmap it; give the mount idmap: false or the container userns: host)",
					    path, fs ? fs : "a filesystem", fs ? "" : " of another type");
		return pk_error_set(err, e, "mount_setattr idmap %s", path);
	}
	return fd;
}

int attach_mount(int mount_fd, int target_fd, const char *path, struct pk_error *err)
{
	unsigned flags = MOVE_MOUNT_F_EMPTY_PATH_ | (target_fd == AT_FDCWD ? 0 : MOVE_MOUNT_T_EMPTY_PATH_);
	if (syscall(SYS_move_mount, mount_fd, "", target_fd, target_fd == AT_FDCWD ? path : "", flags) < 0)
		return pk_error_set(err, errno, "move_mount onto %s", path);
	return 0;
}

int userns_enter(int userns_fd, struct pk_error *err)
{
	if (setns(userns_fd, CLONE_NEWUSER) < 0)
		return pk_error_set(err, errno, "setns user namespace");
	if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return pk_error_set(err, errno, "become root of the user namespace");
	if (unshare(CLONE_NEWNS) < 0)
		return pk_error_set(err, errno, "unshare the mount namespace inside the user namespace");
	return 0;
}
