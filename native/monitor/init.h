/* PID 1 inside the container: the clone child of the monitor. Sets up the root filesystem,
 * hostname and network loopback, starts the workload, forwards signals to it, reaps zombies and
 * exits with the workload's status (128+signal when it was killed). */
#ifndef POCKER_INIT_H
#define POCKER_INIT_H

#include "config.h"

/* File descriptors the monitor hands to the init. */
struct init_fds {
	int report_wr; /* setup/exec errors as text; EOF without data means the workload exec'd */
	int out_wr;    /* workload stdout */
	int err_wr;    /* workload stderr */
};

/* argc/argv of the monitor process: the init overwrites them so its cmdline is "pocker-init". */
_Noreturn void init_main(const struct config *c, const struct init_fds *fds, int argc, char **argv);

#endif
