/* fltmgrd request handlers: registry edits, filter load/unload, listings, volume mounts. */
#include "daemon/daemon.h"

#include "common/alloc.h"
#include "common/log.h"
#include "core/core.h"
#include "core/registry.h"
#include "volume/volume.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Replies ------------------------------------------------------------------------------- */

void fm_daemon_reply_init(struct fm_daemon_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->rep.kind = FM_STATUS_ERRNO;
	r->rep.message = r->msg;
}

void fm_daemon_reply_fini(struct fm_daemon_reply *r)
{
	for (size_t i = 0; i < r->ncells; i++)
		fm_free(r->cells[i]);
	fm_free(r->cells);
	r->cells = NULL;
	r->ncells = r->cap = 0;
}

void fm_daemon_reply_status(struct fm_daemon_reply *r, unsigned int kind, int status,
			    const char *fmt, ...)
{
	va_list ap;

	r->rep.kind = kind;
	r->rep.status = status;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

void fm_daemon_reply_row(struct fm_daemon_reply *r, const char *const *cells)
{
	if (r->oom)
		return;
	if (r->ncells + r->rep.ncols > r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 64;
		char **nc;

		while (ncap < r->ncells + r->rep.ncols)
			ncap *= 2;
		nc = fm_realloc(r->cells, ncap * sizeof(*nc));
		if (!nc) {
			r->oom = true;
			return;
		}
		r->cells = nc;
		r->cap = ncap;
	}
	for (unsigned int i = 0; i < r->rep.ncols; i++) {
		char *c = fm_strdup(cells[i] ? cells[i] : "");

		if (!c) {
			r->oom = true;
			return;
		}
		r->cells[r->ncells++] = c;
	}
	r->rep.nrows++;
	r->rep.cells = (const char *const *)r->cells;
}

/* ---- Registry requests ------------------------------------------------------------------- */

/* A service name is one registry key name component. */
static bool valid_service(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 120)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '\\' || c == '/')
			return false;
	}
	return true;
}

/* Digits, optionally one '.' followed by digits: altitudes are exact decimal strings. */
static bool valid_altitude(const char *s)
{
	size_t i = 0, digits = 0;

	while (s[i] >= '0' && s[i] <= '9')
		i++, digits++;
	if (s[i] == '.') {
		size_t frac = 0;

		i++;
		while (s[i] >= '0' && s[i] <= '9')
			i++, frac++;
		if (!frac)
			return false;
	}
	return digits > 0 && s[i] == '\0' && i < 64;
}

static int open_service(const char *service, int create, struct fm_regkey **out)
{
	char path[256];

	snprintf(path, sizeof(path), "%s\\%s", FM_REG_SERVICES, service);
	return fm_reg_open(path, create, out);
}

