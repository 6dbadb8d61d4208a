/*
 * Who may connect to a server's socket (ddeio, bddf, netd, dde nbd): the
 * user the server runs as (the one who started `dde run`), root, and the
 * users and groups given with --allow-user / --allow-group. The check reads
 * the peer's credentials from the kernel (SO_PEERCRED, SO_PEERGROUPS) on
 * every connection, so a name or path that leaks grants nothing.
 */
#ifndef COMMON_ACCESS_H
#define COMMON_ACCESS_H

#include <stddef.h>
#include <sys/types.h>

#define ACCESS_MAX 16

struct access_policy {
	uid_t owner;			/* the server's own user */
	uid_t user[ACCESS_MAX];
	gid_t group[ACCESS_MAX];
	unsigned nusers, ngroups;
	char text[2 * ACCESS_MAX][16];	/* access_argv's numbers */
};

/* Admit only the server's own user and root. */
void access_init(struct access_policy *p);

/*
 * --allow-user NAME|UID (@group 0) or --allow-group NAME|GID (@group 1):
 * 0, or -1 with a message naming the option and the value in @err.
 */
int access_allow(struct access_policy *p, int group, const char *arg, char *err, size_t cap);

/*
 * Are the peer of connected Unix socket @fd admitted? 0 if so; otherwise
 * -EACCES, and @why (if not NULL) says who was refused and how to admit
 * them, in one line. Sockets that are not Unix sockets are refused.
 */
int access_check(const struct access_policy *p, int fd, char *why, size_t cap);

/*
 * The allowed users and groups as a child server's options ("--allow-user",
 * "1000", ...): at most @max words into @argv (the numbers live in @p);
 * returns how many.
 */
int access_argv(struct access_policy *p, char **argv, int max);

/* "uid 1000 (alice)" */
void access_describe_uid(uid_t uid, char *out, size_t cap);

#endif
