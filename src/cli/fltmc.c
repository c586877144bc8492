/* fltmc: the filter manager control program; Windows verbs and output, plus Linux verbs. */
#include "cli/inf.h"
#include "common/alloc.h"
#include "core/registry.h"
#include "proto/proto.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_ROOT "/var/lib/fltmgr"
/* Loading runs DriverEntry and mounting waits for instance setup: allow them time. */
#define REPLY_TIMEOUT_MS 120000

static const char *root = DEFAULT_ROOT;

struct verb {
	const char *name;
	const char *args;
	const char *help;
	int (*run)(const struct verb *v, int argc, char **argv);
};

static const struct verb verbs[];

static void verb_usage(const struct verb *v, FILE *f)
{
	fprintf(f, "usage: fltmc [--root DIR] %s%s%s\n  %s\n", v->name, v->args[0] ? " " : "",
		v->args, v->help);
}

/* A usage error: one line naming the problem, the verb's usage, exit status 2. */
static int usage_error(const struct verb *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const struct verb *v, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fltmc %s: ", v->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	verb_usage(v, stderr);
	return 2;
}

/* ---- Talking to the daemon ---------------------------------------------------------------- */

/* Send a request and receive its reply; on failure print why and return 1. */
static int transact(const struct fm_request *req, struct fm_reply *rep)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[sizeof(sa.sun_path)];
	uint8_t *buf = NULL, *payload = NULL;
	size_t len;
	uint32_t plen;
	uint16_t type;
	int fd, rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", root, FM_PROTO_SOCKET) >= sizeof(path)) {
		fprintf(stderr, "fltmc: --root path too long\n");
		return 1;
	}
	rc = fm_proto_encode_request(req, &buf, &len);
	if (rc) {
		fprintf(stderr, "fltmc: cannot encode the request: %s\n", strerror(-rc));
		return 1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "fltmc: cannot reach fltmgrd at %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		fm_free(buf);
		return 1;
	}
	rc = fm_proto_send(fd, buf, len, REPLY_TIMEOUT_MS);
	fm_free(buf);
	/* The daemon may refuse (non-root) before reading: its reply still explains why. */
	rc = fm_proto_recv(fd, REPLY_TIMEOUT_MS, &type, &payload, &plen);
	close(fd);
	if (rc == 0 && type != FM_MSG_REPLY)
		rc = -EPROTO;
	if (rc == 0) {
		rc = fm_proto_decode_reply(payload, plen, rep);
		fm_free(payload);
	}
	if (rc) {
		fprintf(stderr, "fltmc: no valid reply from fltmgrd at %s: %s\n", path,
			strerror(rc == -ENODATA ? ECONNRESET : -rc));
		return 1;
	}
	return 0;
}

static bool reply_failed(const struct fm_reply *rep)
{
	/* NTSTATUS errors and warnings have the top bit set; errno statuses are negative. */
	return rep->status < 0;
}

/* Print a failure as one line on stderr; returns the exit status. */
static int report(const struct fm_reply *rep, const char *what)
{
	char st[160];

	fm_proto_status_text(rep->kind, rep->status, st, sizeof(st));
	/* NTSTATUS first (the name is what scripts grep for), errno text after the message. */
	if (rep->message[0] && rep->kind == FM_STATUS_NT)
		fprintf(stderr, "fltmc: %s: %s: %s\n", what, st, rep->message);
	else if (rep->message[0])
		fprintf(stderr, "fltmc: %s: %s: %s\n", what, rep->message, st);
	else
		fprintf(stderr, "fltmc: %s: %s\n", what, st);
	return 1;
}

/* Run a request whose reply is a status and a message; print the message if `verbose`. */
static int simple(const struct fm_request *req, const char *what, bool verbose)
{
	struct fm_reply rep;
	int rc = transact(req, &rep);

	if (rc)
		return rc;
	if (reply_failed(&rep))
		rc = report(&rep, what);
	else if (verbose && rep.message[0])
		printf("%s\n", rep.message);
	fm_proto_reply_free(&rep);
	return rc;
}

/* ---- Tables, Windows style --------------------------------------------------------------- */

struct colspec {
	unsigned int width; /* the width of Windows' dashed rule */
	bool right;
};

