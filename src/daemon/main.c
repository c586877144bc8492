/* fltmgrd: the filter manager daemon; owns --root, serves the control socket, hosts the core. */
#include "daemon/daemon.h"

#include "common/alloc.h"
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
	char *logpath = NULL, *regpath = NULL, *sockpath = NULL;
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
	if (!logpath || !regpath || !sockpath) {
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
	if (serve(lfd, sfd, logpath, o.level) == 0)
		status = 0;
	close(lfd);
	unlink(sockpath);
	fm_daemon_unmount_all();
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
	return status;
}
