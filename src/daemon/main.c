/* fltmgrd: the filter manager daemon; owns --root, serves the control socket, hosts the core. */
#include "daemon/daemon.h"

#include "common/alloc.h"
#include "common/deadmount.h"
#include "common/log.h"
#include "core/core.h"
#include "core/port.h"
#include "core/registry.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

struct options {
	const char *root;
	bool check;
	enum fm_log_level level;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: fltmgrd [--root DIR] [-n] [-v] [--log-level error|warn|info|debug]\n"
		   "  --root DIR        state directory (default " FM_DAEMON_DEFAULT_ROOT ")\n"
		   "  -n, --check       load and check the registry, print it, exit\n"
		   "  -v, --verbose     log debug messages\n"
		   "  --log-level L     error, warn, info (default) or debug\n"
		   "  -h, --help        this help\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"root", required_argument, NULL, 'r'}, {"check", no_argument, NULL, 'n'},
	    {"verbose", no_argument, NULL, 'v'},    {"log-level", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},	    {NULL, 0, NULL, 0},
	};
	static const char *const levels[] = {"error", "warn", "info", "debug"};
	int c;

	o->root = FM_DAEMON_DEFAULT_ROOT;
	o->check = false;
	o->level = FM_LOG_INFO;
	while ((c = getopt_long(argc, argv, "nvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			o->root = optarg;
			break;
		case 'n':
			o->check = true;
			break;
		case 'v':
			o->level = FM_LOG_DEBUG;
			break;
		case 'l': {
			size_t i;

			for (i = 0; i < 4; i++)
				if (strcmp(optarg, levels[i]) == 0)
					break;
			if (i == 4) {
				fprintf(stderr, "fltmgrd: unknown log level \"%s\"\n", optarg);
				return 2;
			}
			o->level = (enum fm_log_level)i;
			break;
		}
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "fltmgrd: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (strlen(o->root) + sizeof("/" FM_PROTO_SOCKET) >
	    sizeof(((struct sockaddr_un *)0)->sun_path)) {
		fprintf(stderr, "fltmgrd: --root path too long for a socket path\n");
		return 2;
	}
	return 0;
}

static char *root_path(const char *root, const char *name)
{
	char *p = fm_malloc(strlen(root) + strlen(name) + 2);

	if (p)
		sprintf(p, "%s/%s", root, name);
	return p;
}

/* ---- Fatal signals ------------------------------------------------------------------------- */

/* The log, opened a second time for the fatal-signal handler (which cannot take its lock). */
static int crash_fd = -1;

static void crash_put(char *buf, size_t cap, size_t *len, const char *s)
{
	while (*s && *len + 1 < cap)
		buf[(*len)++] = *s++;
}

static void crash_put_num(char *buf, size_t cap, size_t *len, unsigned long v, unsigned int base)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v && n < (int)sizeof(tmp));
	if (base == 16)
		crash_put(buf, cap, len, "0x");
	while (n > 0 && *len + 1 < cap)
		buf[(*len)++] = tmp[--n];
}

static void crash_emit(const char *buf, size_t len)
{
	if (write(STDERR_FILENO, buf, len) < 0) {
		/* Nothing else to try. */
	}
	if (crash_fd >= 0 && write(crash_fd, buf, len) < 0) {
		/* Nothing else to try. */
	}
}

/*
 * A filter (or the daemon) crashed: say which filter and operation the thread was running,
 * with write(2) only, then die of the same signal.  The kernel then aborts every FUSE
 * connection of the process, so each volume fails closed (ENOTCONN).
 */
