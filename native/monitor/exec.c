#define _GNU_SOURCE
#include "exec.h"
#include "config.h"
#include "console.h"
#include "error.h"
#include "security.h"
#include "util.h"

#include <errno.h>
#include <grp.h>
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

static const char prefix[] = "pocker exec: ";

/* 126: the shell's code for a command that could not be run. */
static _Noreturn void fail(const struct pk_error *err)
{
	pk_error_exit(2, prefix, err, "\n", 126);
}

static const struct { const char *name; int flag; } ns_flags[] = {
	{ "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS }, { "net", CLONE_NEWNET },
	{ "pid", CLONE_NEWPID }, { "mnt", CLONE_NEWNS }, { "cgroup", CLONE_NEWCGROUP }, { "user", CLONE_NEWUSER },
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

/* What the command is started with, opened before entering the container or on its way in. */
struct target {
	int tasks[MAX_LIST];   /* the container's v1 "tasks" files */
	int cgroup2;           /* its v2 cgroup, for CLONE_INTO_CGROUP (-1: none) */
	int cgroupns;          /* its cgroup namespace, joined once in its cgroups (-1: not asked) */
	int userns;            /* its user namespace, joined last, by the command (-1: the host's) */
	int devnull;
	int master, slave;     /* with a tty: a pty of the container's devpts (-1: none) */
};

/* Checks that the init is still the container's, joins its namespaces (all but the cgroup one)
 * and its root, and with a tty allocates the pty. Returns 0, or -1 with err set. */
static int enter(struct target *t, struct pk_error *err)
{
	t->cgroup2 = t->cgroupns = t->userns = t->master = t->slave = -1;
	if (proc_start_time((pid_t)cfg.init_pid) != cfg.init_start)
		return pk_error_set(err, 0, "the container is not running (init %ld is gone)", cfg.init_pid);
	/* Everything named by a host path is opened before entering the container's mount namespace. */
	int nsfd[8];
	char path[128];
	for (size_t i = 0; i < cfg.n_ns; i++) {
		snprintf(path, sizeof path, "/proc/%ld/ns/%s", cfg.init_pid, cfg.ns[i]);
		nsfd[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (nsfd[i] < 0)
			return pk_error_set(err, errno, "open %s", path);
		if (!strcmp(cfg.ns[i], "cgroup"))
			t->cgroupns = nsfd[i];
		if (!strcmp(cfg.ns[i], "user"))
			t->userns = nsfd[i];
	}
	for (size_t i = 0; i < cfg.n_cgroup_tasks; i++) {
		t->tasks[i] = open(cfg.cgroup_tasks[i], O_WRONLY | O_CLOEXEC);
		if (t->tasks[i] < 0)
			return pk_error_set(err, errno, "open %s", cfg.cgroup_tasks[i]);
	}
	if (cfg.cgroup2_dir && (t->cgroup2 = open(cfg.cgroup2_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return pk_error_set(err, errno, "open cgroup %s", cfg.cgroup2_dir);
	/* The container's root as its init sees it: after setns(mnt) this process would stand at the
	 * namespace's first root, which is not the container's when the host itself runs chrooted. */
	snprintf(path, sizeof path, "/proc/%ld/root", cfg.init_pid);
	int rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return pk_error_set(err, errno, "open %s", path);
	t->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	/* Join: the mount namespace last (its paths are the container's), the cgroup namespace in the
	 * child once it is in the container's cgroups. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < cfg.n_ns; i++) {
			int is_mnt = !strcmp(cfg.ns[i], "mnt");
			if (nsfd[i] == t->cgroupns || nsfd[i] == t->userns || is_mnt != pass)
				continue;
			if (setns(nsfd[i], ns_flag(cfg.ns[i])) < 0)
				return pk_error_set(err, errno, "setns %s", cfg.ns[i]);
		}
	}
	if (fchdir(rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return pk_error_set(err, errno, "enter the root of the container");
	close(rootfd);
	if (cfg.tty && pty_open(&t->master, &t->slave) < 0)
		return pk_error_set(err, errno, "allocate a pty in the container");
	return 0;
}

/* The command's side of the clone, up to its execve: the container's cgroups and cgroup
 * namespace, stdio, working directory and privileges. Returns 0, or -1 with err set. */
static int prepare_command(const struct target *t, struct pk_error *err)
{
	for (size_t i = 0; i < cfg.n_cgroup_tasks; i++) {
		int rc = write_all(t->tasks[i], "0", 1);
		if (rc < 0)
			return pk_error_set(err, -rc, "join cgroup %s", cfg.cgroup_tasks[i]);
	}
	if (t->cgroupns >= 0 && setns(t->cgroupns, CLONE_NEWCGROUP) < 0)
		return pk_error_set(err, errno, "setns cgroup");
	if (t->userns >= 0) {
		if (setns(t->userns, CLONE_NEWUSER) < 0)
			return pk_error_set(err, errno, "setns user");
		if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			return pk_error_set(err, errno, "become root of the user namespace");
	}
	setsid();
	if (cfg.tty) {
		ioctl(t->slave, TIOCSCTTY, 0);
		dup2(t->slave, 0);
		dup2(t->slave, 1);
		dup2(t->slave, 2);
	} else if (!cfg.keep_stdin) {
		dup2(t->devnull, 0);
	}
	syscall(SYS_close_range, 3, ~0U, 0);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (chdir(cfg.cwd) < 0)
		return pk_error_set(err, errno, "chdir %s", cfg.cwd);
	return apply_privileges(&cfg, err);
}

int exec_main(const char *config_path)
{
	struct pk_error err;
	struct target t;
	if (config_load(config_path, &cfg, CONFIG_EXEC, &err) < 0 || enter(&t, &err) < 0)
		fail(&err);
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid_t child = clone_into(0, t.cgroup2);
	if (child < 0) {
		pk_error_set(&err, errno, "clone3 into the container");
		fail(&err);
	}
	if (child == 0) {
		if (prepare_command(&t, &err) < 0)
			fail(&err);
		exec_in_path(cfg.argv, cfg.env, cfg.path);
		pk_error_set(&err, errno, "exec %s", cfg.argv[0]);
		/* The shell's codes: 127 for a command not found, 126 for one that cannot run. */
		pk_error_exit(2, prefix, &err, "\n", err.errnum == ENOENT ? 127 : 126);
	}
	if (cfg.tty) {
		close(t.slave);
		sigset_t keep;
		sigemptyset(&keep);
		sigaddset(&keep, SIGCHLD);
		sigaddset(&keep, SIGWINCH);
		sigprocmask(SIG_SETMASK, &keep, NULL);
		return relay(t.master, child);
	}
	return forward_and_wait(child);
}
