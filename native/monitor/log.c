#define _GNU_SOURCE
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

int log_open(struct log_file *lf, const char *path, uint64_t max_bytes, unsigned max_files)
{
	lf->path = path;
	lf->max_bytes = max_bytes;
	lf->max_files = max_files;
	lf->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (lf->fd < 0)
		return -errno;
	struct stat st;
	lf->size = fstat(lf->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

static void rotate(struct log_file *lf)
{
	char from[4096], to[4096];
	for (unsigned i = lf->max_files; i >= 1; i--) {
		if (i == 1)
			snprintf(from, sizeof from, "%s", lf->path);
		else
			snprintf(from, sizeof from, "%s.%u", lf->path, i - 1);
		snprintf(to, sizeof to, "%s.%u", lf->path, i);
		rename(from, to);
	}
	int fd = open(lf->path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0640);
	if (fd >= 0) {
		close(lf->fd);
		lf->fd = fd;
		lf->size = 0;
	}
}

static void write_record(struct log_file *lf, const char *stream, char tag, const char *text, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char head[96];
	int hl = snprintf(head, sizeof head, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ %s %c ",
			  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			  ts.tv_nsec, stream, tag);
	struct iovec iov[3] = {
		{ head, (size_t)hl }, { (void *)text, len }, { "\n", 1 },
	};
	ssize_t n = writev(lf->fd, iov, 3);
	if (n > 0)
		lf->size += (uint64_t)n;
	if (lf->max_bytes && lf->max_files && lf->size >= lf->max_bytes)
		rotate(lf);
}

void log_feed(struct log_file *lf, struct log_stream *s, const char *data, size_t len)
{
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len;
		if (s->len + take >= LOG_LINE_MAX) {
			size_t room = LOG_LINE_MAX - s->len;
			memcpy(s->buf + s->len, data, room);
			write_record(lf, s->name, 'P', s->buf, LOG_LINE_MAX);
			s->len = 0;
			data += room;
			len -= room;
			continue;
		}
		memcpy(s->buf + s->len, data, take);
		s->len += take;
		if (!nl)
			return;
		write_record(lf, s->name, 'F', s->buf, s->crlf && s->len && s->buf[s->len - 1] == '\r' ? s->len - 1 : s->len);
		s->len = 0;
		data += take + 1;
		len -= take + 1;
	}
}

void log_flush(struct log_file *lf, struct log_stream *s)
{
	if (s->len) {
		write_record(lf, s->name, 'P', s->buf, s->len);
		s->len = 0;
	}
}

void log_note(struct log_file *lf, const char *msg)
{
	char buf[1024];
	int n = snprintf(buf, sizeof buf, "pocker-monitor: %s", msg);
	write_record(lf, "stderr", 'F', buf, n > 0 && (size_t)n < sizeof buf ? (size_t)n : strlen(buf));
}
