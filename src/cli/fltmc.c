/* fltmc: the filter manager control program; Windows verbs and output, plus Linux verbs. */
#include "cli/inf.h"
#include "common/alloc.h"
#include "common/deadmount.h"
#include "core/registry.h"
#include "lib/fltlib_ext.h"
#include "lib/portwire.h"
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

/* ---- Talking to the daemon ----------------------------------------------------------------
 * The Windows verbs call libfltlib's FltLib routines; the Linux verbs, which have none, send
 * their request through libfltlib's one control exchange (fm_fltlib_control).  Either way the
 * daemon's own status and message are at hand (fm_fltlib_last_status) for error lines.
 */

/* The exchange got no reply: print why (as "cannot reach" or "no valid reply"); returns 1. */
static int report_unreached(const struct fm_fltlib_status *st, HRESULT hr, const char *what)
{
	if (st->no_reply_connect)
		fprintf(stderr, "fltmc: cannot reach fltmgrd at %s: %s\n", st->socket,
			strerror(st->sys_errno));
	else if (st->sys_errno && st->socket[0])
		fprintf(stderr, "fltmc: no valid reply from fltmgrd at %s: %s\n", st->socket,
			strerror(st->sys_errno));
	else
		fprintf(stderr, "fltmc: %s: 0x%08x: %s\n", what, (unsigned int)hr,
			fm_fltlib_hresult_text(hr));
	return 1;
}

/*
 * Print a failure as one line on stderr; returns the exit status.  The daemon's status comes
 * first (the NTSTATUS name is what scripts grep for), then its explanation, then, for a
 * libfltlib routine (hr != S_OK), the HRESULT it returned and what that means.
 */
static int report(const struct fm_fltlib_status *st, HRESULT hr, const char *what)
{
	char text[160], hrtext[256] = "";

	if (!st->reached)
		return report_unreached(st, hr, what);
	if (hr != S_OK)
		snprintf(hrtext, sizeof(hrtext), " (HRESULT 0x%08x: %s)", (unsigned int)hr,
			 fm_fltlib_hresult_text(hr));
	if (st->status >= 0) {
		/* The daemon was content; the library refused (a bad name, an entry too big). */
		fprintf(stderr, "fltmc: %s: 0x%08x: %s\n", what, (unsigned int)hr,
			fm_fltlib_hresult_text(hr));
		return 1;
	}
	fm_proto_status_text(st->kind, st->status, text, sizeof(text));
	if (st->message[0] && st->kind == FM_STATUS_NT)
		fprintf(stderr, "fltmc: %s: %s: %s%s\n", what, text, st->message, hrtext);
	else if (st->message[0])
		fprintf(stderr, "fltmc: %s: %s: %s%s\n", what, st->message, text, hrtext);
	else
		fprintf(stderr, "fltmc: %s: %s%s\n", what, text, hrtext);
	return 1;
}

/* After a libfltlib routine: report a failure, or print the daemon's message if `verbose`. */
static int finish(HRESULT hr, const char *what, bool verbose)
{
	struct fm_fltlib_status st;

	fm_fltlib_last_status(&st);
	if (FAILED(hr))
		return report(&st, hr, what);
	if (verbose && st.reached && st.message[0])
		printf("%s\n", st.message);
	return 0;
}

/* Whether a daemon accepts connections on the root's control socket. */
static bool daemon_listening(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	bool up;
	int fd;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", root, FM_PROTO_SOCKET) >=
	    sizeof(sa.sun_path))
		return false;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	up = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return up;
}

/* Send a request with no FltLib routine and receive its reply; on failure print why and
 * return 1. */
static int transact(const struct fm_request *req, struct fm_reply *rep, const char *what)
{
	struct fm_fltlib_status st;
	HRESULT hr = fm_fltlib_control(req, rep);

	if (SUCCEEDED(hr))
		return 0;
	fm_fltlib_last_status(&st);
	return report_unreached(&st, hr, what);
}

