#define _GNU_SOURCE
#include "config.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int push(const char **list, size_t *n, size_t cap, const char *v)
{
	if (*n >= cap)
		return -1;
	list[(*n)++] = v;
	return 0;
}

/* Decodes the hex of a struct sock_filter array (8 bytes per instruction). */
static int decode_filter(struct config *c, const char *hex)
{
	size_t len = strlen(hex);
	if (len == 0 || len % 16 || len / 16 > 4096)
		return -1;
	c->seccomp = malloc(len / 2);
	if (!c->seccomp)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		unsigned hi, lo;
		char h = hex[2 * i], l = hex[2 * i + 1];
		hi = (unsigned)(h >= 'a' ? h - 'a' + 10 : h - '0');
		lo = (unsigned)(l >= 'a' ? l - 'a' + 10 : l - '0');
		if (hi > 15 || lo > 15)
			return -1;
		c->seccomp[i] = (unsigned char)(hi << 4 | lo);
	}
	c->seccomp_len = len / 16;
	return 0;
}

static int apply_pair(struct config *c, const char *k, const char *v, const char **pending_src,
		      const char **pending_dst)
{
	if (!strcmp(k, "name")) c->name = v;
	else if (!strcmp(k, "state_dir")) c->state_dir = v;
	else if (!strcmp(k, "exit_file")) c->exit_file = v;
	else if (!strcmp(k, "boot_id")) c->boot_id = v;
	else if (!strcmp(k, "log_path")) c->log_path = v;
	else if (!strcmp(k, "log_max_bytes")) c->log_max_bytes = strtoull(v, NULL, 10);
	else if (!strcmp(k, "log_max_files")) c->log_max_files = (unsigned)strtoul(v, NULL, 10);
	else if (!strcmp(k, "rootfs")) c->rootfs = v;
	else if (!strcmp(k, "upper")) c->upper = v;
	else if (!strcmp(k, "work")) c->work = v;
	else if (!strcmp(k, "lower")) return push(c->lower, &c->n_lower, MAX_LIST, v);
	else if (!strcmp(k, "hostname")) c->hostname = v;
	else if (!strcmp(k, "new_net")) c->new_net = !strcmp(v, "1");
	else if (!strcmp(k, "netns")) c->netns = v;
	else if (!strcmp(k, "cgroup_tasks")) return push(c->cgroup_tasks, &c->n_cgroup_tasks, MAX_LIST, v);
	else if (!strcmp(k, "cgroup2_dir")) c->cgroup2_dir = v;
	else if (!strcmp(k, "monitor_tasks")) return push(c->monitor_tasks, &c->n_monitor_tasks, MAX_LIST, v);
	else if (!strcmp(k, "monitor_cgroup2_dir")) c->monitor_cgroup2_dir = v;
	else if (!strcmp(k, "oom_file")) c->oom_file = v;
	else if (!strcmp(k, "bind_src")) *pending_src = v;
	else if (!strcmp(k, "bind_dst")) *pending_dst = v;
	else if (!strcmp(k, "bind_flags")) {
		if (!*pending_src || !*pending_dst || c->n_binds >= MAX_LIST)
			return -1;
		struct bind_mount *b = &c->binds[c->n_binds++];
		b->source = *pending_src;
		b->target = *pending_dst;
		b->read_only = strstr(v, "ro") != NULL;
		b->is_dir = strstr(v, "dir") != NULL;
		b->idmap = strstr(v, "idmap") != NULL;
		*pending_src = *pending_dst = NULL;
	}
	else if (!strcmp(k, "tmpfs_dst")) *pending_dst = v;
	else if (!strcmp(k, "tmpfs_data")) {
		if (!*pending_dst || *pending_src || c->n_tmpfs >= MAX_LIST)
			return -1;
		c->tmpfs[c->n_tmpfs].target = *pending_dst;
		c->tmpfs[c->n_tmpfs++].data = v;
		*pending_dst = NULL;
	}
	else if (!strcmp(k, "env")) return push(c->env, &c->n_env, MAX_LIST, v);
	else if (!strcmp(k, "arg")) return push(c->argv, &c->n_argv, MAX_LIST, v);
	else if (!strcmp(k, "path")) c->path = v;
	else if (!strcmp(k, "cwd")) c->cwd = v;
	else if (!strcmp(k, "mkdir")) return push(c->mkdirs, &c->n_mkdirs, MAX_LIST, v);
	else if (!strcmp(k, "mkdir_private")) return push(c->private_dirs, &c->n_private_dirs, MAX_LIST, v);
	else if (!strcmp(k, "init_pid")) c->init_pid = strtol(v, NULL, 10);
	else if (!strcmp(k, "init_start")) c->init_start = strtoull(v, NULL, 10);
	else if (!strcmp(k, "ns")) return push(c->ns, &c->n_ns, 8, v);
	else if (!strcmp(k, "tty")) c->tty = !strcmp(v, "1");
	else if (!strcmp(k, "stdin")) c->keep_stdin = !strcmp(v, "1");
	else if (!strcmp(k, "attach")) c->attach = !strcmp(v, "1");
	else if (!strcmp(k, "privileged")) c->privileged = !strcmp(v, "1");
	else if (!strcmp(k, "caps")) {
		c->caps = strtoull(v, NULL, 16);
		c->caps_set = 1;
	}
	else if (!strcmp(k, "no_new_privs")) c->no_new_privs = !strcmp(v, "1");
	else if (!strcmp(k, "seccomp")) return decode_filter(c, v);
	else if (!strcmp(k, "user")) c->user = v;
	else if (!strcmp(k, "mask_file")) return push(c->mask_files, &c->n_mask_files, 32, v);
	else if (!strcmp(k, "mask_dir")) return push(c->mask_dirs, &c->n_mask_dirs, 32, v);
	else if (!strcmp(k, "ro_path")) return push(c->ro_paths, &c->n_ro_paths, 32, v);
	else if (!strcmp(k, "dev")) return push(c->devs, &c->n_devs, 32, v);
	else if (!strcmp(k, "nodev")) c->nodev = !strcmp(v, "1");
	else if (!strcmp(k, "readonly_rootfs")) c->readonly_rootfs = !strcmp(v, "1");
	else if (!strcmp(k, "userns")) {
		if (sscanf(v, "%u %u %u", &c->userns.uid, &c->userns.gid, &c->userns.size) != 3 || !c->userns.size)
			return -1;
		c->userns.set = 1;
	}
	else if (!strcmp(k, "sysctl")) {
		if (strncmp(v, "net.", 4) || !strchr(v, '='))
			return -1;
		return push(c->sysctls, &c->n_sysctls, 16, v);
	}
	else return -2;
	return 0;
}

