/* pocker-probe: a test helper run inside containers (and on the host, as the positive control).
 * Each command tries one privileged operation and prints "ok" or the errno name, so a test can
 * tell a denial (EPERM, EACCES, EROFS) from a missing feature (ENOSYS).
 *   pocker-probe mount DIR | init_module | finit_module | kexec | unshare_user | unshare_mnt
 *                | setns | bpf | keyctl | perf | open_rw PATH | open_ro PATH | write PATH TEXT
 *                | mknod_b PATH MAJOR MINOR | mknod_c PATH MAJOR MINOR | kill PID
 *                | personality VALUE | socket FAMILY | clone_flags FLAGS | syscall NR
 *                | mkdir PATH | euid (prints the effective uid)
 *                | mount_fs SOURCE DIR FSTYPE | remount_rw DIR (a bind mount made writable) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <signal.h>
#include <unistd.h>

static const char *name_of(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case EROFS: return "EROFS";
	case ENOSYS: return "ENOSYS";
	case EINVAL: return "EINVAL";
	case EFAULT: return "EFAULT";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EBADF: return "EBADF";
	case EEXIST: return "EEXIST";
	case ENOEXEC: return "ENOEXEC";
	case EBUSY: return "EBUSY";
	case ENXIO: return "ENXIO";
	case ENODEV: return "ENODEV";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	default: return strerror(e);
	}
}

static int report(long rc)
{
	puts(rc < 0 ? name_of(errno) : "ok");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const char *op = argv[1];
	if (!strcmp(op, "mount") && argc == 3)
		return report(mount("none", argv[2], "tmpfs", 0, NULL));
	if (!strcmp(op, "mount_fs") && argc == 5)
		return report(mount(argv[2], argv[3], argv[4], 0, NULL));
	if (!strcmp(op, "remount_rw") && argc == 3)
		return report(mount(NULL, argv[2], NULL, MS_REMOUNT | MS_BIND, NULL));
	if (!strcmp(op, "init_module"))
		return report(syscall(SYS_init_module, NULL, 0, ""));
	if (!strcmp(op, "finit_module"))
		return report(syscall(SYS_finit_module, -1, "", 0));
	if (!strcmp(op, "kexec"))
		return report(syscall(SYS_kexec_load, 0, 0, NULL, 0));
	if (!strcmp(op, "unshare_user"))
		return report(unshare(CLONE_NEWUSER));
	if (!strcmp(op, "unshare_mnt"))
		return report(unshare(CLONE_NEWNS));
	if (!strcmp(op, "setns"))
		return report(setns(open("/proc/1/ns/mnt", O_RDONLY), 0));
	if (!strcmp(op, "bpf"))
		return report(syscall(SYS_bpf, 0, NULL, 0));
	if (!strcmp(op, "keyctl"))
		return report(syscall(SYS_keyctl, 0, 0, 0, 0, 0));
	if (!strcmp(op, "perf"))
		return report(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
	if (!strcmp(op, "open_rw") && argc == 3)
		return report(open(argv[2], O_RDWR));
	if (!strcmp(op, "open_ro") && argc == 3)
		return report(open(argv[2], O_RDONLY));
	if (!strcmp(op, "write") && argc == 4) {
		int fd = open(argv[2], O_WRONLY);
		if (fd < 0)
			return report(-1);
		return report(write(fd, argv[3], strlen(argv[3])));
	}
	if (!strcmp(op, "mknod_b") && argc == 5)
		return report(mknod(argv[2], S_IFBLK | 0600, makedev(atoi(argv[3]), atoi(argv[4]))));
	if (!strcmp(op, "mknod_c") && argc == 5)
		return report(mknod(argv[2], S_IFCHR | 0600, makedev(atoi(argv[3]), atoi(argv[4]))));
	if (!strcmp(op, "kill") && argc == 3)
		return report(kill(atoi(argv[2]), 0));
	if (!strcmp(op, "personality") && argc == 3)
		return report(syscall(SYS_personality, strtoul(argv[2], NULL, 0)));
	if (!strcmp(op, "socket") && argc == 3)
		return report(socket(atoi(argv[2]), SOCK_STREAM, 0));
	if (!strcmp(op, "syscall") && argc == 3)
		return report(syscall(strtol(argv[2], NULL, 0), 0, 0, 0, 0, 0, 0));
	if (!strcmp(op, "euid")) {
		printf("%d\n", (int)geteuid());
		return 0;
	}
	if (!strcmp(op, "mkdir") && argc == 3)
		return report(mkdir(argv[2], 0755));
	if (!strcmp(op, "clone_flags") && argc == 3) {
		/* A raw clone(2) with these flags; the child exits at once. */
		long pid = syscall(SYS_clone, strtoul(argv[2], NULL, 0) | SIGCHLD, NULL, NULL, NULL, 0);
		if (pid == 0)
			_exit(0);
		if (pid > 0)
			waitpid((pid_t)pid, NULL, 0);
		return report(pid);
	}
	return 2;
}