static void print_table(const struct fm_reply *rep, const struct colspec *spec, size_t nspec)
{
	unsigned int w[FM_PROTO_MAX_COLS] = {0};
	size_t nc = rep->ncols;

	if (!nc || !rep->nrows)
		return;
	for (size_t c = 0; c < nc; c++) {
		w[c] = c < nspec ? spec[c].width : 0;
		for (size_t r = 0; r < rep->nrows; r++) {
			size_t l = strlen(rep->cells[r * nc + c]);

			if (l > w[c])
				w[c] = (unsigned int)l;
		}
	}
	/* Windows prints a blank line before the header. */
	putchar('\n');
	for (size_t r = 0; r < rep->nrows; r++) {
		char line[4096];
		size_t pos = 0;

		for (size_t c = 0; c < nc && pos < sizeof(line); c++) {
			const char *cell = rep->cells[r * nc + c];
			bool right = r > 0 && c < nspec && spec[c].right;
			int n = snprintf(line + pos, sizeof(line) - pos, "%s%*s", c ? "  " : "",
					 right ? (int)w[c] : -(int)w[c], cell);

			pos += n > 0 ? (size_t)n : 0;
		}
		if (pos >= sizeof(line))
			pos = sizeof(line) - 1;
		while (pos && line[pos - 1] == ' ')
			pos--;
		line[pos] = '\0';
		puts(line);
		if (r == 0) {
			for (size_t c = 0; c < nc; c++) {
				if (c)
					fputs("  ", stdout);
				for (unsigned int i = 0; i < w[c]; i++)
					putchar('-');
			}
			putchar('\n');
		}
	}
}

static int list(const struct fm_request *req, const char *what, const struct colspec *spec,
		size_t nspec)
{
	struct fm_reply rep;
	int rc = transact(req, &rep);

	if (rc)
		return rc;
	if (reply_failed(&rep))
		rc = report(&rep, what);
	else
		print_table(&rep, spec, nspec);
	fm_proto_reply_free(&rep);
	return rc;
}

/* ---- Verbs --------------------------------------------------------------------------------- */

static bool is_help(const char *a)
{
	return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "-?") == 0;
}

static int run_load(const struct verb *v, int argc, char **argv)
{
	struct fm_request req = {.type = FM_MSG_LOAD};
	char what[200];

	if (argc != 1 || argv[0][0] == '-')
		return usage_error(v, "expected one service name");
	req.service = argv[0];
	snprintf(what, sizeof(what), "load %s failed", argv[0]);
	return simple(&req, what, false);
}

static int run_unload(const struct verb *v, int argc, char **argv)
{
	struct fm_request req = {.type = FM_MSG_UNLOAD};
	char what[200];

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--mandatory") == 0 || strcmp(argv[i], "-m") == 0)
			req.flags = 1;
		else if (argv[i][0] == '-')
			return usage_error(v, "unknown option %s", argv[i]);
		else if (req.service)
			return usage_error(v, "unexpected argument %s", argv[i]);
		else
			req.service = argv[i];
	}
	if (!req.service)
		return usage_error(v, "expected a service name");
	snprintf(what, sizeof(what), "unload %s failed", req.service);
	return simple(&req, what, false);
}

static int run_attach(const struct verb *v, int argc, char **argv)
{
	struct fm_request req = {.type = FM_MSG_ATTACH, .instance = "", .altitude = ""};
	char what[300];

	for (int i = 0; i < argc; i++) {
		if ((strcmp(argv[i], "-i") == 0 || strcmp(argv[i], "-a") == 0) && i + 1 < argc) {
			if (argv[i][1] == 'i')
				req.instance = argv[++i];
			else
				req.altitude = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage_error(v, "unknown option %s", argv[i]);
		} else if (!req.filter) {
			req.filter = argv[i];
		} else if (!req.volume) {
			req.volume = argv[i];
		} else {
			return usage_error(v, "unexpected argument %s", argv[i]);
		}
	}
	if (!req.filter || !req.volume)
		return usage_error(v, "expected a filter name and a volume");
	snprintf(what, sizeof(what), "attach %s %s failed", req.filter, req.volume);
	return simple(&req, what, true);
}

