#define _GNU_SOURCE
#include "security.h"
#include "util.h"

#include <errno.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#define CAP_VERSION_3 0x20080522
#define SECCOMP_MODE_FILTER_ 2

struct cap_header { uint32_t version; int pid; };
struct cap_data { uint32_t effective, permitted, inheritable; };
struct bpf_insn { uint16_t code; uint8_t jt, jf; uint32_t k; };
struct bpf_prog { unsigned short len; struct bpf_insn *filter; };

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* Finds a line of an /etc/passwd or /etc/group style file by name (field 1) or id (field 3). */
static int find_entry(const char *file, const char *name, long id, char *line, size_t cap)
{
	char buf[65536];
	if (read_file(file, buf, sizeof buf) <= 0)
		return 0;
	for (char *l = buf; l && *l;) {
		char *nl = strchr(l, '\n');
		if (nl)
			*nl = 0;
		char *colon1 = strchr(l, ':');
		char *colon2 = colon1 ? strchr(colon1 + 1, ':') : NULL;
		if (colon2) {
			int match = name ? (size_t)(colon1 - l) == strlen(name) && !strncmp(l, name, (size_t)(colon1 - l))
					 : strtol(colon2 + 1, NULL, 10) == id && colon2[1] >= '0' && colon2[1] <= '9';
			if (match && strlen(l) < cap) {
				strcpy(line, l);
				return 1;
			}
		}
		l = nl ? nl + 1 : NULL;
	}
	return 0;
}

/* Field n (0-based) of a colon-separated line. */
static const char *field(const char *line, int n, char *out, size_t cap)
{
	const char *p = line;
	for (int i = 0; i < n && p; i++) {
		p = strchr(p, ':');
		if (p)
			p++;
	}
	if (!p)
		return NULL;
	size_t len = strcspn(p, ":");
	if (len >= cap)
		len = cap - 1;
	memcpy(out, p, len);
	out[len] = 0;
	return out;
}

/* Resolves "user[:group]" against the container's /etc/passwd and /etc/group (Docker's rules:
 * a uid with no passwd entry gets gid 0; supplementary groups are those naming the user). */
static int resolve_user(const char *spec, uid_t *uid, gid_t *gid, gid_t *groups, size_t *ngroups, struct pk_error *err)
{
	char user[256], group[256] = "", line[1024], tmp[256];
	const char *colon = strchr(spec, ':');
	snprintf(user, sizeof user, "%.*s", colon ? (int)(colon - spec) : (int)strlen(spec), spec);
	if (colon)
		snprintf(group, sizeof group, "%s", colon + 1);
	const char *uname = NULL;
	*gid = 0;
	if (all_digits(user)) {
		*uid = (uid_t)strtoul(user, NULL, 10);
		if (find_entry("/etc/passwd", NULL, (long)*uid, line, sizeof line)) {
			*gid = (gid_t)strtoul(field(line, 3, tmp, sizeof tmp), NULL, 10);
			uname = field(line, 0, user, sizeof user);
		}
	} else {
		if (!find_entry("/etc/passwd", user, -1, line, sizeof line))
			return pk_error_set(err, 0, "user %s not found in the container's /etc/passwd", user);
		*uid = (uid_t)strtoul(field(line, 2, tmp, sizeof tmp), NULL, 10);
		*gid = (gid_t)strtoul(field(line, 3, tmp, sizeof tmp), NULL, 10);
		uname = user;
	}
	if (*group) {
		if (all_digits(group)) {
			*gid = (gid_t)strtoul(group, NULL, 10);
		} else if (find_entry("/etc/group", group, -1, line, sizeof line)) {
			*gid = (gid_t)strtoul(field(line, 2, tmp, sizeof tmp), NULL, 10);
		} else {
			return pk_error_set(err, 0, "group %s not found in the container's /etc/group", group);
		}
	}
	*ngroups = 0;
	groups[(*ngroups)++] = *gid;
	char buf[65536];
	if (uname && read_file("/etc/group", buf, sizeof buf) > 0) {
		for (char *l = buf; l && *l && *ngroups < 64;) {
			char *nl = strchr(l, '\n');
			if (nl)
				*nl = 0;
			char members[4096];
			if (field(l, 3, members, sizeof members)) {
				for (char *m = strtok(members, ","); m; m = strtok(NULL, ","))
					if (!strcmp(m, uname))
						groups[(*ngroups)++] = (gid_t)strtoul(field(l, 2, tmp, sizeof tmp), NULL, 10);
			}
			l = nl ? nl + 1 : NULL;
		}
	}
	return 0;
}

int apply_privileges(const struct config *c, struct pk_error *err)
{
	uid_t uid = 0;
	gid_t gid = 0, groups[64];
	size_t ngroups = 0;
	if (c->user && resolve_user(c->user, &uid, &gid, groups, &ngroups, err) < 0)
		return -1;
	uint64_t caps = c->caps;
	if (c->caps_set) {
		/* A process cannot gain what it lacks (root here may run without some capability):
		 * keep the wanted set within the current permitted one. */
		struct cap_header h = { CAP_VERSION_3, 0 };
		struct cap_data cur[2];
		if (syscall(SYS_capget, &h, cur) == 0)
			caps &= (uint64_t)cur[0].permitted | (uint64_t)cur[1].permitted << 32;
		char buf[32];
		int last = read_file("/proc/sys/kernel/cap_last_cap", buf, sizeof buf) > 0 ? atoi(buf) : 40;
		for (int cap = 0; cap <= last && cap < 64; cap++) {
			if (!(caps >> cap & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
				return pk_error_set(err, errno, "drop capability %d from the bounding set", cap);
		}
	}
	/* Ambient capabilities would survive the exec of any program: none, ever (CVE-2022-24769 class). */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (c->user) {
		prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
		if (setgroups(ngroups, groups) < 0)
			return pk_error_set(err, errno, "setgroups for %s", c->user);
		if (setresgid(gid, gid, gid) < 0)
			return pk_error_set(err, errno, "setgid for %s", c->user);
		if (setresuid(uid, uid, uid) < 0)
			return pk_error_set(err, errno, "setuid for %s", c->user);
		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	}
	if (c->caps_set) {
		struct cap_header h = { CAP_VERSION_3, 0 };
		uint32_t lo = (uint32_t)caps, hi = (uint32_t)(caps >> 32);
		/* The inheritable set stays empty, as runc does since CVE-2022-24769: a program with
		 * inheritable file capabilities must not gain them across exec. */
		struct cap_data d[2] = { { lo, lo, 0 }, { hi, hi, 0 } };
		if (syscall(SYS_capset, &h, d) < 0)
			return pk_error_set(err, errno, "capset");
	}
	if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return pk_error_set(err, errno, "set no_new_privs");
	if (c->seccomp) {
		struct bpf_prog prog = { (unsigned short)c->seccomp_len, (struct bpf_insn *)c->seccomp };
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER_, &prog, 0, 0) < 0)
			return pk_error_set(err, errno, "install the seccomp filter");
	}
	return 0;
}
