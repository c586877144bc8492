/*
 * The security matrix (issue 8): what an unprivileged user may do to a tree, run on a
 * filtered volume and on a plain directory, must come out the same.
 *
 *   secmatrix setup DIR OTHER_UID          build the fixture tree in DIR (as root)
 *   secmatrix run DIR UID GID              drop to UID:GID (no supplementary groups), try
 *                                          every operation, print one line per attempt
 *   secmatrix state DIR                    print the tree: type, mode, owner, size, content
 *                                          digest, user.* xattrs, link targets
 *
 * Every line names the operation and the path relative to DIR, then "ok" or the errno
 * name, so two outputs compare with diff.  The operations cover reading, writing,
 * creating, deleting, renaming, linking, chmod, chown, xattrs, truncation, times, the
 * sticky bit, set-ID bits, and symbolic links that point outside the tree.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

static const char *root;

static const char *ename(int e)
{
	switch (e) {
	case 0:
		return "ok";
	case EPERM:
		return "EPERM";
	case ENOENT:
		return "ENOENT";
	case EACCES:
		return "EACCES";
	case EEXIST:
		return "EEXIST";
	case ENOTDIR:
		return "ENOTDIR";
	case EISDIR:
		return "EISDIR";
	case EINVAL:
		return "EINVAL";
	case ENOTEMPTY:
		return "ENOTEMPTY";
	case EXDEV:
		return "EXDEV";
	case ELOOP:
		return "ELOOP";
	case ENODATA:
		return "ENODATA";
	case EOPNOTSUPP:
		return "EOPNOTSUPP";
	case EROFS:
		return "EROFS";
	case ETXTBSY:
		return "ETXTBSY";
	default: {
		static char buf[32];

		snprintf(buf, sizeof(buf), "E%d", e);
		return buf;
	}
	}
}

static char *at(const char *rel)
{
	static char buf[4][4096];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", root, rel);
	return buf[i];
}

static void report(const char *op, const char *rel, int rc)
{
	printf("%-10s %-24s %s\n", op, rel, ename(rc < 0 ? errno : 0));
}

static void put(const char *rel, const char *text, mode_t mode, uid_t uid, gid_t gid)
{
	int fd = open(at(rel), O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		perror(rel);
		exit(2);
	}
	close(fd);
	if (chown(at(rel), uid, gid) || chmod(at(rel), mode)) {
		perror(rel);
		exit(2);
	}
}

static void dir(const char *rel, mode_t mode, uid_t uid, gid_t gid)
{
	if (mkdir(at(rel), 0700) || chown(at(rel), uid, gid) || chmod(at(rel), mode)) {
		perror(rel);
		exit(2);
	}
}

static int setup(uid_t other)
{
	/* Root's files of every common mode, and the other user's. */
	put("r600", "root 600\n", 0600, 0, 0);
	put("r644", "root 644\n", 0644, 0, 0);
	put("r666", "root 666\n", 0666, 0, 0);
	put("r000", "root 000\n", 0000, 0, 0);
	put("r4755", "#!/bin/sh\necho setuid root\n", 04755, 0, 0);
	put("o644", "other 644\n", 0644, other, other);
	put("o4755", "#!/bin/sh\necho setuid other\n", 04755, other, other);
	put("o2755", "#!/bin/sh\necho setgid other\n", 02755, other, other);
	put("o6775w", "#!/bin/sh\necho set-ID, group-writable\n", 06775, other, other);
	dir("d755", 0755, 0, 0);
	put("d755/f", "in d755\n", 0666, 0, 0);
	dir("d777", 0777, 0, 0);
	put("d777/rootf", "root in d777\n", 0644, 0, 0);
	put("d777/otherf", "other in d777\n", 0644, other, other);
	dir("d1777", 01777, 0, 0);
	put("d1777/rootf", "root in sticky\n", 0666, 0, 0);
	put("d1777/otherf", "other in sticky\n", 0666, other, other);
	dir("d700", 0700, 0, 0);
	put("d700/f", "hidden\n", 0666, 0, 0);
	dir("dother", 0755, other, other);
	dir("d2777", 02777, 0, other);
	if (symlink("/etc/passwd", at("abs_out")) ||
	    symlink("../../../../../../etc", at("rel_out")) || symlink("d700/f", at("in_link")) ||
	    symlink("r600", at("to_r600"))) {
		perror("symlink");
		exit(2);
	}
	if (setxattr(at("r644"), "user.k", "v", 1, 0) ||
	    setxattr(at("o644"), "user.k", "v", 1, 0)) {
		perror("setxattr");
		exit(2);
	}
	return 0;
}

