/* Small helpers shared by the monitor and the init: raw I/O, atomic files, /proc reads. */
#ifndef POCKER_UTIL_H
#define POCKER_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Writes all of buf to fd, retrying on EINTR, short writes and EAGAIN (waits for POLLOUT). Returns 0 or -errno. */
int write_all(int fd, const void *buf, size_t len);

/* Writes a NUL-terminated string to fd; errors are ignored (best effort diagnostics). */
void write_str(int fd, const char *s);

/* Writes content to path atomically (temp file in the same dir, rename): readers never see a torn
 * file. durable: the temp file is fsynced before the rename and the directory after it (records
 * that outlive a reboot); otherwise no fsync (records of live processes, which a power loss takes
 * down with them). Returns 0 or -errno. */
int write_file_atomic(const char *path, const char *content, size_t len, int durable);

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

/* Moves the calling (single-threaded) process into the v1 cgroups whose "tasks" files are given,
 * by writing "0": the kernel migrates the current thread without taking the global
 * threadgroup lock, so no RCU grace period and no stall of every fork on the host (writing a pid
 * to cgroup.procs takes that lock). Returns 0, or -errno with *failed set to the file. */
int join_cgroups(const char *const *tasks_files, size_t n, const char **failed);

/* clone3 that returns twice like fork; with extra_flags namespaces, and into cgroup2_fd when >= 0. */
pid_t clone_into(uint64_t extra_flags, int cgroup2_fd);

/* execve of argv[0], looked up in path (the container's PATH, never the host's) when it has no
 * '/'. Returns only on failure, with errno set (EACCES if some candidate was not executable). */
void exec_in_path(const char *const *argv, const char *const *envp, const char *path);

/* mkdir -p with mode for created components. Returns 0 or -errno. */
int mkdir_p(const char *path, unsigned mode);

/* Overwrites the process's argv area so /proc/<pid>/cmdline shows only title (hides host paths). */
void set_cmdline(int argc, char **argv, const char *title);

/* The shell's exit code for a wait status: the code, 128 + signal, or 255. */
int exit_code_of(int status);

#endif
