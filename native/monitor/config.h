/* The container configuration the controller hands to the monitor: NUL-separated key/value pairs
 * ("key\0value\0...") built by the TypeScript runtime (runtime/monitorConfig.ts), passed as a file
 * (usually a memfd the controller passes as fd 4, opened through /proc/self/fd/4).
 * The monitor applies it as given; every policy decision was made by the controller. */
#ifndef POCKER_CONFIG_H
#define POCKER_CONFIG_H

#include "error.h"
#include "userns.h"

#include <stddef.h>
#include <stdint.h>

#define MAX_LIST 256

/* One bind mount: host source onto target (absolute path inside the rootfs). */
struct bind_mount {
	const char *source;
	const char *target;
	int read_only;
	int is_dir;
	int idmap;              /* with a user namespace: mounted idmapped through it */
};

/* One tmpfs mount: target (absolute path inside the rootfs) and its mount data ("size=N,mode=M"). */
struct tmpfs_mount {
	const char *target;
	const char *data;
};

/* Everything the monitor and init need to create one container. */
struct config {
	char *raw;                 /* owns all strings below */
	const char *name;          /* container name, for diagnostics */
	const char *state_dir;     /* where pids.json is written */
	const char *exit_file;     /* where the exit record is written (durable: it outlives a reboot) */
	const char *boot_id;       /* the kernel boot this start belongs to, recorded in pids.json */
	const char *log_path;      /* container log file (CRI format) */
	uint64_t log_max_bytes;    /* rotate when the file grows past this (0 = never) */
	unsigned log_max_files;    /* rotated files kept (log.1 .. log.N) */
	const char *rootfs;        /* empty dir the overlay is mounted on (inside the mount ns) */
	const char *upper, *work;  /* overlay upperdir and workdir */
	const char *lower[MAX_LIST]; size_t n_lower; /* overlay lowerdirs, top first */
	const char *hostname;
	int new_net;               /* 1: own network namespace with lo up; 0: share the host's */
	const char *netns;         /* with new_net: join this pinned namespace (bridge mode, set up by CNI) instead of a fresh one */
	const char *cgroup_tasks[MAX_LIST]; size_t n_cgroup_tasks; /* v1 "tasks" files the init writes "0" to */
	const char *cgroup2_dir;   /* v2 cgroup dir the init is cloned into (CLONE_INTO_CGROUP; v2 and hybrid) */
	const char *monitor_tasks[MAX_LIST]; size_t n_monitor_tasks; /* v1 "tasks" files for the monitor itself */
	const char *monitor_cgroup2_dir; /* v2 cgroup dir the detached monitor is cloned into */
	const char *oom_file;      /* memory.oom_control (v1) or memory.events (v2): "oom_kill N" */
	struct bind_mount binds[MAX_LIST]; size_t n_binds;
	struct tmpfs_mount tmpfs[MAX_LIST]; size_t n_tmpfs; /* mounted after the binds, nosuid and nodev */
	const char *env[MAX_LIST + 1]; size_t n_env; /* NULL terminated */
	const char *argv[MAX_LIST + 1]; size_t n_argv; /* NULL terminated */
	const char *path;          /* PATH used to look up argv[0] when it has no '/' */
	const char *cwd;           /* working directory inside the container */
	const char *mkdirs[MAX_LIST]; size_t n_mkdirs; /* host dirs to create first, mode 0755 (overlay dirs) */
	const char *private_dirs[MAX_LIST]; size_t n_private_dirs; /* host dirs to create first, mode 0700 (the container's data dir) */
	/* exec mode (`pocker-monitor exec`): join a running container */
	long init_pid;             /* the container's init */
	unsigned long long init_start; /* its start time, to refuse a reused pid */
	const char *ns[8]; size_t n_ns; /* namespaces to join: ipc uts net pid mnt cgroup user */
	int tty;                   /* run the command (exec) or the workload on a new pty of the container's devpts */
	int keep_stdin;            /* give the command our stdin (else /dev/null); with tty, relay it to the pty */
	int attach;                /* monitor: also copy the workload's output to our stdout/stderr (pocker run) */
	/* protections (runtime/security/policy.ts decides them) */
	int privileged;            /* informational: the controller already relaxed everything below */
	uint64_t caps;             /* capability set: bounding, effective, permitted, inheritable */
	int caps_set;              /* caps was given (otherwise capabilities are left as they are) */
	int no_new_privs;
	unsigned char *seccomp;    /* struct sock_filter array, decoded from hex */
	size_t seccomp_len;        /* in instructions */
	const char *user;          /* "uid[:gid]" or "name[:group]", resolved in the container */
	const char *mask_files[32]; size_t n_mask_files;
	const char *mask_dirs[32]; size_t n_mask_dirs;
	const char *ro_paths[32]; size_t n_ro_paths;
	const char *devs[32]; size_t n_devs; /* /dev nodes bound from the host's /dev */
	int nodev;                 /* rootfs, /dev and bind mounts get nodev */
	struct id_range userns;    /* "UID GID SIZE": the container's own user namespace (unset: the host's) */
	const char *sysctls[16]; size_t n_sysctls; /* "net.x.y=value", written once in the container's network namespace */
	int readonly_rootfs;
};

/* What a config is for: creating a container, or joining one (exec). */
enum config_mode { CONFIG_MONITOR, CONFIG_EXEC };

/* Loads path into cfg. Returns 0, or -1 with err set. */
int config_load(const char *path, struct config *cfg, enum config_mode mode, struct pk_error *err);

#endif