static void try_open(const char *rel, int flags, const char *op)
{
	int fd = open(at(rel), flags | O_CLOEXEC, 0644);

	report(op, rel, fd);
	if (fd >= 0) {
		if ((flags & O_ACCMODE) != O_WRONLY) {
			char buf[64];
			ssize_t n = read(fd, buf, sizeof(buf));

			printf("%-10s %-24s %zd\n", "readlen", rel, n);
		}
		if ((flags & O_ACCMODE) != O_RDONLY) {
			ssize_t n = write(fd, "x", 1);

			printf("%-10s %-24s %s\n", "write", rel, n == 1 ? "ok" : ename(errno));
		}
		close(fd);
	}
}

static void run(void)
{
	static const char *const files[] = {
	    "r600",	    "r644",   "r666",	 "r000",       "r4755",	      "o644",
	    "o4755",	    "o2755",  "d755/f",	 "d777/rootf", "d777/otherf", "d1777/rootf",
	    "d1777/otherf", "d700/f", "abs_out", "in_link",    "to_r600",     "rel_out/passwd"};
	static const char *const dirs[] = {"d755", "d777", "d1777", "d700", "dother", "d2777"};
	char rel[256], rel2[256];
	struct stat st;
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const char *f = files[i];
		char v[16];

		try_open(f, O_RDONLY, "open-r");
		if (strcmp(f, "abs_out") && strcmp(f, "rel_out/passwd")) {
			/* Never write through the links that leave the tree. */
			try_open(f, O_WRONLY | O_APPEND, "open-w");
			report("truncate", f, truncate(at(f), 3));
			report("utimes0", f, utimes(at(f), NULL));
			{
				struct timeval tv[2] = {{1000000, 0}, {1000000, 0}};

				report("utimes", f, utimes(at(f), tv));
			}
			report("chmod", f, chmod(at(f), 0777));
			report("chown-me", f, chown(at(f), getuid(), (gid_t)-1));
			report("chgrp-me", f, chown(at(f), (uid_t)-1, getgid()));
			report("chown-0", f, chown(at(f), 0, (gid_t)-1));
			report("setxattr", f, setxattr(at(f), "user.n", "1", 1, 0));
			report("trusted", f, setxattr(at(f), "trusted.n", "1", 1, 0));
			report("rmxattr", f, removexattr(at(f), "user.k"));
		}
		{
			ssize_t n = getxattr(at(f), "user.k", v, sizeof(v));

			printf("%-10s %-24s %s\n", "getxattr", f, n >= 0 ? "ok" : ename(errno));
		}
		report("access-w", f, access(at(f), W_OK));
		report("access-x", f, access(at(f), X_OK));
	}
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		const char *d = dirs[i];
		int fd;

		snprintf(rel, sizeof(rel), "%s/new", d);
		fd = open(at(rel), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0664);
		report("create", rel, fd);
		if (fd >= 0) {
			if (write(fd, "new\n", 4) != 4)
				printf("%-10s %-24s %s\n", "write", rel, ename(errno));
			close(fd);
			if (stat(at(rel), &st) == 0)
				printf("%-10s %-24s mode %o owner-is-me %d gid-is-mine %d\n",
				       "created", rel, (unsigned int)st.st_mode,
				       st.st_uid == getuid(), st.st_gid == getgid());
		}
		snprintf(rel, sizeof(rel), "%s/sub", d);
		report("mkdir", rel, mkdir(at(rel), 0775));
		if (stat(at(rel), &st) == 0)
			printf("%-10s %-24s mode %o\n", "mkdir-mode", rel,
			       (unsigned int)st.st_mode);
		snprintf(rel, sizeof(rel), "%s/sym", d);
		report("symlink", rel, symlink("/etc/shadow", at(rel)));
		snprintf(rel2, sizeof(rel2), "%s/hard", d);
		report("link-r600", rel2, link(at("r600"), at(rel2)));
		report("link-o644", rel2, link(at("o644"), at(rel2)));
		{
			DIR *dp = opendir(at(d));

			report("readdir", d, dp ? 0 : -1);
			if (dp)
				closedir(dp);
		}
	}
	/* Deletions and renames, the sticky bit's rules among them. */
	report("unlink", "d777/rootf", unlink(at("d777/rootf")));
	report("unlink", "d1777/rootf", unlink(at("d1777/rootf")));
	report("unlink", "d1777/otherf", unlink(at("d1777/otherf")));
	report("unlink", "d755/f", unlink(at("d755/f")));
	report("unlink", "r644", unlink(at("r644")));
	report("rename", "d777/otherf", rename(at("d777/otherf"), at("d777/moved")));
	report("rename", "d1777/rootf", rename(at("d1777/rootf"), at("d1777/moved")));
	report("rename", "d755/f", rename(at("d755/f"), at("d777/stolen")));
	report("rename", "r666", rename(at("r666"), at("d777/r666")));
	report("rename-ow", "d777/new", rename(at("d777/new"), at("d777/rootf")));
	report("rmdir", "dother", rmdir(at("dother")));
	report("rmdir", "d777/sub", rmdir(at("d777/sub")));
	report("rename-d", "d777/sub", rename(at("d755"), at("d777/d755")));
	/* Writing a set-ID file one may write clears the bits (as the file system decides). */
	{
		int fd = open(at("o6775w"), O_WRONLY | O_APPEND | O_CLOEXEC);

		report("open-w", "o6775w", fd);
		if (fd >= 0) {
			if (write(fd, "#\n", 2) != 2)
				printf("%-10s %-24s %s\n", "write", "o6775w", ename(errno));
			close(fd);
		}
		if (stat(at("o6775w"), &st) == 0)
			printf("%-10s %-24s mode %o\n", "after-w", "o6775w",
			       (unsigned int)st.st_mode);
	}
}

