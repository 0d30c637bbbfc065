/* Terminals: a pty of the container's own devpts for the workload, the master handed from the
 * init to the monitor over a socket, and the user's terminal (raw mode, window size) on the side
 * that relays. */
#ifndef POCKER_CONSOLE_H
#define POCKER_CONSOLE_H

#include <termios.h>

/* Opens a new pty on /dev/ptmx of the current mount namespace. Returns 0 with *master and *slave
 * set (both O_CLOEXEC, the slave O_NOCTTY), or -1 with errno set. */
int pty_open(int *master, int *slave);

/* Sends fd over a unix socket (SCM_RIGHTS). Returns 0 or -1 with errno set. */
int send_fd(int sock, int fd);

/* Receives one fd sent by send_fd (made O_CLOEXEC). Returns the fd or -1 with errno set. */
int recv_fd(int sock);

/* The user's terminal while a pty is relayed to it. */
struct user_tty {
	int fd;              /* the terminal (usually 0), or -1 when stdin is no terminal */
	int raw;             /* it was switched to raw mode and must be restored */
	struct termios saved;
};

/* Puts fd in raw mode when it is a terminal and copies its window size to master. */
void user_tty_begin(struct user_tty *t, int fd, int master);

/* Copies the terminal's current window size to master (after SIGWINCH). */
void user_tty_resize(const struct user_tty *t, int master);

/* Restores the terminal's mode. */
void user_tty_end(struct user_tty *t);

#endif
