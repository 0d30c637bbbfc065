/* PID 1 inside the container: the clone child of the monitor. Sets up the root filesystem,
 * hostname and network loopback, starts the workload, forwards signals to it, reaps zombies and
 * exits with the workload's status (128+signal when it was killed). The workload's stdio is the
 * monitor's pipes (stdin /dev/null, or the monitor's own stdin when asked), or with a tty a pty of
 * the container's devpts whose master goes to the monitor. */
#ifndef POCKER_INIT_H
#define POCKER_INIT_H

#include "config.h"

/* File descriptors the monitor hands to the init. */
struct init_fds {
	int report_wr; /* setup/exec errors as text; EOF without data means the workload exec'd */
	int out_wr;    /* workload stdout */
	int err_wr;    /* workload stderr */
	int tty_sock;  /* with a tty: the socket the pty master goes to the monitor on (-1: none) */
	int userns;    /* the container's user namespace, entered last (-1: the host's) */
	int netns;     /* a network namespace made inside it, joined first (-1: none, or netns of the config) */
};

/* argc/argv of the monitor process: the init overwrites them so its cmdline is "pocker-init". */
_Noreturn void init_main(const struct config *c, const struct init_fds *fds, int argc, char **argv);

#endif
