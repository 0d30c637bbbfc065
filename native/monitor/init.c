#define _GNU_SOURCE
#include "init.h"
#include "console.h"
#include "rootfs.h"
#include "security.h"
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

static _Noreturn void die(int report, const char *msg)
{
	write_str(report, msg);
	_exit(1);
}

static _Noreturn void die_errno(int report, const char *what, const char *arg)
{
	char buf[1024];
	snprintf(buf, sizeof buf, "%s %s: %s", what, arg, strerror(errno));
	die(report, buf);
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

static _Noreturn void run_workload(const struct config *c, int report)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (c->tty) {
		setsid();
		if (ioctl(0, TIOCSCTTY, 0) < 0)
			die_errno(report, "make the pty the controlling terminal of", c->argv[0]);
	} else {
		setpgid(0, 0);
	}
	umask(022);
	if (chdir(c->cwd) < 0)
		die_errno(report, "chdir to working directory", c->cwd);
	char err[1024];
	if (apply_privileges(c, err, sizeof err) < 0)
		die(report, err);
	exec_in_path(c->argv, c->env, c->path);
	die_errno(report, "exec", c->argv[0]);
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

_Noreturn void init_main(const struct config *c, const struct init_fds *fds, int argc, char **argv)
{
	set_cmdline(argc, argv, "pocker-init");
	int report = fds->report_wr;
	const char *failed = NULL;
	int joined = join_cgroups(c->cgroup_tasks, c->n_cgroup_tasks, &failed);
	if (joined < 0) {
		errno = -joined;
		die_errno(report, "join cgroup", failed);
	}

	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	prctl(PR_SET_NAME, "pocker-init");
	prctl(PR_SET_DUMPABLE, 0);
	setsid();
	umask(0);
	if (unshare(CLONE_NEWCGROUP) < 0)
		die_errno(report, "unshare", "cgroup namespace");

	if (c->new_net && c->netns) {
		int nsfd = open(c->netns, O_RDONLY | O_CLOEXEC);
		if (nsfd < 0)
			die_errno(report, "open network namespace", c->netns);
		if (setns(nsfd, CLONE_NEWNET) < 0)
			die_errno(report, "setns", c->netns);
		close(nsfd);
	}

	char err[1024];
	if (rootfs_setup(c, err, sizeof err) < 0)
		die(report, err);
	if (c->new_net && loopback_up() < 0)
		die_errno(report, "bring up", "lo");
	if (c->hostname && sethostname(c->hostname, strlen(c->hostname)) < 0)
		die_errno(report, "sethostname", c->hostname);

	if (c->tty) {
		int master, slave;
		if (pty_open(&master, &slave) < 0)
			die_errno(report, "allocate a pty in", "the container");
		if (send_fd(fds->tty_sock, master) < 0)
			die_errno(report, "hand the pty to", "the monitor");
		close(master);
		if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
			die_errno(report, "set up", "the pty as stdio");
	} else {
		int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (devnull < 0)
			die_errno(report, "open", "/dev/null");
		if ((!c->keep_stdin && dup2(devnull, 0) < 0) || dup2(fds->out_wr, 1) < 0 || dup2(fds->err_wr, 2) < 0)
			die_errno(report, "set up", "stdio");
	}
	if (report != 3) {
		if (dup2(report, 3) < 0)
			die_errno(report, "set up", "report fd");
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
	if (workload < 0)
		die_errno(report, "fork", "workload");
	if (workload == 0)
		run_workload(c, report);
	close(report);
	supervise(workload, &set);
}
