/*
 * Shared pieces of the integration tests that mount a real volume in process (fm_vol_mount)
 * under a built-in filter: the temporary tree, the filter's DriverEntry, the service keys and
 * load, a checked child process, and the time-out that detaches the mount before bailing out.
 */
#ifndef FM_TESTS_VOL_FIXTURE_H
#define FM_TESTS_VOL_FIXTURE_H

#include "core_fixture.h"
#include "volume/volume.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The mount point the time-out detaches (set by vf_begin). */
static const char *vf_mounted;

static inline void vf_on_timeout(int sig)
{
	(void)sig;
	if (vf_mounted && vf_mounted[0])
		umount2(vf_mounted, MNT_DETACH);
	printf("Bail out! timed out\n");
	_exit(1);
}

/*
 * Skip (returns 1) without root and /dev/fuse; otherwise arm a `secs` time-out, make
 * /tmp/fm-<tag>-XXXXXX in `base` and its "vol" directory in `volpath`, and bring up the
 * registry and the core.  Returns 0, or -1 after printing "Bail out!".
 */
static inline int vf_begin(const char *what, const char *tag, unsigned secs, char *base,
			   size_t bcap, char *volpath, size_t vcap)
{
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK) != 0) {
		tap_skip(what, "needs root and /dev/fuse to mount FUSE");
		return 1;
	}
	vf_mounted = volpath;
	volpath[0] = '\0';
	signal(SIGALRM, vf_on_timeout);
	alarm(secs);
	snprintf(base, bcap, "/tmp/fm-%s-XXXXXX", tag);
	if (!mkdtemp(base)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	chmod(base, 0755);
	snprintf(volpath, vcap, "%s/vol", base);
	mkdir(volpath, 0755);
	r = fm_reg_init(NULL);
	if (r == 0)
		r = fm_core_init();
	if (r < 0) {
		printf("Bail out! core init: %s\n", strerror(-r));
		return -1;
	}
	return 0;
}

/* Register the built-in filter `svc` with its default instance at `altitude` and load it. */
static inline int vf_load(const char *svc, const char *altitude, PDRIVER_INITIALIZE entry)
{
	NTSTATUS st;

	fx_reg_service(svc, altitude, 0);
	st = fm_filter_load_builtin(svc, entry, NULL, 0);
	if (!NT_SUCCESS(st)) {
		printf("Bail out! filter load: 0x%08x\n", (unsigned)st);
		return -1;
	}
	return 0;
}

/* Mount the volume over its own directory (the backing directory is the mount point). */
static inline int vf_mount(const char *volpath, struct fm_vol **vol)
{
	int r = fm_vol_mount(volpath, NULL, NULL, vol);

	if (r < 0)
		printf("Bail out! fm_vol_mount: %s\n", strerror(-r));
	return r;
}

/* Unmount (when vol is set), shut the core down and remove the temporary tree. */
static inline void vf_end(struct fm_vol *vol, const char *base)
{
	char cmd[160];

	if (vol)
		fm_vol_unmount(vol);
	fm_core_shutdown();
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", base);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", base);
}

/* Run fn in a child (killed by SIGALRM after `secs`); checks it exited with status 0. */
static inline void vf_check_child(int (*fn)(void), unsigned secs)
{
	pid_t pid;
	int status = -1;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		alarm(secs);
		_exit(fn());
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	TAP_CHECK(WIFEXITED(status));
	TAP_EQ_INT(WEXITSTATUS(status), 0);
}

#endif