static void fatal_signal(int sig, siginfo_t *si, void *uctx)
{
	static const struct {
		int sig;
		const char *name;
	} names[] = {{SIGSEGV, "SIGSEGV"},
		     {SIGBUS, "SIGBUS"},
		     {SIGILL, "SIGILL"},
		     {SIGFPE, "SIGFPE"},
		     {SIGABRT, "SIGABRT"}};
	char line[1024], what[700];
	size_t len = 0, i;
	int saved = errno;

	(void)uctx;
	crash_put(line, sizeof(line), &len, "fltmgrd: FATAL: ");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].sig == sig)
			break;
	if (i < sizeof(names) / sizeof(names[0]))
		crash_put(line, sizeof(line), &len, names[i].name);
	else
		crash_put_num(line, sizeof(line), &len, (unsigned long)sig, 10);
	if (sig == SIGSEGV || sig == SIGBUS) {
		crash_put(line, sizeof(line), &len, " at address ");
		crash_put_num(line, sizeof(line), &len, (unsigned long)si->si_addr, 16);
	}
	crash_put(line, sizeof(line), &len, " in thread ");
	crash_put_num(line, sizeof(line), &len, (unsigned long)syscall(SYS_gettid), 10);
	crash_put(line, sizeof(line), &len, ", ");
	/* Out before the filter's state is read: if that faults too, this much is said. */
	crash_emit(line, len);
	len = 0;
	if (fm_core_describe_current(what, sizeof(what)))
		crash_put(line, sizeof(line), &len, what);
	else
		crash_put(line, sizeof(line), &len, "not in filter code");
	crash_put(line, sizeof(line), &len,
		  "; fltmgrd dies, its volumes fail closed (ENOTCONN) until it is restarted\n");
	crash_emit(line, len);
	errno = saved;
	/* SA_RESETHAND restored the default action, and SA_NODEFER lets it happen now. */
	raise(sig);
}

static void catch_fatal_signals(const char *logpath)
{
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
	struct sigaction sa = {0};

	if (crash_fd >= 0)
		close(crash_fd);
	crash_fd = open(logpath, O_WRONLY | O_APPEND | O_CLOEXEC);
	sa.sa_sigaction = fatal_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* ---- Mounts left by a killed daemon -------------------------------------------------------- */

/*
 * <root>/mounts lists the mount points of this daemon's volumes, rewritten after every mount
 * and unmount, so that after a crash the next fltmgrd on the root can take away the dead
 * mounts (and `fltmc unmount` can too while no daemon runs).
 */
static void record_mounts(const char *path)
{
	char tmp[PATH_MAX];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return;
	f = fopen(tmp, "we");
	if (!f) {
		fm_warn("cannot write %s: %s", tmp, strerror(errno));
		return;
	}
	for (size_t i = 0; i < fm_daemon_nvolumes(); i++)
		fprintf(f, "%s\n", fm_daemon_volume_mount_point(i));
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0 || rename(tmp, path) < 0)
		fm_warn("cannot write %s: %s", path, strerror(errno));
}

/* Remove the dead mounts a killed fltmgrd of this root left behind. */
static void clean_dead_mounts(const char *path)
{
	char line[PATH_MAX + 2];
	FILE *f = fopen(path, "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		int n;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] != '/')
			continue;
		n = fm_dead_mount_remove(line);
		if (n > 0)
			fm_warn("%s: removed the dead volume a previous fltmgrd left there", line);
		else if (n < 0)
			fm_err("%s: cannot remove the dead volume left there: %s", line,
			       strerror(-n));
	}
	fclose(f);
}