static int run_detach(const struct verb *v, int argc, char **argv)
{
	struct fm_request req = {.type = FM_MSG_DETACH};
	char what[300];

	if (argc < 2 || argc > 3)
		return usage_error(v,
				   "expected a filter name, a volume and optionally an instance");
	req.filter = argv[0];
	req.volume = argv[1];
	req.instance = argc == 3 ? argv[2] : "";
	snprintf(what, sizeof(what), "detach %s %s failed", req.filter, req.volume);
	return simple(&req, what, true);
}

static int run_filters(const struct verb *v, int argc, char **argv)
{
	static const struct colspec spec[] = {{30, false}, {13, true}, {12, true}, {5, true}};
	struct fm_request req = {.type = FM_MSG_LIST_FILTERS};

	if (argc)
		return usage_error(v, "unexpected argument %s", argv[0]);
	return list(&req, "filters failed", spec, 4);
}

static int run_instances(const struct verb *v, int argc, char **argv)
{
	static const struct colspec spec[] = {
	    {20, false}, {37, false}, {12, true}, {22, false}, {5, true}};
	struct fm_request req = {.type = FM_MSG_LIST_INSTANCES, .filter = "", .volume = ""};

	for (int i = 0; i < argc; i++) {
		if ((strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "-v") == 0) && i + 1 < argc) {
			if (argv[i][1] == 'f')
				req.filter = argv[++i];
			else
				req.volume = argv[++i];
		} else {
			return usage_error(v, "unexpected argument %s", argv[i]);
		}
	}
	return list(&req, "instances failed", spec, 5);
}

static int run_volumes(const struct verb *v, int argc, char **argv)
{
	static const struct colspec spec[] = {
	    {30, false}, {39, false}, {10, false}, {8, false}, {0, false}};
	struct fm_request req = {.type = FM_MSG_LIST_VOLUMES};

	if (argc)
		return usage_error(v, "unexpected argument %s", argv[0]);
	return list(&req, "volumes failed", spec, 5);
}

/* An absolute form of a path, without resolving it (the daemon resolves and reports). */
static const char *absolute(const char *p, char *buf, size_t cap)
{
	char cwd[PATH_MAX];

	if (p[0] == '/' || p[0] == '\\')
		return p;
	if (!getcwd(cwd, sizeof(cwd)) || (size_t)snprintf(buf, cap, "%s/%s", cwd, p) >= cap)
		return p;
	return buf;
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int run_register(const struct verb *v, int argc, char **argv)
{
	struct fm_request req = {.type = FM_MSG_REGISTER, .instance = ""};
	char img[PATH_MAX], what[200];
	const char *pos[2] = {NULL, NULL};
	int npos = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if ((strcmp(a, "--altitude") == 0 || strcmp(a, "-a") == 0) && i + 1 < argc) {
			req.altitude = argv[++i];
		} else if ((strcmp(a, "--instance") == 0 || strcmp(a, "-i") == 0) && i + 1 < argc) {
			req.instance = argv[++i];
		} else if (strcmp(a, "--flags") == 0 && i + 1 < argc) {
			if (parse_u32(argv[++i], &req.flags))
				return usage_error(v, "bad --flags value %s", argv[i]);
		} else if (a[0] == '-') {
			return usage_error(v, "unknown option or missing value: %s", a);
		} else if (npos < 2) {
			pos[npos++] = a;
		} else {
			return usage_error(v, "unexpected argument %s", a);
		}
	}
	if (npos != 2)
		return usage_error(v, "expected a service name and an image path");
	if (!req.altitude)
		return usage_error(v, "--altitude is required");
	req.service = pos[0];
	/* ImagePath is stored absolute so the daemon finds it whatever its cwd. */
	if (!realpath(pos[1], img))
		absolute(pos[1], img, sizeof(img));
	req.image = img;
	snprintf(what, sizeof(what), "register %s failed", pos[0]);
	return simple(&req, what, true);
}