/* Run a request whose reply is a status and a message; print the message if `verbose`. */
static int simple(const struct fm_request *req, const char *what, bool verbose)
{
	struct fm_fltlib_status st;
	struct fm_reply rep;
	int rc = transact(req, &rep, what);

	if (rc)
		return rc;
	fm_fltlib_last_status(&st);
	/* NTSTATUS errors and warnings have the top bit set; errno statuses are negative. */
	if (rep.status < 0)
		rc = report(&st, S_OK, what);
	else if (verbose && rep.message[0])
		printf("%s\n", rep.message);
	fm_proto_reply_free(&rep);
	return rc;
}

/* A command-line string as the UTF-16 a FltLib routine takes; NULL for NULL or "" when
 * `optional`.  Exits with a usage-like error when it does not fit. */
static LPCWSTR wide(const char *s, WCHAR *out, size_t cap, bool optional)
{
	size_t n;

	if (!s || (optional && !*s))
		return NULL;
	n = fm_pw_utf8_to_utf16(s, (uint16_t *)out, cap);
	if (n >= cap) {
		fprintf(stderr, "fltmc: name too long: %s\n", s);
		exit(2);
	}
	out[n] = 0;
	return out;
}

/* UTF-16 of n bytes at base + offset -> UTF-8 in out. */
static void narrow(const void *base, size_t offset, size_t bytes, char *out, size_t cap)
{
	out[0] = '\0';
	if (bytes)
		fm_pw_utf16_to_utf8((const uint16_t *)((const char *)base + offset),
				    bytes / sizeof(WCHAR), out, cap);
}

/* ---- Tables, Windows style --------------------------------------------------------------- */

struct colspec {
	unsigned int width; /* the width of Windows' dashed rule */
	bool right;
};

/* A table being built: the header is row 0. */
struct table {
	size_t ncols, nrows, cap;
	char **cells;
};

static void table_row(struct table *t, const char *const *row)
{
	if ((t->nrows + 1) * t->ncols > t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64 * t->ncols;
		char **nc = realloc(t->cells, ncap * sizeof(*nc));

		if (!nc) {
			fprintf(stderr, "fltmc: out of memory\n");
			exit(1);
		}
		t->cells = nc;
		t->cap = ncap;
	}
	for (size_t c = 0; c < t->ncols; c++) {
		char *d = strdup(row[c] ? row[c] : "");

		if (!d) {
			fprintf(stderr, "fltmc: out of memory\n");
			exit(1);
		}
		t->cells[t->nrows * t->ncols + c] = d;
	}
	t->nrows++;
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
}

static void print_table(const struct table *t, const struct colspec *spec, size_t nspec)
{
	unsigned int w[FM_PROTO_MAX_COLS] = {0};
	size_t nc = t->ncols;

	if (!nc || !t->nrows)
		return;
	for (size_t c = 0; c < nc; c++) {
		w[c] = c < nspec ? spec[c].width : 0;
		for (size_t r = 0; r < t->nrows; r++) {
			size_t l = strlen(t->cells[r * nc + c]);

			if (l > w[c])
				w[c] = (unsigned int)l;
		}
	}
	/* Windows prints a blank line before the header. */
	putchar('\n');
	for (size_t r = 0; r < t->nrows; r++) {
		char line[4096];
		size_t pos = 0;

		for (size_t c = 0; c < nc && pos < sizeof(line); c++) {
			const char *cell = t->cells[r * nc + c];
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

/* An enumeration buffer; entries that do not fit make it grow (ERROR_INSUFFICIENT_BUFFER
 * returns the same entry again, with the size it needs). */
struct enum_buf {
	void *p;
	DWORD size;
};

static bool enum_grow(struct enum_buf *eb, DWORD size)
{
	void *p = realloc(eb->p, size);

	if (!p)
		return false;
	eb->p = p;
	eb->size = size;
	return true;
}

/* Whether a FindFirst/FindNext that returned hr needing `need` bytes should be called again. */
static bool retry_bigger(HRESULT hr, DWORD need, struct enum_buf *eb)
{
	return hr == HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER) && need > eb->size &&
	       enum_grow(eb, need);
}

/* The end of an enumeration is not an error. */
static bool enum_end(HRESULT hr)
{
	return hr == HRESULT_FROM_WIN32(ERROR_NO_MORE_ITEMS);
}

static const char *fs_type_name(FLT_FILESYSTEM_TYPE t)
{
	switch (t) {
	case FLT_FSTYPE_NTFS:
		return "NTFS";
	case FLT_FSTYPE_FAT:
		return "FAT";
	case FLT_FSTYPE_EXFAT:
		return "EXFAT";
	case FLT_FSTYPE_REFS:
		return "REFS";
	case FLT_FSTYPE_CDFS:
		return "CDFS";
	case FLT_FSTYPE_UDFS:
		return "UDFS";
	case FLT_FSTYPE_RAW:
		return "RAW";
	default:
		return "Unknown";
	}
}

/* ---- Verbs --------------------------------------------------------------------------------- */

static bool is_help(const char *a)
{
	return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "-?") == 0;
}

static int run_load(const struct verb *v, int argc, char **argv)
{
	WCHAR name[256];
	char what[200];

	if (argc != 1 || argv[0][0] == '-')
		return usage_error(v, "expected one service name");
	snprintf(what, sizeof(what), "load %s failed", argv[0]);
	return finish(FilterLoad(wide(argv[0], name, 256, false)), what, false);
}

static int run_unload(const struct verb *v, int argc, char **argv)
{
	const char *service = NULL;
	DWORD flags = 0;
	WCHAR name[256];
	char what[200];

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--mandatory") == 0 || strcmp(argv[i], "-m") == 0)
			flags = 1;
		else if (argv[i][0] == '-')
			return usage_error(v, "unknown option %s", argv[i]);
		else if (service)
			return usage_error(v, "unexpected argument %s", argv[i]);
		else
			service = argv[i];
	}
	if (!service)
		return usage_error(v, "expected a service name");
	snprintf(what, sizeof(what), "unload %s failed", service);
	/* --mandatory has no FilterUnload parameter: libfltlib's extension carries it. */
	return finish(flags ? fm_fltlib_unload(wide(service, name, 256, false), flags)
			    : FilterUnload(wide(service, name, 256, false)),
		      what, false);
}