/* Create <root> (and missing parents) 0700. */
static int make_root(const char *root)
{
	char tmp[PATH_MAX];
	struct stat st;

	if (snprintf(tmp, sizeof(tmp), "%s", root) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (stat(tmp, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return 0;
}

/* Take <root>/fltmgrd.lock for the daemon's life; -EBUSY (with the holder's pid) if held. */
static int take_lock(const char *root, int *fd_out, long *holder)
{
	char *path = root_path(root, "fltmgrd.lock");
	char buf[32];
	int fd, rc = 0;
	ssize_t n;

	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	fm_free(path);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		*holder = strtol(buf, NULL, 10);
		close(fd);
		return rc;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		fm_warn("cannot write pid to lock file: %s", strerror(errno));
	*fd_out = fd;
	return 0;
}

static int bind_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	mode_t old;
	int fd, rc;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	/* We hold the root lock, so a socket file left here belongs to a dead daemon. */
	unlink(path);
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, 16) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static void send_reply(int fd, struct fm_daemon_reply *r)
{
	uint8_t *buf;
	size_t len;
	int rc = fm_proto_encode_reply(&r->rep, &buf, &len);

	if (rc == -EMSGSIZE) {
		/* A listing too large for one message: say so rather than send nothing. */
		fm_daemon_reply_fini(r);
		r->rep.ncols = r->rep.nrows = 0;
		r->rep.cells = NULL;
		fm_daemon_reply_status(r, FM_STATUS_ERRNO, -EMSGSIZE, "reply too large");
		rc = fm_proto_encode_reply(&r->rep, &buf, &len);
	}
	if (rc) {
		fm_err("control: cannot encode reply: %s", strerror(-rc));
		return;
	}
	rc = fm_proto_send(fd, buf, len, FM_DAEMON_IO_TIMEOUT_MS);
	if (rc)
		fm_warn("control: cannot send reply: %s", strerror(-rc));
	fm_free(buf);
}

/* Serve one connection: one request, one reply.  Any malformation just closes it. */
static const char *mounts_path;

static void serve_client(int fd)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct fm_daemon_reply r;
	struct fm_request req;
	uint8_t *payload = NULL;
	uint32_t len;
	uint16_t type;
	int rc;

	fm_daemon_reply_init(&r);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
		fm_warn("control: SO_PEERCRED: %s", strerror(errno));
		return;
	}
	if (cred.uid != 0) {
		fm_warn("control: refused pid %d uid %u (root only)", (int)cred.pid,
			(unsigned int)cred.uid);
		fm_daemon_reply_status(&r, FM_STATUS_ERRNO, -EACCES,
				       "access denied: fltmgrd accepts requests from root only");
		send_reply(fd, &r);
		return;
	}
	rc = fm_proto_recv(fd, FM_DAEMON_IO_TIMEOUT_MS, &type, &payload, &len);
	if (rc) {
		if (rc != -ENODATA)
			fm_warn("control: bad message from pid %d: %s; connection closed",
				(int)cred.pid, strerror(-rc));
		return;
	}
	rc = fm_proto_decode_request(type, payload, len, &req);
	fm_free(payload);
	if (rc) {
		fm_warn("control: malformed %s request (type %u, %u bytes) from pid %d: %s; "
			"connection closed",
			fm_proto_type_name(type), type, len, (int)cred.pid, strerror(-rc));
		return;
	}
	fm_daemon_handle(&req, &r);
	if (req.type == FM_MSG_MOUNT || req.type == FM_MSG_UNMOUNT)
		record_mounts(mounts_path);
	fm_proto_request_free(&req);
	send_reply(fd, &r);
	fm_daemon_reply_fini(&r);
}

static int serve(int lfd, int sfd, const char *logpath, enum fm_log_level level)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = lfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
		int n = poll(p, 2, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fm_err("poll: %s", strerror(errno));
			return -errno;
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					fm_log_open(logpath, level);
					catch_fatal_signals(logpath);
					fm_info("log reopened");
					continue;
				}
				fm_info("signal %u: shutting down", si.ssi_signo);
				return 0;
			}
		}
		if (p[0].revents & POLLIN) {
			int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

			if (cfd >= 0) {
				serve_client(cfd);
				close(cfd);
			} else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
				fm_warn("accept: %s", strerror(errno));
			}
		}
	}
}

static int check_mode(const struct options *o)
{
	char *regpath = root_path(o->root, "registry");
	int rc, problems;

	if (!regpath)
		return 1;
	fm_log_open(NULL, o->level);
	if (access(regpath, F_OK) != 0)
		printf("%s: no registry file (empty registry)\n", regpath);
	rc = fm_reg_init(regpath);
	if (rc) {
		fprintf(stderr, "fltmgrd: registry %s is invalid: %s (see the line above)\n",
			regpath, strerror(-rc));
		fm_free(regpath);
		return 1;
	}
	printf("registry %s: ok\n", regpath);
	problems = fm_daemon_check_registry();
	problems += fm_daemon_check_startup(o->root);
	fm_reg_fini();
	fm_free(regpath);
	return problems ? 1 : 0;
}

