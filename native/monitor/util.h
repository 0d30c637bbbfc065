/* Small helpers shared by the monitor and the init: raw I/O, atomic files, /proc reads. */
#ifndef POCKER_UTIL_H
#define POCKER_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Writes all of buf to fd, retrying on EINTR and short writes. Returns 0 or -errno. */
int write_all(int fd, const void *buf, size_t len);

/* Writes a NUL-terminated string to fd; errors are ignored (best effort diagnostics). */
void write_str(int fd, const char *s);

/* Writes content to path atomically: temp file in the same dir, fsync, rename. Returns 0 or -errno. */
int write_file_atomic(const char *path, const char *content, size_t len);

/* Writes content to an existing file (cgroupfs style: one write). Returns 0 or -errno. */
int write_file(const char *path, const char *content);

/* Reads up to cap-1 bytes of path into buf (NUL-terminated). Returns bytes read or -errno. */
ssize_t read_file(const char *path, char *buf, size_t cap);

/* Start time of pid in clock ticks since boot (field 22 of /proc/<pid>/stat), or 0 when unknown. */
uint64_t proc_start_time(pid_t pid);

/* Wall-clock time in milliseconds since the epoch. */
uint64_t now_ms(void);

/* Formats an unsigned integer into buf (at least 21 bytes); returns buf. */
char *fmt_u64(char *buf, uint64_t v);

/* Parses the counter named key ("oom_kill") from a "key value" per line cgroup file; 0 when absent. */
uint64_t read_keyed_counter(const char *path, const char *key);

/* Overwrites the process's argv area so /proc/<pid>/cmdline shows only title (hides host paths). */
void set_cmdline(int argc, char **argv, const char *title);

#endif