static int run_attach(const struct verb *v, int argc, char **argv)
{
	const char *filter = NULL, *volume = NULL, *instance = "", *altitude = "";
	WCHAR f[256], vol[1024], inst[256], alt[64], created[INSTANCE_NAME_MAX_CHARS + 1];
	char what[300];
	HRESULT hr;

	for (int i = 0; i < argc; i++) {
		if ((strcmp(argv[i], "-i") == 0 || strcmp(argv[i], "-a") == 0) && i + 1 < argc) {
			if (argv[i][1] == 'i')
				instance = argv[++i];
			else
				altitude = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage_error(v, "unknown option %s", argv[i]);
		} else if (!filter) {
			filter = argv[i];
		} else if (!volume) {
			volume = argv[i];
		} else {
			return usage_error(v, "unexpected argument %s", argv[i]);
		}
	}
	if (!filter || !volume)
		return usage_error(v, "expected a filter name and a volume");
	snprintf(what, sizeof(what), "attach %s %s failed", filter, volume);
	if (altitude[0])
		hr = FilterAttachAtAltitude(
		    wide(filter, f, 256, false), wide(volume, vol, 1024, false),
		    wide(altitude, alt, 64, false), wide(instance, inst, 256, true),
		    sizeof(created), created);
	else
		hr = FilterAttach(wide(filter, f, 256, false), wide(volume, vol, 1024, false),
				  wide(instance, inst, 256, true), sizeof(created), created);
	return finish(hr, what, true);
}

static int run_detach(const struct verb *v, int argc, char **argv)
{
	WCHAR f[256], vol[1024], inst[256];
	char what[300];

	if (argc < 2 || argc > 3)
		return usage_error(v,
				   "expected a filter name, a volume and optionally an instance");
	snprintf(what, sizeof(what), "detach %s %s failed", argv[0], argv[1]);
	return finish(FilterDetach(wide(argv[0], f, 256, false), wide(argv[1], vol, 1024, false),
				   wide(argc == 3 ? argv[2] : "", inst, 256, true)),
		      what, true);
}