static int run_set(const struct verb *v, int argc, char **argv)
{
	struct fm_request req = {.type = FM_MSG_SET_VALUE};
	char svc[256], what[300];
	char *slash;
	void *data = NULL;
	size_t len = 0;
	uint32_t type;
	int rc;

	if (argc < 3)
		return usage_error(v, "expected <service>[\\subkey] <name> <type> <value...>");
	if (snprintf(svc, sizeof(svc), "%s", argv[0]) >= (int)sizeof(svc))
		return usage_error(v, "key path too long: %s", argv[0]);
	slash = strchr(svc, '\\');
	req.key = "";
	if (slash) {
		*slash = '\0';
		req.key = slash + 1;
	}
	req.service = svc;
	req.name = argv[1];
	if (fm_reg_type_from_name(argv[2], &type))
		return usage_error(v,
				   "unknown type %s (sz, expand_sz, multi_sz, dword, qword, "
				   "binary)",
				   argv[2]);
	if (type != FM_REG_MULTI_SZ && argc != 4)
		return usage_error(v, "type %s takes exactly one value", argv[2]);
	rc = fm_reg_encode(type, (const char *const *)argv + 3, (size_t)argc - 3, &data, &len);
	if (rc)
		return usage_error(v, "bad value for type %s", argv[2]);
	req.vtype = type;
	req.data = data;
	req.data_len = (uint32_t)len;
	snprintf(what, sizeof(what), "set %s %s failed", argv[0], argv[1]);
	rc = simple(&req, what, true);
	fm_free(data);
	return rc;
}

static int run_uninstall(const struct verb *v, int argc, char **argv)
{
	struct fm_request req = {.type = FM_MSG_UNINSTALL};
	char what[200];

	if (argc != 1 || argv[0][0] == '-')
		return usage_error(v, "expected one service name");
	req.service = argv[0];
	snprintf(what, sizeof(what), "uninstall %s failed", argv[0]);
	return simple(&req, what, true);
}

static int run_verifier(const struct verb *v, int argc, char **argv)
{
	char *args[4];

	if (argc != 2 || (strcasecmp(argv[0], "on") != 0 && strcasecmp(argv[0], "off") != 0))
		return usage_error(v, "expected on|off <filter>");
	/* The switch is the Verifier value of the service key, read when the filter loads. */
	args[0] = argv[1];
	args[1] = (char *)"Verifier";
	args[2] = (char *)"dword";
	args[3] = (char *)(strcasecmp(argv[0], "on") == 0 ? "1" : "0");
	if (run_set(v, 4, args))
		return 1;
	printf("verifier %s for %s: takes effect the next time it loads\n", argv[0], argv[1]);
	return 0;
}

static int run_mount(const struct verb *v, int argc, char **argv)
{
	struct fm_request req = {.type = FM_MSG_MOUNT, .mount_point = "", .fs_type = ""};
	char b[PATH_MAX], m[PATH_MAX], what[PATH_MAX + 32];
	const char *pos[2] = {NULL, NULL};
	int npos = 0;

	for (int i = 0; i < argc; i++) {
		if ((strcmp(argv[i], "--fs-type") == 0 || strcmp(argv[i], "-t") == 0) &&
		    i + 1 < argc)
			req.fs_type = argv[++i];
		else if (argv[i][0] == '-')
			return usage_error(v, "unknown option or missing value: %s", argv[i]);
		else if (npos < 2)
			pos[npos++] = argv[i];
		else
			return usage_error(v, "unexpected argument %s", argv[i]);
	}
	if (npos == 0)
		return usage_error(v, "expected a backing directory");
	req.backing = absolute(pos[0], b, sizeof(b));
	if (pos[1])
		req.mount_point = absolute(pos[1], m, sizeof(m));
	snprintf(what, sizeof(what), "mount %s failed", pos[0]);
	return simple(&req, what, true);
}

static int run_unmount(const struct verb *v, int argc, char **argv)
{
	struct fm_request req = {.type = FM_MSG_UNMOUNT};
	char t[PATH_MAX], what[PATH_MAX + 32];

	if (argc != 1 || (argv[0][0] == '-' && argv[0][1]))
		return usage_error(v, "expected a mount point, backing directory or volume name");
	req.target = absolute(argv[0], t, sizeof(t));
	snprintf(what, sizeof(what), "unmount %s failed", argv[0]);
	return simple(&req, what, true);
}

static int run_ping(const struct verb *v, int argc, char **argv)
{
	struct fm_request req = {.type = FM_MSG_PING};

	if (argc)
		return usage_error(v, "unexpected argument %s", argv[0]);
	return simple(&req, "ping failed", true);
}