int config_load(const char *path, struct config *cfg, enum config_mode mode, struct pk_error *err)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->new_net = 1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int inherited;
	/* A socket (what Node gives as a "pipe" stdio) cannot be reopened through /proc: read the fd itself. */
	if (fd < 0 && errno == ENXIO && sscanf(path, "/proc/self/fd/%d", &inherited) == 1)
		fd = inherited;
	if (fd < 0)
		return pk_error_set(err, errno, "open config %s", path);
	/* Read to EOF: the config may be a memfd or a pipe (no size known up front). */
	size_t cap = 8192, got = 0;
	cfg->raw = malloc(cap);
	while (cfg->raw) {
		if (got + 1 >= cap) {
			if (cap >= (1u << 22)) {
				pk_error_set(err, 0, "config %s: larger than 4 MiB", path);
				close(fd);
				return -1;
			}
			char *bigger = realloc(cfg->raw, cap * 2);
			if (!bigger)
				break;
			cfg->raw = bigger;
			cap *= 2;
		}
		ssize_t n = read(fd, cfg->raw + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			pk_error_set(err, errno, "read config %s", path);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!cfg->raw)
		return pk_error_set(err, 0, "config %s: out of memory", path);
	if (got == 0)
		return pk_error_set(err, 0, "config %s: empty", path);
	cfg->raw[got] = 0;
	const char *pending_src = NULL, *pending_dst = NULL;
	char *p = cfg->raw, *end = cfg->raw + got;
	while (p < end) {
		char *k = p;
		char *kz = memchr(k, 0, (size_t)(end - k));
		if (!kz || kz + 1 >= end + 1) break;
		char *v = kz + 1;
		char *vz = v < end ? memchr(v, 0, (size_t)(end - v)) : NULL;
		if (!vz)
			return pk_error_set(err, 0, "config %s: truncated value for key %s", path, k);
		int rc = apply_pair(cfg, k, v, &pending_src, &pending_dst);
		if (rc == -2)
			return pk_error_set(err, 0, "config %s: unknown key %s", path, k);
		if (rc < 0)
			return pk_error_set(err, 0, "config %s: too many or malformed entries for key %s", path, k);
		p = vz + 1;
	}
	cfg->env[cfg->n_env] = NULL;
	cfg->argv[cfg->n_argv] = NULL;
	if (mode == CONFIG_EXEC) {
		if (cfg->init_pid <= 0 || !cfg->init_start || !cfg->n_argv)
			return pk_error_set(err, 0, "config %s: exec needs init_pid, init_start and arg", path);
	} else if (!cfg->state_dir || !cfg->exit_file || !cfg->rootfs || !cfg->upper || !cfg->work || !cfg->n_lower ||
	    !cfg->n_argv || !cfg->log_path) {
		return pk_error_set(err, 0, "config %s: missing one of state_dir, exit_file, rootfs, upper, work, lower, arg, log_path", path);
	}
	if (!cfg->cwd) cfg->cwd = "/";
	if (!cfg->name) cfg->name = "?";
	return 0;
}