static int run_filters(const struct verb *v, int argc, char **argv)
{
	static const struct colspec spec[] = {{30, false}, {13, true}, {12, true}, {5, true}};
	static const char *const head[] = {"Filter Name", "Num Instances", "Altitude", "Frame"};
	struct table t = {.ncols = 4};
	struct enum_buf eb = {0};
	HANDLE h = INVALID_HANDLE_VALUE;
	DWORD ret = 0;
	HRESULT hr;
	int rc = 0;

	if (argc)
		return usage_error(v, "unexpected argument %s", argv[0]);
	if (!enum_grow(&eb, 4096))
		return finish(E_OUTOFMEMORY, "filters failed", false);
	table_row(&t, head);
	for (;;) {
		PFILTER_AGGREGATE_STANDARD_INFORMATION si;
		char name[512], alt[128], num[16], frame[16];
		const char *row[4] = {name, num, alt, frame};

		do {
			hr = h == INVALID_HANDLE_VALUE
				 ? FilterFindFirst(FilterAggregateStandardInformation, eb.p,
						   eb.size, &ret, &h)
				 : FilterFindNext(h, FilterAggregateStandardInformation, eb.p,
						  eb.size, &ret);
		} while (retry_bigger(hr, ret, &eb));
		if (FAILED(hr))
			break;
		si = eb.p;
		narrow(si, si->Type.MiniFilter.FilterNameBufferOffset,
		       si->Type.MiniFilter.FilterNameLength, name, sizeof(name));
		narrow(si, si->Type.MiniFilter.FilterAltitudeBufferOffset,
		       si->Type.MiniFilter.FilterAltitudeLength, alt, sizeof(alt));
		snprintf(num, sizeof(num), "%lu",
			 (unsigned long)si->Type.MiniFilter.NumberOfInstances);
		snprintf(frame, sizeof(frame), "%lu", (unsigned long)si->Type.MiniFilter.FrameID);
		table_row(&t, row);
	}
	if (h != INVALID_HANDLE_VALUE)
		FilterFindClose(h);
	if (enum_end(hr))
		print_table(&t, spec, 4);
	else
		rc = finish(hr, "filters failed", false);
	table_free(&t);
	free(eb.p);
	return rc;
}

/*
 * Add the rows of one instance enumeration: of a filter (FilterInstanceFindFirst) or, when
 * volume is set, of a volume (FilterVolumeInstanceFindFirst), keeping only `only_filter`'s.
 * Returns the final HRESULT (ERROR_NO_MORE_ITEMS at a normal end).
 */
static HRESULT instance_rows(struct table *t, struct enum_buf *eb, const char *filter,
			     const char *volume, const char *only_filter)
{
	WCHAR name[1024];
	HANDLE h = INVALID_HANDLE_VALUE;
	DWORD ret = 0;
	HRESULT hr;

	for (;;) {
		PINSTANCE_AGGREGATE_STANDARD_INFORMATION ia;
		char f[512], vol[2048], alt[128], inst[512], frame[16];
		const char *row[5] = {f, vol, alt, inst, frame};

		do {
			if (h != INVALID_HANDLE_VALUE)
				hr = volume ? FilterVolumeInstanceFindNext(
						  h, InstanceAggregateStandardInformation, eb->p,
						  eb->size, &ret)
					    : FilterInstanceFindNext(
						  h, InstanceAggregateStandardInformation, eb->p,
						  eb->size, &ret);
			else if (volume)
				hr = FilterVolumeInstanceFindFirst(
				    wide(volume, name, 1024, false),
				    InstanceAggregateStandardInformation, eb->p, eb->size, &ret,
				    &h);
			else
				hr = FilterInstanceFindFirst(wide(filter, name, 1024, false),
							     InstanceAggregateStandardInformation,
							     eb->p, eb->size, &ret, &h);
		} while (retry_bigger(hr, ret, eb));
		if (FAILED(hr))
			break;
		ia = eb->p;
		narrow(ia, ia->Type.MiniFilter.FilterNameBufferOffset,
		       ia->Type.MiniFilter.FilterNameLength, f, sizeof(f));
		narrow(ia, ia->Type.MiniFilter.VolumeNameBufferOffset,
		       ia->Type.MiniFilter.VolumeNameLength, vol, sizeof(vol));
		narrow(ia, ia->Type.MiniFilter.AltitudeBufferOffset,
		       ia->Type.MiniFilter.AltitudeLength, alt, sizeof(alt));
		narrow(ia, ia->Type.MiniFilter.InstanceNameBufferOffset,
		       ia->Type.MiniFilter.InstanceNameLength, inst, sizeof(inst));
		snprintf(frame, sizeof(frame), "%lu", (unsigned long)ia->Type.MiniFilter.FrameID);
		if (!only_filter || strcasecmp(only_filter, f) == 0)
			table_row(t, row);
	}
	if (h != INVALID_HANDLE_VALUE) {
		if (volume)
			FilterVolumeInstanceFindClose(h);
		else
			FilterInstanceFindClose(h);
	}
	return hr;
}