/* Read a whole (small) text file into an fm_malloc'ed NUL-terminated buffer. */
static char *slurp(const char *path, char *err, size_t cap)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n = 0;

	if (!f) {
		snprintf(err, cap, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = fm_malloc(1u << 20);
	if (buf) {
		n = fread(buf, 1, (1u << 20) - 1, f);
		if (!feof(f)) {
			snprintf(err, cap, "%s: larger than 1 MiB or unreadable", path);
			fm_free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
		}
	} else {
		snprintf(err, cap, "out of memory");
	}
	fclose(f);
	return buf;
}

/* The image for an INF's ServiceBinary "%12%\name.sys": name.so beside the INF. */
static void default_image(const char *inf, const char *binary, char *out, size_t cap)
{
	const char *base = binary ? binary : "";
	const char *slash = strrchr(inf, '/');
	size_t dl = slash ? (size_t)(slash - inf) : 1;
	size_t bl;

	for (const char *p = base; *p; p++)
		if (*p == '\\' || *p == '/')
			base = p + 1;
	bl = strlen(base);
	if (bl > 4 && strcasecmp(base + bl - 4, ".sys") == 0)
		bl -= 4;
	snprintf(out, cap, "%.*s/%.*s.so", (int)dl, slash ? inf : ".", (int)bl, base);
}

static int run_install(const struct verb *v, int argc, char **argv)
{
	struct fm_request req = {.type = FM_MSG_REGISTER};
	struct fm_inf_service svc;
	const char *inf = NULL, *image = NULL;
	char err[300], img[PATH_MAX], guess[PATH_MAX], what[300];
	char *text;
	bool registered;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--image") == 0 && i + 1 < argc)
			image = argv[++i];
		else if (argv[i][0] == '-')
			return usage_error(v, "unknown option or missing value: %s", argv[i]);
		else if (!inf)
			inf = argv[i];
		else
			return usage_error(v, "unexpected argument %s", argv[i]);
	}
	if (!inf)
		return usage_error(v, "expected an INF file");
	text = slurp(inf, err, sizeof(err));
	if (!text) {
		fprintf(stderr, "fltmc: install failed: %s\n", err);
		return 1;
	}
	rc = fm_inf_parse(text, &svc, err, sizeof(err));
	fm_free(text);
	if (rc) {
		fprintf(stderr, "fltmc: install failed: %s: %s\n", inf,
			rc == -EINVAL ? err : strerror(-rc));
		return 1;
	}
	if (!image) {
		default_image(inf, svc.binary, guess, sizeof(guess));
		image = guess;
	}
	if (!realpath(image, img)) {
		fprintf(stderr, "fltmc: install failed: image %s: %s (use --image)\n", image,
			strerror(errno));
		fm_inf_free(&svc);
		return 1;
	}
	req.service = svc.name;
	req.image = img;
	req.altitude = svc.altitude;
	req.instance = svc.default_instance;
	req.flags = svc.flags;
	snprintf(what, sizeof(what), "install %s failed", svc.name);
	rc = simple(&req, what, false);
	registered = rc == 0;
	/* Then every value the INF's AddReg sections write under the service key. */
	for (size_t i = 0; i < svc.nvalues && rc == 0; i++) {
		struct fm_request sv = {.type = FM_MSG_SET_VALUE,
					.service = svc.name,
					.key = svc.values[i].subkey,
					.name = svc.values[i].name,
					.vtype = svc.values[i].type,
					.data = svc.values[i].data,
					.data_len = (uint32_t)svc.values[i].len};

		rc = simple(&sv, what, false);
	}
	if (rc && registered) {
		/* Nothing half-installed: take the service key away again. */
		struct fm_request un = {.type = FM_MSG_UNINSTALL, .service = svc.name};
		struct fm_reply rep;

		if (transact(&un, &rep) == 0)
			fm_proto_reply_free(&rep);
	}
	if (rc == 0)
		printf("installed %s from %s: image %s, instance \"%s\" at altitude %s, %zu "
		       "values%s\n",
		       svc.name, inf, img, svc.default_instance, svc.altitude, svc.nvalues,
		       svc.skipped ? " (some AddReg lines outside HKR skipped)" : "");
	fm_inf_free(&svc);
	return rc;
}

