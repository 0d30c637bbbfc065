/* Errors of the monitor and the init, one convention (crun's libcrun_error_t, in small):
 *  - a function that can fail with a message takes a struct pk_error *err and, when it fails,
 *    fills it with pk_error_set and returns -1 (or the failure value its comment names);
 *  - syscall-like helpers (util.h: write_all, write_file_atomic, mkdir_p, join_cgroups, ...) carry
 *    no message: they return -errno as the syscalls they wrap do, and the caller, which knows what
 *    it was doing to what, turns that into a pk_error at the call site ("mkdir /x: ...");
 *  - a process that gives up on an error ends with pk_error_exit, in the format its reader parses. */
#ifndef POCKER_ERROR_H
#define POCKER_ERROR_H

/* What failed, as the message the controller or the user sees, and the errno behind it (0: none). */
struct pk_error {
	int errnum;
	char msg[1024];
};

/* Sets err to the message formatted from fmt, followed by ": " and strerror(errnum) when errnum is
 * not 0 (a message too long for msg is cut short, without the errno text). Returns -1, so that a
 * failing function can end with `return pk_error_set(err, errno, ...)`. */
int pk_error_set(struct pk_error *err, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Writes prefix, err's message and suffix (prefix and suffix may be NULL) to fd in one write, so
 * a pipe carries the message whole, then ends the process with _exit(code). Nothing is written
 * when fd < 0 (no one is listening). */
_Noreturn void pk_error_exit(int fd, const char *prefix, const struct pk_error *err, const char *suffix, int code);

#endif