static void do_register(const struct fm_request *req, struct fm_daemon_reply *r)
{
	struct fm_regkey *svc = NULL, *inst = NULL, *def = NULL;
	char instname[160];
	int rc;

	if (!valid_service(req->service)) {
		fm_daemon_reply_status(r, FM_STATUS_ERRNO, -EINVAL, "invalid service name \"%s\"",
				       req->service);
		return;
	}
	if (req->image[0] != '/') {
		fm_daemon_reply_status(r, FM_STATUS_ERRNO, -EINVAL,
				       "image path must be absolute: \"%s\"", req->image);
		return;
	}
	if (!valid_altitude(req->altitude)) {
		fm_daemon_reply_status(r, FM_STATUS_ERRNO, -EINVAL,
				       "invalid altitude \"%s\" (a decimal number such as 370020 "
				       "or 385250.5)",
				       req->altitude);
		return;
	}
	if (req->instance[0])
		snprintf(instname, sizeof(instname), "%s", req->instance);
	else
		snprintf(instname, sizeof(instname), "%s Instance", req->service);
	if (!valid_service(instname)) {
		fm_daemon_reply_status(r, FM_STATUS_ERRNO, -EINVAL, "invalid instance name \"%s\"",
				       instname);
		return;
	}
	rc = open_service(req->service, 1, &svc);
	if (rc)
		goto fail;
	rc = fm_reg_set_string_type(svc, "ImagePath", FM_REG_EXPAND_SZ, req->image);
	if (!rc)
		rc = fm_reg_set_dword(svc, "Type", 2); /* SERVICE_FILE_SYSTEM_DRIVER */
	if (!rc)
		rc = fm_reg_set_dword(svc, "Start", 3); /* SERVICE_DEMAND_START */
	if (!rc)
		rc = fm_reg_set_dword(svc, "ErrorControl", 1);
	if (!rc)
		rc = fm_reg_open_sub(svc, "Instances", 1, &inst);
	if (!rc)
		rc = fm_reg_set_string(inst, "DefaultInstance", instname);
	if (!rc)
		rc = fm_reg_open_sub(inst, instname, 1, &def);
	if (!rc)
		rc = fm_reg_set_string(def, "Altitude", req->altitude);
	if (!rc)
		rc = fm_reg_set_dword(def, "Flags", req->flags);
	if (!rc)
		rc = fm_reg_flush();
	if (rc)
		goto fail;
	fm_info("registered service %s: image %s, instance \"%s\" at altitude %s, flags 0x%x",
		req->service, req->image, instname, req->altitude, req->flags);
	fm_daemon_reply_status(r, FM_STATUS_ERRNO, 0,
			       "registered %s (instance \"%s\", altitude %s)", req->service,
			       instname, req->altitude);
	goto out;
fail:
	fm_daemon_reply_status(r, FM_STATUS_ERRNO, rc, "cannot register %s", req->service);
out:
	fm_reg_close(def);
	fm_reg_close(inst);
	fm_reg_close(svc);
}

static void do_set_value(const struct fm_request *req, struct fm_daemon_reply *r)
{
	struct fm_regkey *svc = NULL, *key = NULL;
	int rc;

	if (!valid_service(req->service)) {
		fm_daemon_reply_status(r, FM_STATUS_ERRNO, -EINVAL, "invalid service name \"%s\"",
				       req->service);
		return;
	}
	rc = open_service(req->service, 0, &svc);
	if (rc == -ENOENT) {
		fm_daemon_reply_status(r, FM_STATUS_ERRNO, rc, "no service %s (register it first)",
				       req->service);
		return;
	}
	if (rc == 0) {
		if (req->key[0])
			rc = fm_reg_open_sub(svc, req->key, 1, &key);
		else
			rc = fm_reg_open_sub(svc, "", 0, &key);
	}
	if (rc == 0)
		rc = fm_reg_set_value(key, req->name, req->vtype, req->data, req->data_len);
	if (rc == 0)
		rc = fm_reg_flush();
	if (rc)
		fm_daemon_reply_status(r, FM_STATUS_ERRNO, rc, "cannot set %s%s%s \"%s\"",
				       req->service, req->key[0] ? "\\" : "", req->key, req->name);
	else
		fm_daemon_reply_status(r, FM_STATUS_ERRNO, 0, "set %s%s%s \"%s\" (%s, %u bytes)",
				       req->service, req->key[0] ? "\\" : "", req->key, req->name,
				       fm_reg_type_name(req->vtype), req->data_len);
	fm_reg_close(key);
	fm_reg_close(svc);
}

/* ---- Filters ------------------------------------------------------------------------------- */

static void do_load(const struct fm_request *req, struct fm_daemon_reply *r)
{
	char msg[400] = "";
	NTSTATUS st = fm_filter_load(req->service, msg, sizeof(msg));

	if (NT_SUCCESS(st))
		fm_info("loaded %s", req->service);
	else
		fm_warn("load %s failed: 0x%08x %s", req->service, (unsigned int)st, msg);
	fm_daemon_reply_status(r, FM_STATUS_NT, st, "%s", msg);
}