static int run_help(const struct verb *v, int argc, char **argv);

static const struct verb verbs[] = {
    {"load", "<service>", "Load the minifilter registered as <service> (FltLoadFilter).", run_load},
    {"unload", "<service> [--mandatory]",
     "Unload a minifilter; --mandatory unloads even if it refuses.", run_unload},
    {"filters", "", "List loaded minifilters.", run_filters},
    {"attach", "<filter> <volume> [-i <instance>] [-a <altitude>]",
     "Attach a filter instance to a volume (mount point, backing dir or device name).", run_attach},
    {"detach", "<filter> <volume> [<instance>]",
     "Detach an instance; the filter's query-teardown routine may refuse.", run_detach},
    {"instances", "[-f <filter>] [-v <volume>]",
     "List instances, optionally of one filter and/or on one volume.", run_instances},
    {"volumes", "", "List filtered volumes (FUSE mounts) and their backing directories.",
     run_volumes},
    {"register", "<service> <image.so> --altitude <n> [--instance <name>] [--flags <n>]",
     "Install a minifilter's service key (ImagePath, Type, Start, default instance).",
     run_register},
    {"install", "<file.inf> [--image <image.so>]",
     "Install a minifilter from its INF (AddService, AddReg under HKR); the image defaults "
     "to the ServiceBinary's name with .so, beside the INF.",
     run_install},
    {"set", "<service>[\\subkey] <name> <sz|expand_sz|multi_sz|dword|qword|binary> <value...>",
     "Write a registry value under a service key (a filter's own parameters).", run_set},
    {"mount", "<backing-dir> [<mount-point>] [--fs-type NTFS|FAT|EXFAT|REFS|...]",
     "Mount a filtered volume (by default over the backing directory itself).", run_mount},
    {"unmount", "<mount-point|backing-dir|\\Device\\HarddiskVolumeN>", "Unmount a filtered volume.",
     run_unmount},
    {"uninstall", "<service>", "Remove a minifilter's service key (it must not be loaded).",
     run_uninstall},
    {"verifier", "on|off <filter>",
     "Switch the verifier for a filter (leak and misuse reports with backtraces); it applies "
     "from the filter's next load.",
     run_verifier},
    {"ping", "", "Check that fltmgrd is running.", run_ping},
    {"help", "[<verb>]", "List the verbs, or show one verb's usage.", run_help},
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static const struct verb *find_verb(const char *name)
{
	for (size_t i = 0; i < NVERBS; i++)
		if (strcasecmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

static void print_help(FILE *f)
{
	fprintf(f, "usage: fltmc [--root DIR] <verb> [args]   (default root " DEFAULT_ROOT ")\n\n"
		   "Valid commands:\n");
	for (size_t i = 0; i < NVERBS; i++)
		fprintf(f, "    %-10s %s\n", verbs[i].name, verbs[i].help);
	fprintf(f, "\nUse fltmc help <verb> or fltmc <verb> --help for details.\n");
}

static int run_help(const struct verb *v, int argc, char **argv)
{
	const struct verb *w;

	if (argc == 0) {
		print_help(stdout);
		return 0;
	}
	w = find_verb(argv[0]);
	if (!w || argc > 1)
		return usage_error(v, "unknown verb %s", argv[0]);
	verb_usage(w, stdout);
	return 0;
}

int main(int argc, char **argv)
{
	const struct verb *v;
	int i = 1;

	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) {
			root = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--root=", 7) == 0) {
			root = argv[i] + 7;
			i++;
		} else if (is_help(argv[i])) {
			print_help(stdout);
			return 0;
		} else {
			fprintf(stderr, "fltmc: unknown option %s\n", argv[i]);
			print_help(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		print_help(stderr);
		return 2;
	}
	v = find_verb(argv[i]);
	if (!v) {
		fprintf(stderr, "fltmc: unknown verb \"%s\"\n", argv[i]);
		print_help(stderr);
		return 2;
	}
	for (int j = i + 1; j < argc; j++) {
		if (is_help(argv[j]) && v->run != run_help) {
			verb_usage(v, stdout);
			return 0;
		}
	}
	return v->run(v, argc - i - 1, argv + i + 1);
}
