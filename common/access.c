/* Who may connect to a server (common/access.h). */
#define _GNU_SOURCE
#include "access.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void access_init(struct access_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->owner = getuid();
}

static int number(const char *s, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return *end || errno || *out >= (unsigned long)(uid_t)-1 ? -1 : 0;
}

int access_allow(struct access_policy *p, int group, const char *arg, char *err, size_t cap)
{
	const char *opt = group ? "--allow-group" : "--allow-user";
	unsigned long id;

	if ((group ? p->ngroups : p->nusers) == ACCESS_MAX) {
		snprintf(err, cap, "%s: at most %d of them", opt, ACCESS_MAX);
		return -1;
	}
	if (number(arg, &id)) {
		struct passwd *pw = group ? NULL : getpwnam(arg);
		struct group *gr = group ? getgrnam(arg) : NULL;

		if (!pw && !gr) {
			snprintf(err, cap, "%s '%s': no such %s (a name or a number)", opt, arg,
				 group ? "group" : "user");
			return -1;
		}
		id = group ? gr->gr_gid : pw->pw_uid;
	}
	if (group)
		p->group[p->ngroups++] = (gid_t)id;
	else
		p->user[p->nusers++] = (uid_t)id;
	return 0;
}

int access_argv(struct access_policy *p, char **argv, int max)
{
	int n = 0;

	for (unsigned i = 0; i < p->nusers + p->ngroups && n + 2 <= max; i++) {
		int g = i >= p->nusers;

		snprintf(p->text[i], sizeof(p->text[i]), "%u",
			 g ? (unsigned)p->group[i - p->nusers] : (unsigned)p->user[i]);
		argv[n++] = g ? "--allow-group" : "--allow-user";
		argv[n++] = p->text[i];
	}
	return n;
}

void access_describe_uid(uid_t uid, char *out, size_t cap)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(out, cap, "uid %u (%s)", (unsigned)uid, pw->pw_name);
	else
		snprintf(out, cap, "uid %u", (unsigned)uid);
}

static int group_allowed(const struct access_policy *p, gid_t gid)
{
	for (unsigned i = 0; i < p->ngroups; i++)
		if (p->group[i] == gid)
			return 1;
	return 0;
}

int access_check(const struct access_policy *p, int fd, char *why, size_t cap)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t groups[256];
	char who[64];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || len != sizeof(cred)) {
		if (why)
			snprintf(why, cap, "a peer whose credentials cannot be read (%s): refused",
				 strerror(errno));
		return -EACCES;
	}
	if (cred.uid == 0 || cred.uid == p->owner)
		return 0;
	for (unsigned i = 0; i < p->nusers; i++)
		if (p->user[i] == cred.uid)
			return 0;
	if (group_allowed(p, cred.gid))
		return 0;
	len = sizeof(groups);
	if (p->ngroups && !getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len))
		for (unsigned i = 0; i < len / sizeof(groups[0]); i++)
			if (group_allowed(p, groups[i]))
				return 0;
	if (why) {
		char owner[64];

		access_describe_uid(cred.uid, who, sizeof(who));
		access_describe_uid(p->owner, owner, sizeof(owner));
		snprintf(why, cap, "access denied to %s (pid %d): only %s, root and the users "
			 "and groups given with --allow-user/--allow-group may connect",
			 who, (int)cred.pid, owner);
	}
	return -EACCES;
}