static void do_unload(const struct fm_request *req, struct fm_daemon_reply *r)
{
	char msg[400] = "";
	NTSTATUS st = fm_filter_unload(req->service, req->flags & 1, msg, sizeof(msg));

	if (NT_SUCCESS(st))
		fm_info("unloaded %s%s", req->service, req->flags & 1 ? " (mandatory)" : "");
	else
		fm_warn("unload %s failed: 0x%08x %s", req->service, (unsigned int)st, msg);
	fm_daemon_reply_status(r, FM_STATUS_NT, st, "%s", msg);
}

static const char *or_null(const char *s)
{
	return s && *s ? s : NULL;
}

static void do_attach(const struct fm_request *req, struct fm_daemon_reply *r)
{
	char msg[400] = "";
	NTSTATUS st = fm_instance_attach(req->filter, req->volume, or_null(req->instance),
					 or_null(req->altitude), msg, sizeof(msg));

	fm_log(NT_SUCCESS(st) ? FM_LOG_INFO : FM_LOG_WARN, NULL, "%s (0x%08x)", msg,
	       (unsigned int)st);
	fm_daemon_reply_status(r, FM_STATUS_NT, st, "%s", msg);
}

static void do_detach(const struct fm_request *req, struct fm_daemon_reply *r)
{
	char msg[400] = "";
	NTSTATUS st =
	    fm_instance_detach(req->filter, req->volume, or_null(req->instance), msg, sizeof(msg));

	fm_log(NT_SUCCESS(st) ? FM_LOG_INFO : FM_LOG_WARN, NULL, "%s (0x%08x)", msg,
	       (unsigned int)st);
	fm_daemon_reply_status(r, FM_STATUS_NT, st, "%s", msg);
}

static void do_uninstall(const struct fm_request *req, struct fm_daemon_reply *r)
{
	struct fm_filter_info *fi = NULL;
	struct fm_regkey *k;
	char path[512];
	size_t n = 0;
	int rc;

	if (!req->service[0] || strpbrk(req->service, "\\/")) {
		fm_daemon_reply_status(r, FM_STATUS_ERRNO, -EINVAL, "invalid service name");
		return;
	}
	if (fm_list_filters(&fi, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (strcasecmp(fi[i].name, req->service) == 0) {
				free(fi);
				fm_daemon_reply_status(r, FM_STATUS_ERRNO, -EBUSY,
						       "%s is loaded: unload it first",
						       req->service);
				return;
			}
		}
		free(fi);
	}
	snprintf(path, sizeof(path), "%s\\%s", FM_REG_SERVICES, req->service);
	rc = fm_reg_open(path, 0, &k);
	if (rc) {
		fm_daemon_reply_status(r, FM_STATUS_ERRNO, rc, "no service %s", req->service);
		return;
	}
	rc = fm_reg_delete_key(k);
	fm_reg_close(k);
	if (!rc)
		rc = fm_reg_flush();
	if (!rc)
		fm_info("uninstalled service %s", req->service);
	fm_daemon_reply_status(r, FM_STATUS_ERRNO, rc, "%s %s",
			       rc ? "cannot uninstall" : "uninstalled", req->service);
}

static void do_list_filters(struct fm_daemon_reply *r)
{
	static const char *const head[] = {"Filter Name", "Num Instances", "Altitude", "Frame"};
	struct fm_filter_info *fi = NULL;
	size_t n = 0;
	int rc = fm_list_filters(&fi, &n);

	if (rc) {
		fm_daemon_reply_status(r, FM_STATUS_ERRNO, rc, "cannot list filters");
		return;
	}
	r->rep.ncols = 4;
	fm_daemon_reply_row(r, head);
	for (size_t i = 0; i < n; i++) {
		char num[16], frame[16];
		const char *row[4] = {fi[i].name, num, fi[i].altitude, frame};

		snprintf(num, sizeof(num), "%u", fi[i].num_instances);
		snprintf(frame, sizeof(frame), "%u", fi[i].frame);
		fm_daemon_reply_row(r, row);
	}
	free(fi);
}

