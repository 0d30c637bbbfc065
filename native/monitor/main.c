/* pocker-monitor: one per container, outside the container's namespaces and cgroups.
 *
 *   pocker-monitor CONFIG [LABEL]   (fd 3, if open: status pipe to the controller; LABEL only
 *                                    names the container in ps output)
 *   pocker-monitor exec CONFIG      run a command in a running container (see exec.h)
 *
 * Detaches (the process the controller spawned exits at once; its child is cloned straight into
 * the monitors cgroup on cgroup2 and joins the v1 monitors cgroups itself), creates the
 * container's init with clone3 (new UTS, PID, mount, IPC and, unless the host network is shared,
 * network namespaces; on cgroup2 directly into the container's cgroup), and reports on the status
 * pipe "pid MONITORPID" at once, then "ok INITPID MONITORPID" or "error MESSAGE". The init joins the container's
 * v1 cgroups itself before it does anything else.
 * Then it writes the container's stdout/stderr (or, with a tty, the pty master the init hands over)
 * to the log, and for an attached `pocker run` also to its own stdout/stderr, relaying its stdin
 * to the pty (raw mode while it runs). When the init exits, it records the
 * exit (code, signal, OOM kill, times) atomically and durably in its exit file (in the container's
 * data dir) and exits. */
#define _GNU_SOURCE
#include "config.h"
#include "console.h"
#include "error.h"
#include "exec.h"
#include "init.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int status_fd = -1;
/* fd 5, if open: the container's lock, held by the controller that started this monitor; kept
 * until the pids record is written, so a controller killed meanwhile never lets the next one see
 * the container without it (and start a second monitor). */
static int lock_fd = -1;
static struct config cfg;

