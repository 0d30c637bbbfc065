#define _GNU_SOURCE
#include "init.h"
#include "console.h"
#include "error.h"
#include "rootfs.h"
#include "security.h"
#include "userns.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT };

/* The monitor reads the report pipe to EOF: the message is all of it, with no newline. */
static _Noreturn void die(int report, const struct pk_error *err)
{
	pk_error_exit(report, NULL, err, NULL, 1);
}

static int loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (rc == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	int e = errno;
	close(s);
	errno = e;
	return rc;
}

/* Writes each "net.x.y=value" to /proc/sys/net/x/y of the network namespace joined. */
static int write_sysctls(const struct config *c, struct pk_error *err)
{
	for (size_t i = 0; i < c->n_sysctls; i++) {
		char path[256];
		const char *eq = strchr(c->sysctls[i], '=');
		int n = snprintf(path, sizeof path, "/proc/sys/%.*s", (int)(eq - c->sysctls[i]), c->sysctls[i]);
		if (n < 0 || (size_t)n >= sizeof path)
			return pk_error_set(err, ENAMETOOLONG, "sysctl %s", c->sysctls[i]);
		for (char *p = path + 10; *p; p++)
			if (*p == '.')
				*p = '/';
		int rc = write_file(path, eq + 1);
		if (rc < 0)
			return pk_error_set(err, -rc, "write %s", path);
	}
	return 0;
}

/* The workload's side of the fork, up to its execve. Returns only on failure, -1 with err set. */
static int exec_workload(const struct config *c, struct pk_error *err)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (c->tty) {
		setsid();
		if (ioctl(0, TIOCSCTTY, 0) < 0)
			return pk_error_set(err, errno, "make the pty the controlling terminal of %s", c->argv[0]);
	} else {
		setpgid(0, 0);
	}
	umask(022);
	if (chdir(c->cwd) < 0)
		return pk_error_set(err, errno, "chdir to working directory %s", c->cwd);
	if (apply_privileges(c, err) < 0)
		return -1;
	exec_in_path(c->argv, c->env, c->path);
	return pk_error_set(err, errno, "exec %s", c->argv[0]);
}

static _Noreturn void supervise(pid_t workload, const sigset_t *set)
{
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(set, &si);
		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			kill(workload, sig);
			continue;
		}
		int status;
		pid_t p;
		while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
			if (p == workload)
				_exit(exit_code_of(status));
		}
	}
}

/* The container around the workload: its cgroups and namespaces, root filesystem, loopback,
 * hostname and the workload's stdio. Returns 0, or -1 with err set. */
static int setup(const struct config *c, const struct init_fds *fds, struct pk_error *err)
{
	const char *failed = NULL;
	int joined = join_cgroups(c->cgroup_tasks, c->n_cgroup_tasks, &failed);
	if (joined < 0)
		return pk_error_set(err, -joined, "join cgroup %s", failed);

	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	prctl(PR_SET_NAME, "pocker-init");
	prctl(PR_SET_DUMPABLE, 0);
	setsid();
	umask(0);
	if (unshare(CLONE_NEWCGROUP) < 0)
		return pk_error_set(err, errno, "unshare cgroup namespace");

	if (fds->netns >= 0) {
		if (setns(fds->netns, CLONE_NEWNET) < 0)
			return pk_error_set(err, errno, "setns the container's network namespace");
		close(fds->netns);
	} else if (c->new_net && c->netns) {
		int nsfd = open(c->netns, O_RDONLY | O_CLOEXEC);
		if (nsfd < 0)
			return pk_error_set(err, errno, "open network namespace %s", c->netns);
		if (setns(nsfd, CLONE_NEWNET) < 0)
			return pk_error_set(err, errno, "setns %s", c->netns);
		close(nsfd);
	}

	if (write_sysctls(c, err) < 0 || rootfs_setup(c, fds->userns, err) < 0)
		return -1;
	if (c->new_net && loopback_up() < 0)
		return pk_error_set(err, errno, "bring up lo");
	if (c->hostname && sethostname(c->hostname, strlen(c->hostname)) < 0)
		return pk_error_set(err, errno, "sethostname %s", c->hostname);
	if (fds->userns >= 0) {
		if (userns_enter(fds->userns, err) < 0)
			return -1;
		close(fds->userns);
		int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root < 0)
			return pk_error_set(err, errno, "open /");
		int rc = mount_devpts(root, err);
		close(root);
		if (rc < 0)
			return -1;
	}

	if (c->tty) {
		int master, slave;
		if (pty_open(&master, &slave) < 0)
			return pk_error_set(err, errno, "allocate a pty in the container");
		if (send_fd(fds->tty_sock, master) < 0)
			return pk_error_set(err, errno, "hand the pty to the monitor");
		close(master);
		if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
			return pk_error_set(err, errno, "set up the pty as stdio");
	} else {
		int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (devnull < 0)
			return pk_error_set(err, errno, "open /dev/null");
		if ((!c->keep_stdin && dup2(devnull, 0) < 0) || dup2(fds->out_wr, 1) < 0 || dup2(fds->err_wr, 2) < 0)
			return pk_error_set(err, errno, "set up stdio");
	}
	return 0;
}

_Noreturn void init_main(const struct config *c, const struct init_fds *fds, int argc, char **argv)
{
	set_cmdline(argc, argv, "pocker-init");
	struct pk_error err;
	int report = fds->report_wr;
	if (setup(c, fds, &err) < 0)
		die(report, &err);
	if (report != 3) {
		if (dup2(report, 3) < 0) {
			pk_error_set(&err, errno, "set up report fd");
			die(report, &err);
		}
		report = 3;
	}
	fcntl(3, F_SETFD, FD_CLOEXEC);
	syscall(SYS_close_range, 4, ~0U, 0);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);

	pid_t workload = fork();
	if (workload < 0) {
		pk_error_set(&err, errno, "fork workload");
		die(report, &err);
	}
	if (workload == 0) {
		exec_workload(c, &err);
		die(report, &err);
	}
	close(report);
	supervise(workload, &set);
}
