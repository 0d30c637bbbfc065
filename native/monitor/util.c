#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				/* A non-blocking fd shared with another process (an attached user's pipe). */
				struct pollfd pf = { fd, POLLOUT, 0 };
				if (poll(&pf, 1, -1) >= 0 || errno == EINTR)
					continue;
			}
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void write_str(int fd, const char *s)
{
	(void)write_all(fd, s, strlen(s));
}

int write_file_atomic(const char *path, const char *content, size_t len, int durable)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid()) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int rc = write_all(fd, content, len);
	if (rc == 0 && durable && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc != 0) {
		unlink(tmp);
		return rc;
	}
	if (durable) {
		char dir[4096];
		snprintf(dir, sizeof dir, "%s", path);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = 0;
			int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd >= 0) {
				fsync(dfd);
				close(dfd);
			}
		}
	}
	return 0;
}

int write_file(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = write_all(fd, content, strlen(content));
	close(fd);
	return rc;
}

ssize_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t off = 0;
	while (off + 1 < cap) {
		ssize_t n = read(fd, buf + off, cap - 1 - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	buf[off] = 0;
	close(fd);
	return (ssize_t)off;
}

uint64_t proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (read_file(path, buf, sizeof buf) <= 0)
		return 0;
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* After ") " comes field 3 (state); the start time is field 22. */
	int field = 2;
	for (; *p; p++) {
		if (*p == ' ') {
			field++;
			if (field == 22)
				return strtoull(p + 1, NULL, 10);
		}
	}
	return 0;
}

uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

char *fmt_u64(char *buf, uint64_t v)
{
	char tmp[21];
	int i = 0;
	do {
		tmp[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	int j = 0;
	while (i)
		buf[j++] = tmp[--i];
	buf[j] = 0;
	return buf;
}

uint64_t read_keyed_counter(const char *path, const char *key)
{
	char buf[2048];
	if (!path || !*path || read_file(path, buf, sizeof buf) <= 0)
		return 0;
	size_t klen = strlen(key);
	for (char *line = buf; line && *line;) {
		char *nl = strchr(line, '\n');
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
			return strtoull(line + klen + 1, NULL, 10);
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

void set_cmdline(int argc, char **argv, const char *title)
{
	if (argc < 1)
		return;
	char *start = argv[0];
	char *end = argv[argc - 1] + strlen(argv[argc - 1]);
	size_t room = (size_t)(end - start);
	memset(start, 0, room);
	size_t n = strlen(title);
	memcpy(start, title, n < room ? n : room);
}

int mkdir_p(const char *path, unsigned mode)
{
	/* Try the full path first: creating or probing an ancestor takes its inode lock, which
	 * every monitor starting at the same time would fight over. */
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -errno;
	char buf[4096];
	size_t len = strlen(path);
	if (len == 0 || len >= sizeof buf)
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	char *slash = strrchr(buf, '/');
	if (!slash || slash == buf)
		return -ENOENT;
	*slash = 0;
	int rc = mkdir_p(buf, mode);
	if (rc < 0)
		return rc;
	return mkdir(path, mode) == 0 || errno == EEXIST ? 0 : -errno;
}

int join_cgroups(const char *const *tasks_files, size_t n, const char **failed)
{
	for (size_t i = 0; i < n; i++) {
		int rc = write_file(tasks_files[i], "0");
		if (rc < 0) {
			*failed = tasks_files[i];
			return rc;
		}
	}
	return 0;
}

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

struct clone_args_ {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
		set_tid_size, cgroup;
};

pid_t clone_into(uint64_t extra_flags, int cgroup2_fd)
{
	struct clone_args_ args;
	memset(&args, 0, sizeof args);
	args.flags = extra_flags;
	if (cgroup2_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgroup2_fd;
	}
	args.exit_signal = SIGCHLD;
	return (pid_t)syscall(SYS_clone3, &args, sizeof args);
}

void exec_in_path(const char *const *argv, const char *const *envp, const char *path)
{
	const char *file = argv[0];
	char *const *av = (char *const *)argv;
	char *const *ev = (char *const *)envp;
	if (strchr(file, '/')) {
		execve(file, av, ev);
		return;
	}
	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	int seen_eacces = 0;
	char buf[4096];
	for (const char *p = path;;) {
		const char *colon = strchr(p, ':');
		size_t dlen = colon ? (size_t)(colon - p) : strlen(p);
		if (dlen + strlen(file) + 2 <= sizeof buf) {
			memcpy(buf, p, dlen);
			size_t off = dlen;
			if (off == 0)
				buf[off++] = '.';
			buf[off++] = '/';
			strcpy(buf + off, file);
			execve(buf, av, ev);
			if (errno == EACCES)
				seen_eacces = 1;
			else if (errno != ENOENT && errno != ENOTDIR)
				return;
		}
		if (!colon)
			break;
		p = colon + 1;
	}
	errno = seen_eacces ? EACCES : ENOENT;
}

int exit_code_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}
