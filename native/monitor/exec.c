#define _GNU_SOURCE
#include "exec.h"
#include "config.h"
#include "console.h"
#include "security.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

static struct config cfg;

static int fail(const char *what, const char *arg)
{
	fprintf(stderr, "pocker exec: %s %s: %s\n", what, arg, strerror(errno));
	return 126;
}

static const struct { const char *name; int flag; } ns_flags[] = {
	{ "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS }, { "net", CLONE_NEWNET },
	{ "pid", CLONE_NEWPID }, { "mnt", CLONE_NEWNS }, { "cgroup", CLONE_NEWCGROUP },
};

static int ns_flag(const char *name)
{
	for (size_t i = 0; i < sizeof ns_flags / sizeof *ns_flags; i++)
		if (!strcmp(ns_flags[i].name, name))
			return ns_flags[i].flag;
	return 0;
}

/* Copies bytes between the user's terminal and the pty master until the command has exited. */
static int relay(int master, pid_t child)
{
	struct user_tty tty;
	user_tty_begin(&tty, 0, master);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGWINCH);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	struct pollfd p[3] = { { 0, POLLIN, 0 }, { master, POLLIN, 0 }, { sfd, POLLIN, 0 } };
	char buf[16384];
	int status = 0, done = 0;
	while (!done) {
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents & (POLLIN | POLLHUP)) {
			ssize_t n = read(0, buf, sizeof buf);
			if (n > 0)
				write_all(master, buf, (size_t)n);
			else
				p[0].fd = -1;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(master, buf, sizeof buf);
			if (n > 0)
				write_all(1, buf, (size_t)n);
			else
				p[1].fd = -1;
		}
		if (p[2].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof si) == sizeof si) {
				if (si.ssi_signo == SIGWINCH)
					user_tty_resize(&tty, master);
			}
		}
		if (waitpid(child, &status, WNOHANG) == child) {
			/* Drain what the command wrote last. */
			for (;;) {
				ssize_t n = read(master, buf, sizeof buf);
				if (n <= 0)
					break;
				write_all(1, buf, (size_t)n);
			}
			done = 1;
		}
	}
	user_tty_end(&tty);
	return exit_code_of(status);
}

static int forward_and_wait(pid_t child)
{
	static const int fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof fwd / sizeof *fwd; i++)
		sigaddset(&set, fwd[i]);
	sigaddset(&set, SIGCHLD);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);
		if (sig == SIGCHLD) {
			int status;
			if (waitpid(child, &status, WNOHANG) == child)
				return exit_code_of(status);
		} else if (sig > 0) {
			kill(child, sig);
		}
	}
}

int exec_main(const char *config_path)
{
	char err[1024];
	if (config_load(config_path, &cfg, CONFIG_EXEC, err, sizeof err) < 0) {
		fprintf(stderr, "pocker exec: %s\n", err);
		return 126;
	}
	if (proc_start_time((pid_t)cfg.init_pid) != cfg.init_start) {
		fprintf(stderr, "pocker exec: the container is not running (init %ld is gone)\n", cfg.init_pid);
		return 126;
	}
	/* Everything named by a host path is opened before entering the container's mount namespace. */
	int nsfd[8], cgroupns = -1;
	char path[128];
	for (size_t i = 0; i < cfg.n_ns; i++) {
		snprintf(path, sizeof path, "/proc/%ld/ns/%s", cfg.init_pid, cfg.ns[i]);
		nsfd[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (nsfd[i] < 0)
			return fail("open", path);
		if (!strcmp(cfg.ns[i], "cgroup"))
			cgroupns = nsfd[i];
	}
	int tasks[MAX_LIST];
	for (size_t i = 0; i < cfg.n_cgroup_tasks; i++) {
		tasks[i] = open(cfg.cgroup_tasks[i], O_WRONLY | O_CLOEXEC);
		if (tasks[i] < 0)
			return fail("open", cfg.cgroup_tasks[i]);
	}
	int cg2 = -1;
	if (cfg.cgroup2_dir && (cg2 = open(cfg.cgroup2_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return fail("open cgroup", cfg.cgroup2_dir);
	/* The container's root as its init sees it: after setns(mnt) this process would stand at the
	 * namespace's first root, which is not the container's when the host itself runs chrooted. */
	snprintf(path, sizeof path, "/proc/%ld/root", cfg.init_pid);
	int rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return fail("open", path);
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	/* Join: the mount namespace last (its paths are the container's), the cgroup namespace in the
	 * child once it is in the container's cgroups. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < cfg.n_ns; i++) {
			int is_mnt = !strcmp(cfg.ns[i], "mnt");
			if (nsfd[i] == cgroupns || is_mnt != pass)
				continue;
			if (setns(nsfd[i], ns_flag(cfg.ns[i])) < 0)
				return fail("setns", cfg.ns[i]);
		}
	}
	if (fchdir(rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return fail("enter the root of", "the container");
	close(rootfd);
	int master = -1, slave = -1;
	if (cfg.tty) {
		if (pty_open(&master, &slave) < 0)
			return fail("allocate a pty in", "the container");
	}
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid_t child = clone_into(0, cg2);
	if (child < 0)
		return fail("clone3", "into the container");
	if (child == 0) {
		for (size_t i = 0; i < cfg.n_cgroup_tasks; i++)
			if (write_all(tasks[i], "0", 1) < 0)
				_exit(fail("join cgroup", cfg.cgroup_tasks[i]));
		if (cgroupns >= 0 && setns(cgroupns, CLONE_NEWCGROUP) < 0)
			_exit(fail("setns", "cgroup"));
		setsid();
		if (cfg.tty) {
			ioctl(slave, TIOCSCTTY, 0);
			dup2(slave, 0);
			dup2(slave, 1);
			dup2(slave, 2);
		} else if (!cfg.keep_stdin) {
			dup2(devnull, 0);
		}
		syscall(SYS_close_range, 3, ~0U, 0);
		for (int s = 1; s < NSIG; s++)
			signal(s, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (chdir(cfg.cwd) < 0)
			_exit(fail("chdir", cfg.cwd));
		char err[1024];
		if (apply_privileges(&cfg, err, sizeof err) < 0) {
			fprintf(stderr, "pocker exec: %s\n", err);
			_exit(126);
		}
		exec_in_path(cfg.argv, cfg.env, cfg.path);
		int e = errno;
		fprintf(stderr, "pocker exec: exec %s: %s\n", cfg.argv[0], strerror(e));
		_exit(e == ENOENT ? 127 : 126);
	}
	if (cfg.tty) {
		close(slave);
		sigset_t keep;
		sigemptyset(&keep);
		sigaddset(&keep, SIGCHLD);
		sigaddset(&keep, SIGWINCH);
		sigprocmask(SIG_SETMASK, &keep, NULL);
		return relay(master, child);
	}
	return forward_and_wait(child);
}