static bool volume_matches(const char *sel, const char *dos, const char *device)
{
	return !sel[0] || strcmp(sel, dos) == 0 || strcasecmp(sel, device) == 0;
}

static void do_list_instances(const struct fm_request *req, struct fm_daemon_reply *r)
{
	static const char *const head[] = {"Filter", "Volume Name", "Altitude", "Instance Name",
					   "Frame"};
	struct fm_instance_info *ii = NULL;
	size_t n = 0;
	int rc = fm_list_instances(&ii, &n);

	if (rc) {
		fm_daemon_reply_status(r, FM_STATUS_ERRNO, rc, "cannot list instances");
		return;
	}
	r->rep.ncols = 5;
	fm_daemon_reply_row(r, head);
	for (size_t i = 0; i < n; i++) {
		char frame[16];
		const char *row[5] = {ii[i].filter, ii[i].volume, ii[i].altitude, ii[i].instance,
				      frame};

		if (req->filter[0] && strcasecmp(req->filter, ii[i].filter) != 0)
			continue;
		if (!volume_matches(req->volume, ii[i].volume, ii[i].volume_device))
			continue;
		snprintf(frame, sizeof(frame), "%u", ii[i].frame);
		fm_daemon_reply_row(r, row);
	}
	free(ii);
}

/* ---- Volumes ------------------------------------------------------------------------------- */

/* The volumes this daemon mounted, in mount order.  Main thread only. */
static struct fm_vol **vols;
static size_t nvols, vcap;

static void do_list_volumes(struct fm_daemon_reply *r)
{
	static const char *const head[] = {"Dos Name", "Volume Name", "FileSystem", "Status",
					   "Backing",  "Cache",	      "Transport"};
	struct fm_volume_info *vi = NULL;
	size_t n = 0;
	int rc = fm_list_volumes(&vi, &n);

	if (rc) {
		fm_daemon_reply_status(r, FM_STATUS_ERRNO, rc, "cannot list volumes");
		return;
	}
	r->rep.ncols = 7;
	fm_daemon_reply_row(r, head);
	for (size_t i = 0; i < n; i++) {
		char backing[320], cache[96] = "", transport[64] = "";
		const char *row[7] = {vi[i].dos_name, vi[i].device, vi[i].fs_type, "",
				      backing,	      cache,	    transport};

		snprintf(backing, sizeof(backing), "%s (%s)", vi[i].backing_dir,
			 vi[i].backing_fs[0] ? vi[i].backing_fs : "?");
		for (size_t j = 0; j < nvols; j++)
			if (strcmp(fm_vol_mount_point(vols[j]), vi[i].dos_name) == 0) {
				fm_vol_cache_describe(vols[j], cache, sizeof(cache));
				fm_vol_transport_describe(vols[j], transport, sizeof(transport));
			}
		fm_daemon_reply_row(r, row);
	}
	free(vi);
}

static const struct {
	const char *name;
	FLT_FILESYSTEM_TYPE type;
} fs_types[] = {
    {"NTFS", FLT_FSTYPE_NTFS}, {"FAT", FLT_FSTYPE_FAT},	  {"EXFAT", FLT_FSTYPE_EXFAT},
    {"REFS", FLT_FSTYPE_REFS}, {"CDFS", FLT_FSTYPE_CDFS}, {"UDFS", FLT_FSTYPE_UDFS},
    {"RAW", FLT_FSTYPE_RAW},
};

static const char *vol_device(struct fm_vol *v)
{
	struct fm_volume *core = fm_vol_core(v);

	return core ? fm_volume_device_name(core) : "";
}

