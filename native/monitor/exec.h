/* `pocker-monitor exec CONFIG`: runs a command inside a running container, as `pocker exec` and
 * health checks do. Joins the init's namespaces and the container's cgroups, optionally on a new
 * pty of the container's own devpts, and exits with the command's status (128+signal if killed). */
#ifndef POCKER_EXEC_H
#define POCKER_EXEC_H

int exec_main(const char *config_path);

#endif
