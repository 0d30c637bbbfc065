/* Privilege dropping for the workload (and `pocker exec`): user and groups, capability bounding,
 * effective, permitted and inheritable sets, no_new_privs, the seccomp filter — in that order,
 * last thing before execve. Every decision was made by the controller (runtime/security/). */
#ifndef POCKER_SECURITY_H
#define POCKER_SECURITY_H

#include "config.h"
#include "error.h"

/* Applies c's protections to the calling process. Returns 0, or -1 with err set. */
int apply_privileges(const struct config *c, struct pk_error *err);

#endif