/* Find a volume by mount point, backing directory or device name. */
static long find_vol(const char *target)
{
	char real[PATH_MAX];
	const char *t = target;

	/* Paths are compared canonicalized; the mount point itself may not resolve if dead. */
	if (target[0] == '/' && realpath(target, real))
		t = real;
	for (size_t i = 0; i < nvols; i++) {
		if (strcmp(fm_vol_mount_point(vols[i]), target) == 0 ||
		    strcmp(fm_vol_mount_point(vols[i]), t) == 0 ||
		    strcmp(fm_vol_backing_dir(vols[i]), t) == 0 ||
		    strcasecmp(vol_device(vols[i]), target) == 0)
			return (long)i;
	}
	return -1;
}

static void do_mount(const struct fm_request *req, struct fm_daemon_reply *r)
{
	struct fm_vol_options opts = {0};
	char backing[PATH_MAX], mp[PATH_MAX];
	const char *mpp = NULL;
	struct fm_vol *v;
	struct stat st;
	long dup;
	int rc;

	/* "TYPE[,cache=POLICY][,transport=dev|uring]": the reported type, then volume options. */
	char type[64], optv[64];
	const char *opt = strchr(req->fs_type, ',');

	snprintf(type, sizeof(type), "%.*s",
		 (int)(opt ? (size_t)(opt - req->fs_type) : strlen(req->fs_type)), req->fs_type);
	while (opt) {
		const char *end = strchr(opt + 1, ',');
		bool ok;

		snprintf(optv, sizeof(optv), "%.*s",
			 (int)(end ? (size_t)(end - opt - 1) : strlen(opt + 1)), opt + 1);
		if (strncmp(optv, "cache=", 6) == 0)
			ok = fm_vol_cache_policy_parse(optv + 6, &opts.cache) == 0;
		else if (strncmp(optv, "transport=", 10) == 0)
			ok = fm_vol_transport_parse(optv + 10, &opts.transport) == 0;
		else
			ok = false;
		if (!ok) {
			fm_daemon_reply_status(r, FM_STATUS_ERRNO, -EINVAL,
					       "unknown volume option \"%s\" (cache=auto, "
					       "cache=cached or cache=direct; transport=dev or "
					       "transport=uring)",
					       optv);
			return;
		}
		opt = end;
	}
	if (type[0]) {
		size_t i;

		for (i = 0; i < sizeof(fs_types) / sizeof(fs_types[0]); i++)
			if (strcasecmp(fs_types[i].name, type) == 0)
				break;
		if (i == sizeof(fs_types) / sizeof(fs_types[0])) {
			fm_daemon_reply_status(r, FM_STATUS_ERRNO, -EINVAL,
					       "unknown file system type \"%s\" (NTFS, FAT, EXFAT, "
					       "REFS, CDFS, UDFS, RAW)",
					       type);
			return;
		}
		opts.fs_type = fs_types[i].type;
	}
	if (!realpath(req->backing, backing)) {
		rc = -errno;
		fm_daemon_reply_status(r, FM_STATUS_ERRNO, rc, "backing directory %s",
				       req->backing);
		return;
	}
	if (stat(backing, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fm_daemon_reply_status(r, FM_STATUS_ERRNO, -ENOTDIR, "backing directory %s",
				       req->backing);
		return;
	}
	if (req->mount_point[0]) {
		if (!realpath(req->mount_point, mp)) {
			rc = -errno;
			fm_daemon_reply_status(r, FM_STATUS_ERRNO, rc, "mount point %s",
					       req->mount_point);
			return;
		}
		mpp = mp;
	}
	dup = find_vol(mpp ? mpp : backing);
	if (dup >= 0 && strcmp(fm_vol_mount_point(vols[dup]), mpp ? mpp : backing) == 0) {
		fm_daemon_reply_status(r, FM_STATUS_ERRNO, -EBUSY, "%s is already mounted as %s",
				       mpp ? mpp : backing, vol_device(vols[dup]));
		return;
	}
	if (nvols == vcap) {
		size_t ncap = vcap ? vcap * 2 : 8;
		struct fm_vol **nv = fm_realloc(vols, ncap * sizeof(*nv));

		if (!nv) {
			fm_daemon_reply_status(r, FM_STATUS_ERRNO, -ENOMEM, "out of memory");
			return;
		}
		vols = nv;
		vcap = ncap;
	}
	rc = fm_vol_mount(backing, mpp, &opts, &v);
	if (rc) {
		fm_warn("mount %s on %s failed: %s", backing, mpp ? mpp : backing, strerror(-rc));
		fm_daemon_reply_status(r, FM_STATUS_ERRNO, rc, "cannot mount %s on %s%s", backing,
				       mpp ? mpp : backing,
				       rc == -EBUSY ? " (already mounted)" : "");
		return;
	}
	vols[nvols++] = v;
	fm_info("mounted %s on %s as %s", backing, fm_vol_mount_point(v), vol_device(v));
	fm_daemon_reply_status(r, FM_STATUS_ERRNO, 0, "mounted %s on %s as %s", backing,
			       fm_vol_mount_point(v), vol_device(v));
}

static void unmount_at(size_t i)
{
	struct fm_vol *v = vols[i];

	fm_info("unmounting %s (%s)", fm_vol_mount_point(v), vol_device(v));
	memmove(vols + i, vols + i + 1, (nvols - i - 1) * sizeof(*vols));
	nvols--;
	fm_vol_unmount(v);
}

static void do_unmount(const struct fm_request *req, struct fm_daemon_reply *r)
{
	long i = find_vol(req->target);
	char what[300];

	if (i < 0) {
		fm_daemon_reply_status(r, FM_STATUS_ERRNO, -ENOENT,
				       "%s: no volume mounted by fltmgrd there", req->target);
		return;
	}
	snprintf(what, sizeof(what), "%s (%s)", fm_vol_mount_point(vols[i]), vol_device(vols[i]));
	unmount_at((size_t)i);
	fm_daemon_reply_status(r, FM_STATUS_ERRNO, 0, "unmounted %s", what);
}

size_t fm_daemon_nvolumes(void)
{
	return nvols;
}

const char *fm_daemon_volume_mount_point(size_t i)
{
	return i < nvols ? fm_vol_mount_point(vols[i]) : NULL;
}

void fm_daemon_unmount_all(void)
{
	while (nvols)
		unmount_at(nvols - 1);
	fm_free(vols);
	vols = NULL;
	vcap = 0;
}

/* ---- Dispatch ------------------------------------------------------------------------------ */

void fm_daemon_handle(const struct fm_request *req, struct fm_daemon_reply *r)
{
	fm_debug("request %s", fm_proto_type_name(req->type));
	switch (req->type) {
	case FM_MSG_PING:
		fm_daemon_reply_status(r, FM_STATUS_ERRNO, 0, "fltmgrd pid %d", (int)getpid());
		break;
	case FM_MSG_REGISTER:
		do_register(req, r);
		break;
	case FM_MSG_SET_VALUE:
		do_set_value(req, r);
		break;
	case FM_MSG_LOAD:
		do_load(req, r);
		break;
	case FM_MSG_UNLOAD:
		do_unload(req, r);
		break;
	case FM_MSG_LIST_FILTERS:
		do_list_filters(r);
		break;
	case FM_MSG_LIST_INSTANCES:
		do_list_instances(req, r);
		break;
	case FM_MSG_LIST_VOLUMES:
		do_list_volumes(r);
		break;
	case FM_MSG_MOUNT:
		do_mount(req, r);
		break;
	case FM_MSG_UNMOUNT:
		do_unmount(req, r);
		break;
	case FM_MSG_ATTACH:
		do_attach(req, r);
		break;
	case FM_MSG_DETACH:
		do_detach(req, r);
		break;
	case FM_MSG_UNINSTALL:
		do_uninstall(req, r);
		break;
	default:
		fm_daemon_reply_status(r, FM_STATUS_ERRNO, -EOPNOTSUPP, "unknown request %u",
				       req->type);
		break;
	}
	if (r->oom) {
		fm_daemon_reply_fini(r);
		r->rep.nrows = 0;
		r->rep.ncols = 0;
		r->rep.cells = NULL;
		fm_daemon_reply_status(r, FM_STATUS_ERRNO, -ENOMEM, "out of memory");
	}
}

/* ---- Check mode ---------------------------------------------------------------------------- */

static int check_service(struct fm_regkey *services, const char *name)
{
	struct fm_regkey *svc = NULL, *inst = NULL, *def = NULL;
	char image[PATH_MAX] = "", dflt[160] = "", alt[80] = "", sub[160];
	uint32_t flags = 0;
	int problems = 0;

	if (fm_reg_open_sub(services, name, 0, &svc))
		return 1;
	if (fm_reg_get_string(svc, "ImagePath", image, sizeof(image))) {
		fprintf(stderr, "fltmgrd: service %s: no ImagePath\n", name);
		problems++;
	} else if (image[0] != '/') {
		fprintf(stderr, "fltmgrd: service %s: ImagePath %s is not absolute\n", name, image);
		problems++;
	} else if (access(image, R_OK) != 0) {
		fprintf(stderr, "fltmgrd: service %s: ImagePath %s: %s\n", name, image,
			strerror(errno));
		problems++;
	}
	printf("service %s\n  image %s\n", name, image[0] ? image : "(none)");
	if (fm_reg_open_sub(svc, "Instances", 0, &inst)) {
		fprintf(stderr, "fltmgrd: service %s: no Instances key\n", name);
		problems++;
		goto out;
	}
	if (fm_reg_get_string(inst, "DefaultInstance", dflt, sizeof(dflt))) {
		fprintf(stderr, "fltmgrd: service %s: no Instances\\DefaultInstance\n", name);
		problems++;
	}
	for (unsigned int i = 0; fm_reg_enum_key(inst, i, sub, sizeof(sub)) == 0; i++) {
		if (fm_reg_open_sub(inst, sub, 0, &def))
			continue;
		alt[0] = '\0';
		flags = 0;
		if (fm_reg_get_string(def, "Altitude", alt, sizeof(alt)) || !valid_altitude(alt)) {
			fprintf(stderr,
				"fltmgrd: service %s: instance \"%s\": bad or missing "
				"Altitude\n",
				name, sub);
			problems++;
		}
		fm_reg_get_dword(def, "Flags", &flags);
		printf("  instance \"%s\" altitude %s flags 0x%x%s\n", sub, alt[0] ? alt : "?",
		       flags, strcasecmp(sub, dflt) == 0 ? " (default)" : "");
		fm_reg_close(def);
		def = NULL;
	}
	if (dflt[0] && fm_reg_open_sub(inst, dflt, 0, &def) != 0) {
		fprintf(stderr, "fltmgrd: service %s: DefaultInstance \"%s\" has no key\n", name,
			dflt);
		problems++;
	}
out:
	fm_reg_close(def);
	fm_reg_close(inst);
	fm_reg_close(svc);
	return problems;
}

int fm_daemon_check_registry(void)
{
	struct fm_regkey *services;
	char name[160];
	unsigned int n = 0;
	int problems = 0;

	if (fm_reg_open(FM_REG_SERVICES, 0, &services)) {
		printf("no services registered\n");
		return 0;
	}
	for (unsigned int i = 0; fm_reg_enum_key(services, i, name, sizeof(name)) == 0; i++) {
		problems += check_service(services, name);
		n++;
	}
	fm_reg_close(services);
	printf("%u service%s, %d problem%s\n", n, n == 1 ? "" : "s", problems,
	       problems == 1 ? "" : "s");
	return problems;
}
