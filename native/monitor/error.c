#define _GNU_SOURCE
#include "error.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int pk_error_set(struct pk_error *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	/* Cut short the way one snprintf of the whole message would be. */
	if (errnum && n >= 0 && (size_t)n < sizeof err->msg)
		snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(errnum));
	err->errnum = errnum;
	return -1;
}

_Noreturn void pk_error_exit(int fd, const char *prefix, const struct pk_error *err, const char *suffix, int code)
{
	if (fd >= 0) {
		char line[sizeof err->msg + 64];
		int n = snprintf(line, sizeof line, "%s%s%s", prefix ? prefix : "", err->msg, suffix ? suffix : "");
		if (n > 0)
			(void)write_all(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
	}
	_exit(code);
}