static int run_instances(const struct verb *v, int argc, char **argv)
{
	static const struct colspec spec[] = {
	    {20, false}, {37, false}, {12, true}, {22, false}, {5, true}};
	static const char *const head[] = {"Filter", "Volume Name", "Altitude", "Instance Name",
					   "Frame"};
	const char *filter = NULL, *volume = NULL;
	struct table t = {.ncols = 5};
	struct enum_buf eb = {0};
	HRESULT hr;
	int rc = 0;

	for (int i = 0; i < argc; i++) {
		if ((strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "-v") == 0) && i + 1 < argc) {
			if (argv[i][1] == 'f')
				filter = argv[++i];
			else
				volume = argv[++i];
		} else {
			return usage_error(v, "unexpected argument %s", argv[i]);
		}
	}
	if (filter && !*filter)
		filter = NULL;
	if (volume && !*volume)
		volume = NULL;
	if (!enum_grow(&eb, 4096))
		return finish(E_OUTOFMEMORY, "instances failed", false);
	table_row(&t, head);
	if (volume || filter) {
		hr = instance_rows(&t, &eb, filter, volume, volume ? filter : NULL);
	} else {
		/* Every filter's instances, filter by filter, as Windows lists them. */
		HANDLE h = INVALID_HANDLE_VALUE;
		DWORD ret = 0;

		for (;;) {
			PFILTER_FULL_INFORMATION fi;
			char name[512];

			do {
				hr = h == INVALID_HANDLE_VALUE
					 ? FilterFindFirst(FilterFullInformation, eb.p, eb.size,
							   &ret, &h)
					 : FilterFindNext(h, FilterFullInformation, eb.p, eb.size,
							  &ret);
			} while (retry_bigger(hr, ret, &eb));
			if (FAILED(hr))
				break;
			fi = eb.p;
			narrow(fi, FIELD_OFFSET(FILTER_FULL_INFORMATION, FilterNameBuffer),
			       fi->FilterNameLength, name, sizeof(name));
			hr = instance_rows(&t, &eb, name, NULL, NULL);
			if (FAILED(hr) && !enum_end(hr))
				break;
		}
		if (h != INVALID_HANDLE_VALUE)
			FilterFindClose(h);
	}
	if (enum_end(hr))
		print_table(&t, spec, 5);
	else
		rc = finish(hr, "instances failed", false);
	table_free(&t);
	free(eb.p);
	return rc;
}