/* ---- state ---------------------------------------------------------------------------------- */

static uint64_t digest_fd(int fd)
{
	uint64_t h = 1469598103934665603ull;
	unsigned char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			h = (h ^ buf[i]) * 1099511628211ull;
	return h;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void state(const char *rel)
{
	struct dirent **names;
	int n;

	n = scandir(at(rel), &names, NULL, by_name);
	if (n < 0) {
		printf("%s: cannot list: %s\n", rel, ename(errno));
		return;
	}
	for (int i = 0; i < n; i++) {
		char child[2048], val[64], link[256];
		struct stat st;
		ssize_t len;

		if (!strcmp(names[i]->d_name, ".") || !strcmp(names[i]->d_name, "..")) {
			free(names[i]);
			continue;
		}
		snprintf(child, sizeof(child), "%s%s%s", rel, *rel ? "/" : "", names[i]->d_name);
		free(names[i]);
		if (lstat(at(child), &st)) {
			printf("%s: lstat %s\n", child, ename(errno));
			continue;
		}
		printf("%-24s mode %06o uid %u gid %u", child, (unsigned int)st.st_mode,
		       (unsigned int)st.st_uid, (unsigned int)st.st_gid);
		if (S_ISREG(st.st_mode)) {
			int fd = open(at(child), O_RDONLY | O_CLOEXEC);

			printf(" size %lld", (long long)st.st_size);
			if (fd >= 0) {
				printf(" digest %016llx", (unsigned long long)digest_fd(fd));
				close(fd);
			}
			len = getxattr(at(child), "user.k", val, sizeof(val));
			printf(" user.k %s", len >= 0 ? "set" : ename(errno));
			len = getxattr(at(child), "user.n", val, sizeof(val));
			printf(" user.n %s", len >= 0 ? "set" : ename(errno));
		} else if (S_ISLNK(st.st_mode)) {
			len = readlink(at(child), link, sizeof(link) - 1);
			link[len > 0 ? len : 0] = '\0';
			printf(" -> %s", link);
		}
		printf("\n");
		if (S_ISDIR(st.st_mode))
			state(child);
	}
	free(names);
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "setup")) {
		root = argv[2];
		umask(0);
		return setup((uid_t)atoi(argv[3]));
	}
	if (argc >= 5 && !strcmp(argv[1], "run")) {
		gid_t gid = (gid_t)atoi(argv[4]);
		uid_t uid = (uid_t)atoi(argv[3]);

		root = argv[2];
		if (setgroups(0, NULL) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid)) {
			perror("dropping privileges");
			return 2;
		}
		umask(022);
		setvbuf(stdout, NULL, _IOLBF, 0);
		run();
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "state")) {
		root = argv[2];
		state("");
		return 0;
	}
	fprintf(stderr, "usage: secmatrix setup DIR OTHER_UID | run DIR UID GID | state DIR\n");
	return 2;
}