static void report(const char *word, const char *msg)
{
	if (status_fd < 0)
		return;
	char buf[2048];
	int n = snprintf(buf, sizeof buf, "%s %s\n", word, msg);
	if (n > 0)
		write_all(status_fd, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* Ends the monitor with the status line report("error", msg) would write: the controller
 * (host/nodeHost.ts) parses it. */
static _Noreturn void fail(const struct pk_error *err)
{
	pk_error_exit(status_fd, "error ", err, "\n", 1);
}

static int join_monitor_cgroups(struct pk_error *err)
{
	const char *failed = NULL;
	int rc = join_cgroups(cfg.monitor_tasks, cfg.n_monitor_tasks, &failed);
	if (rc < 0)
		return pk_error_set(err, -rc, "join monitor cgroup %s", failed);
	return 0;
}

/* Creates the host dirs the container needs: its private data dir (0700) and its overlay dirs. */
static int make_dirs(struct pk_error *err)
{
	for (size_t i = 0; i < cfg.n_private_dirs; i++) {
		int rc = mkdir_p(cfg.private_dirs[i], 0700);
		if (rc < 0)
			return pk_error_set(err, -rc, "mkdir %s", cfg.private_dirs[i]);
	}
	for (size_t i = 0; i < cfg.n_mkdirs; i++) {
		int rc = mkdir_p(cfg.mkdirs[i], 0755);
		if (rc < 0)
			return pk_error_set(err, -rc, "mkdir %s", cfg.mkdirs[i]);
	}
	return 0;
}

/* Opens a cgroup2 directory for CLONE_INTO_CGROUP into *fd, -1 when none is configured. Returns 0,
 * or -1 with err set. */
static int open_cgroup2(const char *dir, int *fd, struct pk_error *err)
{
	*fd = -1;
	if (dir && (*fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return pk_error_set(err, errno, "open cgroup %s", dir);
	return 0;
}

static void state_path(char *buf, size_t len, const char *file)
{
	snprintf(buf, len, "%s/%s", cfg.state_dir, file);
}

/* Records the monitor's and the init's pids and start times. Returns 0, or -1 with err set. */
static int write_pids(pid_t init, uint64_t started, struct pk_error *err)
{
	char path[4096], buf[512];
	state_path(path, sizeof path, "pids.json");
	int n = snprintf(buf, sizeof buf,
			 "{\"monitorPid\":%d,\"monitorStart\":%llu,\"initPid\":%d,\"initStart\":%llu,\"startedAtMs\":%llu%s%s%s}\n",
			 (int)getpid(), (unsigned long long)proc_start_time(getpid()), (int)init,
			 (unsigned long long)proc_start_time(init), (unsigned long long)started,
			 cfg.boot_id ? ",\"bootId\":\"" : "", cfg.boot_id ? cfg.boot_id : "", cfg.boot_id ? "\"" : "");
	if (n < 0 || (size_t)n >= sizeof buf)
		return pk_error_set(err, 0, "pids record too long");
	int rc = write_file_atomic(path, buf, (size_t)n, 0);
	if (rc < 0)
		return pk_error_set(err, -rc, "write %s", path);
	return 0;
}

static void write_exit(int status, uint64_t started, uint64_t oom_before, struct log_file *lf)
{
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	uint64_t oom_after = read_keyed_counter(cfg.oom_file, "oom_kill");
	const char *path = cfg.exit_file;
	char buf[512];
	int n = snprintf(buf, sizeof buf,
			 "{\"exitCode\":%d,\"signal\":%d,\"oomKilled\":%s,\"oomKillCount\":%llu,\"startedAtMs\":%llu,\"finishedAtMs\":%llu}\n",
			 code, sig, oom_after > oom_before ? "true" : "false",
			 (unsigned long long)(oom_after - (oom_after > oom_before ? oom_before : oom_after)),
			 (unsigned long long)started, (unsigned long long)now_ms());
	int rc = write_file_atomic(path, buf, (size_t)n, 1);
	if (rc < 0) {
		struct pk_error err;
		pk_error_set(&err, -rc, "cannot record exit in %s", path);
		log_note(lf, err.msg);
	}
}

/* Where the workload's output goes besides the log, and where its input comes from (pocker run). */
struct attachment {
	int echo;          /* copy stdout/stderr to our fds 1/2 */
	int stdin_fd;      /* relay this fd to the pty master (-1: none) */
	int master;        /* the pty master (-1: no tty) */
	struct user_tty tty;
};

static void echo_out(struct attachment *at, int fd, const char *buf, size_t n)
{
	if (at->echo && write_all(fd, buf, n) < 0)
		at->echo = 0;
}

/* Copies container output to the log (and to an attached user) until the init has exited and its
 * output is drained. */
static int pump(pid_t init, int out_rd, int err_rd, struct log_file *lf, struct attachment *at)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGWINCH);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	struct log_stream out = { .name = "stdout", .crlf = at->master >= 0 }, err = { .name = "stderr" };
	int fds_open = 2, status = 0, exited = 0;
	uint64_t drain_deadline = 0;
	static char buf[65536];
	struct pollfd p[4] = { { out_rd, POLLIN, 0 }, { err_rd, POLLIN, 0 }, { sfd, POLLIN, 0 }, { at->stdin_fd, POLLIN, 0 } };
	for (;;) {
		if (!exited) {
			pid_t r = waitpid(init, &status, WNOHANG);
			if (r == init) {
				exited = 1;
				drain_deadline = now_ms() + 2000;
				p[3].fd = -1;
			}
		}
		if (exited && (fds_open == 0 || now_ms() >= drain_deadline))
			break;
		int timeout = exited ? 100 : -1;
		if (poll(p, 4, timeout) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(p[i].fd, buf, sizeof buf);
			if (n > 0) {
				log_feed(lf, i == 0 ? &out : &err, buf, (size_t)n);
				echo_out(at, i == 0 ? 1 : 2, buf, (size_t)n);
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				log_flush(lf, i == 0 ? &out : &err);
				close(p[i].fd);
				p[i].fd = -1;
				fds_open--;
			}
		}
		if (p[2].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof si) == sizeof si)
				if (si.ssi_signo == SIGWINCH && at->master >= 0)
					user_tty_resize(&at->tty, at->master);
		}
		if (p[3].fd >= 0 && (p[3].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(p[3].fd, buf, sizeof buf);
			if (n > 0)
				write_all(at->master, buf, (size_t)n);
			else if (n == 0 || (errno != EINTR && errno != EAGAIN))
				p[3].fd = -1;
		}
	}
	log_flush(lf, &out);
	log_flush(lf, &err);
	return status;
}

/* The container's user namespace: the owner of its pinned network namespace (bridge mode, pinned
 * inside it by `pin-netns`), else a new one, with (*netns) a network namespace of its own when the
 * container has one. Returns its fd, or -1 with err set. */
static int container_userns(int *netns, struct pk_error *err)
{
	*netns = -1;
	if (!cfg.netns)
		return userns_create(&cfg.userns, cfg.new_net ? netns : NULL, err);
	int fd = open(cfg.netns, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pk_error_set(err, errno, "open network namespace %s", cfg.netns);
	int host = 0;
	int userns = userns_of_netns(fd, &host, err);
	close(fd);
	if (userns >= 0 && host) {
		close(userns);
		userns = userns_create(&cfg.userns, NULL, err);
	}
	return userns;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "exec"))
		return exec_main(argv[2]);
	if (argc >= 2 && !strcmp(argv[1], "pin-netns"))
		return pin_netns_main(argc, argv);
	if (argc < 2 || argc > 3) {
		write_str(2, "usage: pocker-monitor CONFIG [LABEL]   (started by the pocker controller)\n");
		return 2;
	}
	if (fcntl(3, F_GETFD) >= 0) {
		status_fd = 3;
		fcntl(status_fd, F_SETFD, FD_CLOEXEC);
	}
	if (fcntl(5, F_GETFD) >= 0) {
		lock_fd = 5;
		fcntl(lock_fd, F_SETFD, FD_CLOEXEC);
	}
	signal(SIGPIPE, SIG_IGN);
	struct pk_error err;
	int monitor_cg;
	if (config_load(argv[1], &cfg, CONFIG_MONITOR, &err) < 0 || open_cgroup2(cfg.monitor_cgroup2_dir, &monitor_cg, &err) < 0)
		fail(&err);

	pid_t detach = clone_into(0, monitor_cg);
	if (detach < 0) {
		pk_error_set(&err, errno, "clone3 into monitors cgroup %s", cfg.monitor_cgroup2_dir ? cfg.monitor_cgroup2_dir : "-");
		fail(&err);
	}
	if (detach > 0)
		_exit(0);
	if (monitor_cg >= 0)
		close(monitor_cg);
	/* The controller's first word from us: whom to kill should we never report. */
	char self[32];
	snprintf(self, sizeof self, "%d", (int)getpid());
	report("pid", self);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	if (join_monitor_cgroups(&err) < 0 || make_dirs(&err) < 0)
		fail(&err);

	struct log_file lf;
	int rc = log_open(&lf, cfg.log_path, cfg.log_max_bytes, cfg.log_max_files);
	if (rc < 0) {
		pk_error_set(&err, -rc, "open log %s", cfg.log_path);
		fail(&err);
	}
	int outp[2], errp[2], reportp[2], ttysp[2] = { -1, -1 };
	if (pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC) || pipe2(reportp, O_CLOEXEC)) {
		pk_error_set(&err, errno, "pipe");
		fail(&err);
	}
	if (cfg.tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ttysp) < 0) {
		pk_error_set(&err, errno, "socketpair for the pty");
		fail(&err);
	}
	int cgroup_fd;
	if (open_cgroup2(cfg.cgroup2_dir, &cgroup_fd, &err) < 0)
		fail(&err);
	uint64_t oom_before = read_keyed_counter(cfg.oom_file, "oom_kill");
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigaddset(&chld, SIGWINCH);
	sigprocmask(SIG_BLOCK, &chld, NULL);

	int userns = -1, netns = -1;
	if (cfg.userns.set && (userns = container_userns(&netns, &err)) < 0)
		fail(&err);
	uint64_t ns = CLONE_NEWUTS | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | (cfg.new_net && !cfg.netns && netns < 0 ? CLONE_NEWNET : 0);
	pid_t init = clone_into(ns, cgroup_fd);
	if (init < 0) {
		pk_error_set(&err, errno, "clone3 container");
		fail(&err);
	}
	if (init == 0) {
		close(outp[0]); close(errp[0]); close(reportp[0]);
		if (ttysp[0] >= 0) close(ttysp[0]);
		close(lf.fd);
		if (status_fd >= 0) close(status_fd);
		if (lock_fd >= 0) close(lock_fd);
		if (cgroup_fd >= 0) close(cgroup_fd);
		struct init_fds fds = { reportp[1], outp[1], errp[1], ttysp[1], userns, netns };
		init_main(&cfg, &fds, argc, argv);
	}
	close(outp[1]); close(errp[1]); close(reportp[1]);
	if (ttysp[1] >= 0) close(ttysp[1]);
	if (userns >= 0) close(userns);
	if (netns >= 0) close(netns);
	if (cgroup_fd >= 0) close(cgroup_fd);

	char msg[1024];
	size_t mlen = 0;
	for (;;) {
		ssize_t n = read(reportp[0], msg + mlen, sizeof msg - 1 - mlen);
		if (n > 0 && mlen + (size_t)n < sizeof msg - 1) {
			mlen += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	msg[mlen] = 0;
	close(reportp[0]);
	if (mlen) {
		kill(init, SIGKILL);
		waitpid(init, NULL, 0);
		pk_error_set(&err, 0, "%s", msg);
		fail(&err);
	}
	struct attachment at = { cfg.attach, -1, -1, { -1, 0, { 0 } } };
	if (cfg.tty) {
		at.master = recv_fd(ttysp[0]);
		if (at.master < 0) {
			pk_error_set(&err, errno, "receive the pty from the init");
			kill(init, SIGKILL);
			waitpid(init, NULL, 0);
			fail(&err);
		}
		close(ttysp[0]);
		close(outp[0]);
		outp[0] = at.master;
		if (cfg.keep_stdin) {
			at.stdin_fd = 0;
			user_tty_begin(&at.tty, 0, at.master);
		}
	}
	uint64_t started = now_ms();
	if (write_pids(init, started, &err) < 0) {
		kill(init, SIGKILL);
		waitpid(init, NULL, 0);
		fail(&err);
	}
	if (lock_fd >= 0)
		close(lock_fd);
	lock_fd = -1;

	char ok[64];
	snprintf(ok, sizeof ok, "%d %d", (int)init, (int)getpid());
	report("ok", ok);
	if (status_fd >= 0)
		close(status_fd);
	status_fd = -1;

	int status = pump(init, outp[0], errp[0], &lf, &at);
	user_tty_end(&at.tty);
	write_exit(status, started, oom_before, &lf);
	return 0;
}