static int run_volumes(const struct verb *v, int argc, char **argv)
{
	static const struct colspec spec[] = {{30, false}, {39, false}, {10, false}, {8, false},
					      {0, false},  {0, false},	{0, false}};
	static const char *const head[] = {"Dos Name", "Volume Name", "FileSystem", "Status",
					   "Backing",  "Cache",	      "Transport"};
	struct table t = {.ncols = 7};
	struct enum_buf eb = {0};
	HANDLE h = INVALID_HANDLE_VALUE;
	DWORD ret = 0;
	HRESULT hr;
	int rc = 0;

	if (argc)
		return usage_error(v, "unexpected argument %s", argv[0]);
	if (!enum_grow(&eb, 4096))
		return finish(E_OUTOFMEMORY, "volumes failed", false);
	table_row(&t, head);
	for (;;) {
		PFILTER_VOLUME_STANDARD_INFORMATION vs;
		WCHAR dev16[1024], dos16[1024];
		char dev[2048], dos[2048] = "", backing[2048] = "", cache[128] = "",
				transport[128] = "";
		const char *row[7] = {dos, dev, NULL, NULL, backing, cache, transport};
		size_t units;

		do {
			hr = h == INVALID_HANDLE_VALUE
				 ? FilterVolumeFindFirst(FilterVolumeStandardInformation, eb.p,
							 eb.size, &ret, &h)
				 : FilterVolumeFindNext(h, FilterVolumeStandardInformation, eb.p,
							eb.size, &ret);
		} while (retry_bigger(hr, ret, &eb));
		if (FAILED(hr))
			break;
		vs = eb.p;
		narrow(vs, FIELD_OFFSET(FILTER_VOLUME_STANDARD_INFORMATION, FilterVolumeName),
		       vs->FilterVolumeNameLength, dev, sizeof(dev));
		/* The DOS name (the mount point) of the device, as Windows' fltmc asks for it. */
		units = vs->FilterVolumeNameLength / sizeof(WCHAR);
		if (units < 1024) {
			memcpy(dev16, vs->FilterVolumeName, units * sizeof(WCHAR));
			dev16[units] = 0;
			if (SUCCEEDED(FilterGetDosName(dev16, dos16, 1024))) {
				size_t n = 0;

				while (dos16[n])
					n++;
				narrow(dos16, 0, n * sizeof(WCHAR), dos, sizeof(dos));
			}
		}
		row[2] = fs_type_name(vs->FileSystemType);
		row[3] = vs->Flags & FLTFL_VSI_DETACHED_VOLUME ? "Detached" : "";
		if (FAILED(fm_fltlib_volume_backing(h, backing, sizeof(backing))))
			backing[0] = '\0';
		if (FAILED(fm_fltlib_volume_cache(h, cache, sizeof(cache))))
			cache[0] = '\0';
		if (FAILED(fm_fltlib_volume_transport(h, transport, sizeof(transport))))
			transport[0] = '\0';
		table_row(&t, row);
	}
	if (h != INVALID_HANDLE_VALUE)
		FilterVolumeFindClose(h);
	if (enum_end(hr))
		print_table(&t, spec, 7);
	else
		rc = finish(hr, "volumes failed", false);
	table_free(&t);
	free(eb.p);
	return rc;
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
	char b[PATH_MAX], m[PATH_MAX], what[PATH_MAX + 32], type[128];
	const char *pos[2] = {NULL, NULL}, *cache = NULL, *transport = NULL;
	int npos = 0;

	for (int i = 0; i < argc; i++) {
		if ((strcmp(argv[i], "--fs-type") == 0 || strcmp(argv[i], "-t") == 0) &&
		    i + 1 < argc)
			req.fs_type = argv[++i];
		else if (strcmp(argv[i], "--cache") == 0 && i + 1 < argc)
			cache = argv[++i];
		else if (strcmp(argv[i], "--transport") == 0 && i + 1 < argc)
			transport = argv[++i];
		else if (argv[i][0] == '-')
			return usage_error(v, "unknown option or missing value: %s", argv[i]);
		else if (npos < 2)
			pos[npos++] = argv[i];
		else
			return usage_error(v, "unexpected argument %s", argv[i]);
	}
	if (npos == 0)
		return usage_error(v, "expected a backing directory");
	if (cache || transport) {
		/* Volume options travel after the type: "TYPE,cache=POLICY,transport=T". */
		fm_proto_mount_type(type, sizeof(type), req.fs_type, cache, transport);
		req.fs_type = type;
	}
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
	if (!daemon_listening() && fm_dead_mount(req.target)) {
		/* The daemon that served it was killed: only the kernel's mount is left. */
		int n = fm_dead_mount_remove(req.target);

		if (n < 0) {
			fprintf(stderr, "fltmc: %s: %s\n", what, strerror(-n));
			return 1;
		}
		printf("removed the dead volume at %s (its fltmgrd is gone)\n", req.target);
		return 0;
	}
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

		if (transact(&un, &rep, what) == 0)
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
    {"mount",
     "<backing-dir> [<mount-point>] [--fs-type NTFS|FAT|EXFAT|REFS|...] [--cache "
     "auto|cached|direct] [--transport dev|uring]",
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
	/* libfltlib finds fltmgrd through FLTMGR_ROOT. */
	if (setenv("FLTMGR_ROOT", root, 1)) {
		fprintf(stderr, "fltmc: cannot set FLTMGR_ROOT: %s\n", strerror(errno));
		return 1;
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
