/* Container log writer: CRI log format ("<RFC3339Nano> <stream> <F|P> <text>"), one record per
 * line (P marks a partial line), with size-based rotation (log, log.1 .. log.N). */
#ifndef POCKER_LOG_H
#define POCKER_LOG_H

#include <stddef.h>
#include <stdint.h>

#define LOG_LINE_MAX 16384

/* Pending partial line of one stream. */
struct log_stream {
	const char *name; /* "stdout" or "stderr" */
	char buf[LOG_LINE_MAX];
	size_t len;
	int crlf;         /* a terminal's output: lines end in "\r\n", the "\r" is not logged */
};

/* An open log file and its rotation policy. */
struct log_file {
	const char *path;
	int fd;
	uint64_t size;
	uint64_t max_bytes;
	unsigned max_files;
};

int log_open(struct log_file *lf, const char *path, uint64_t max_bytes, unsigned max_files);

/* Appends raw output of a stream; complete lines are written at once. */
void log_feed(struct log_file *lf, struct log_stream *s, const char *data, size_t len);

/* Writes what is left of a stream's partial line (at EOF). */
void log_flush(struct log_file *lf, struct log_stream *s);

/* Writes a line of the monitor's own (stream "stderr", prefixed "pocker-monitor: "). */
void log_note(struct log_file *lf, const char *msg);

#endif
