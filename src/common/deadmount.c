/* deadmount: recognise and remove the FUSE mount of a filter manager daemon that died. */
#include "common/deadmount.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

/* mountinfo escapes space, tab, newline and backslash as \ooo: undo it in place. */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

/* The file system type of the last (topmost) mount at path in mountinfo, "" if none. */
static void top_fstype(const char *path, char *type, size_t cap)
{
	char line[8192];
	FILE *f = fopen("/proc/self/mountinfo", "re");

	type[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		/* id parent maj:min root mountpoint options [optional...] - fstype source super */
		char *save = NULL, *tok, *mp = NULL, *sep;
		int field = 0;

		sep = strstr(line, " - ");
		if (!sep)
			continue;
		*sep = '\0';
		for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
			if (++field == 5)
				mp = tok;
		if (!mp)
			continue;
		unescape(mp);
		if (strcmp(mp, path) != 0)
			continue;
		tok = strtok_r(sep + 3, " ", &save);
		snprintf(type, cap, "%s", tok ? tok : "");
	}
	fclose(f);
}

bool fm_dead_mount(const char *path)
{
	char type[64];
	struct statfs sfs;
	struct stat st;

	if (!path || path[0] != '/')
		return false;
	/* statfs always asks the file system; stat may be answered from cached attributes. */
	if (statfs(path, &sfs) == 0 || errno != ENOTCONN) {
		if (stat(path, &st) == 0 || errno != ENOTCONN)
			return false;
	}
	top_fstype(path, type, sizeof(type));
	return strcmp(type, "fuse.fltmgr") == 0;
}

int fm_dead_mount_remove(const char *path)
{
	int n = 0;

	/* Several daemons may have died on the same path, one mount over the other. */
	while (n < 16 && fm_dead_mount(path)) {
		if (umount2(path, MNT_DETACH) < 0)
			return -errno;
		n++;
	}
	return n;
}