int main(int argc, char **argv)
{
	char *logpath = NULL, *regpath = NULL, *sockpath = NULL, *mountspath = NULL;
	struct options o;
	sigset_t mask;
	int lockfd = -1, lfd = -1, sfd = -1, rc, status = 1;
	long holder = 0;

	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc;
	if (o.check)
		return check_mode(&o);

	signal(SIGPIPE, SIG_IGN);
	/* Blocked before any thread exists, so every thread inherits the mask and the
	 * signalfd is the only receiver. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	rc = make_root(o.root);
	if (rc) {
		fprintf(stderr, "fltmgrd: cannot create %s: %s\n", o.root, strerror(-rc));
		return 1;
	}
	/* Communication ports live under <root>/ports (src/core/port.c). */
	if (fm_core_set_root(o.root) < 0) {
		fprintf(stderr, "fltmgrd: out of memory\n");
		return 1;
	}
	logpath = root_path(o.root, "fltmgrd.log");
	regpath = root_path(o.root, "registry");
	sockpath = root_path(o.root, FM_PROTO_SOCKET);
	mountspath = root_path(o.root, "mounts");
	mounts_path = mountspath;
	if (!logpath || !regpath || !sockpath || !mountspath) {
		fprintf(stderr, "fltmgrd: out of memory\n");
		goto out;
	}
	rc = take_lock(o.root, &lockfd, &holder);
	if (rc == -EBUSY) {
		fprintf(stderr, "fltmgrd: another fltmgrd (pid %ld) is running on %s\n", holder,
			o.root);
		goto out;
	}
	if (rc) {
		fprintf(stderr, "fltmgrd: cannot lock %s/fltmgrd.lock: %s\n", o.root,
			strerror(-rc));
		goto out;
	}
	rc = fm_log_open(logpath, o.level);
	if (rc) {
		fprintf(stderr, "fltmgrd: cannot open log %s: %s\n", logpath, strerror(-rc));
		goto out;
	}
	fm_info("fltmgrd starting, pid %d, root %s", (int)getpid(), o.root);
	catch_fatal_signals(logpath);
	/* We hold the root's lock: whatever the list names is a dead daemon's. */
	clean_dead_mounts(mountspath);
	rc = fm_reg_init(regpath);
	if (rc) {
		fm_err("cannot load the registry %s: %s", regpath, strerror(-rc));
		goto out_log;
	}
	rc = fm_core_init();
	if (rc) {
		fm_err("cannot start the filter manager core: %s", strerror(-rc));
		goto out_reg;
	}
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		fm_err("signalfd: %s", strerror(errno));
		goto out_core;
	}
	lfd = bind_socket(sockpath);
	if (lfd < 0) {
		fm_err("cannot listen on %s: %s", sockpath, strerror(-lfd));
		goto out_core;
	}
	fm_info("listening on %s", sockpath);
	if (fm_daemon_startup(o.root))
		fm_warn("startup finished with problems (see above); serving anyway");
	record_mounts(mountspath);
	if (serve(lfd, sfd, logpath, o.level) == 0)
		status = 0;
	close(lfd);
	unlink(sockpath);
	fm_daemon_unmount_all();
	record_mounts(mountspath);
out_core:
	fm_core_shutdown();
	if (sfd >= 0)
		close(sfd);
out_reg:
	fm_reg_fini();
	fm_info("fltmgrd stopped (exit %d)", status);
out_log:
	fm_log_close();
out:
	if (lockfd >= 0)
		close(lockfd);
	fm_free(logpath);
	fm_free(regpath);
	fm_free(sockpath);
	fm_free(mountspath);
	return status;
}
