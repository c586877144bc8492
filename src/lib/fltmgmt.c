/* libfltlib management routines over fltmgrd's control protocol: load, unload, attach, detach, enumeration, filter and instance handles. */
#include "lib/fltlib_ext.h"
#include "lib/fltlib_i.h"
#include "lib/portwire.h"

#include "common/alloc.h"
#include "proto/proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Loading runs DriverEntry and attaching waits for instance setup: allow them time. */
#define FL_CONTROL_TIMEOUT_MS 120000
#define FL_ERROR_SERVICE_ALREADY_RUNNING 1056L
#define FL_ERROR_CONNECTION_REFUSED 1225L

/* The calling thread's last exchange with fltmgrd (fm_fltlib_last_status). */
static __thread struct fm_fltlib_status last;

void fm_fltlib_last_status(struct fm_fltlib_status *out)
{
	*out = last;
}

/* The control protocol's answer as an HRESULT, following what FltLib returns on Windows. */
static HRESULT hr_from_reply(const struct fm_reply *rep)
{
	if (rep->kind == FM_STATUS_ERRNO) {
		switch (-rep->status) {
		case 0:
			return S_OK;
		case EACCES:
		case EPERM:
			return E_ACCESSDENIED;
		case ENOENT:
			return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
		case EINVAL:
			return E_INVALIDARG;
		case ENOMEM:
			return E_OUTOFMEMORY;
		default:
			return E_FAIL;
		}
	}
	NTSTATUS st = (NTSTATUS)rep->status;
	if (NT_SUCCESS(st))
		return S_OK;
	/* Filter manager statuses 0xC01C00nn are the HRESULTs 0x801F00nn (ERROR_FLT_*). */
	if (((ULONG)st & 0xFFFF0000u) == 0xC01C0000u)
		return (HRESULT)(0x801F0000u | ((ULONG)st & 0xFFFFu));
	switch ((ULONG)st) {
	case STATUS_OBJECT_NAME_NOT_FOUND:
	case STATUS_OBJECT_PATH_NOT_FOUND:
		return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
	case 0xC000010EL: /* STATUS_IMAGE_ALREADY_LOADED */
		return HRESULT_FROM_WIN32(FL_ERROR_SERVICE_ALREADY_RUNNING);
	case STATUS_ACCESS_DENIED:
		return E_ACCESSDENIED;
	case STATUS_INVALID_PARAMETER:
		return E_INVALIDARG;
	default:
		return HRESULT_FROM_NT(st);
	}
}

/* The exchange failed before a reply: remember why (errno e) for fm_fltlib_last_status. */
static HRESULT no_reply(int e, bool connecting)
{
	last.sys_errno = e;
	last.no_reply_connect = connecting;
	if (connecting && e == EACCES)
		return E_ACCESSDENIED;
	return HRESULT_FROM_WIN32(FL_ERROR_CONNECTION_REFUSED);
}

/* One request/reply exchange with fltmgrd at $FLTMGR_ROOT/control.sock; *rep is the decoded
 * reply (release with fm_proto_reply_free) when S_OK is returned. */
static HRESULT control_reply(const struct fm_request *req, struct fm_reply *rep)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *root = getenv("FLTMGR_ROOT");
	uint8_t *buf = NULL, *payload = NULL;
	size_t len;
	uint32_t plen;
	uint16_t type;
	int fd, rc, n;

	memset(&last, 0, sizeof(last));
	if (!root || !*root)
		root = FM_PW_DEFAULT_ROOT;
	n = snprintf(last.socket, sizeof(last.socket), "%s/%s", root, FM_PROTO_SOCKET);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		no_reply(ENAMETOOLONG, true);
		return HRESULT_FROM_WIN32(ERROR_INVALID_PARAMETER);
	}
	memcpy(sa.sun_path, last.socket, (size_t)n + 1);
	rc = fm_proto_encode_request(req, &buf, &len);
	if (rc) {
		no_reply(-rc, false);
		return rc == -ENOMEM ? E_OUTOFMEMORY : E_INVALIDARG;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		fm_free(buf);
		return no_reply(e, true);
	}
	rc = fm_proto_send(fd, buf, len, FL_CONTROL_TIMEOUT_MS);
	fm_free(buf);
	/* The daemon may refuse a non-root caller before reading: its reply says why. */
	rc = fm_proto_recv(fd, FL_CONTROL_TIMEOUT_MS, &type, &payload, &plen);
	close(fd);
	if (rc == 0 && type != FM_MSG_REPLY) {
		fm_free(payload);
		rc = -EPROTO;
	}
	if (rc == 0) {
		rc = fm_proto_decode_reply(payload, plen, rep);
		fm_free(payload);
	}
	if (rc)
		return no_reply(rc == -ENODATA ? ECONNRESET : -rc, false);
	last.reached = 1;
	last.kind = rep->kind;
	last.status = rep->status;
	snprintf(last.message, sizeof(last.message), "%s", rep->message ? rep->message : "");
	return S_OK;
}

HRESULT fm_fltlib_control(const struct fm_request *req, struct fm_reply *rep)
{
	if (!req || !rep)
		return E_INVALIDARG;
	return control_reply(req, rep);
}

static HRESULT control(const struct fm_request *req)
{
	struct fm_reply rep;
	HRESULT hr = control_reply(req, &rep);

	if (FAILED(hr))
		return hr;
	hr = hr_from_reply(&rep);
	fm_proto_reply_free(&rep);
	return hr;
}

/* UTF-16 argument -> UTF-8 in buf; "" for NULL when optional.  false if not convertible. */
static bool arg8(LPCWSTR w, char *buf, size_t cap, bool optional)
{
	size_t n = 0;

	if (!w) {
		buf[0] = '\0';
		return optional;
	}
	while (w[n])
		n++;
	if (n == 0) {
		buf[0] = '\0';
		return optional;
	}
	return fm_pw_utf16_to_utf8((const uint16_t *)w, n, buf, cap) >= 0;
}

HRESULT WINAPI FilterLoad(LPCWSTR lpFilterName)
{
	char name[256];
	struct fm_request req = {.type = FM_MSG_LOAD, .service = name};

	if (!arg8(lpFilterName, name, sizeof(name), false))
		return E_INVALIDARG;
	return control(&req);
}

HRESULT fm_fltlib_unload(LPCWSTR lpFilterName, DWORD flags)
{
	char name[256];
	struct fm_request req = {.type = FM_MSG_UNLOAD, .service = name, .flags = flags & 1};

	if (!arg8(lpFilterName, name, sizeof(name), false))
		return E_INVALIDARG;
	return control(&req);
}

HRESULT WINAPI FilterUnload(LPCWSTR lpFilterName)
{
	return fm_fltlib_unload(lpFilterName, 0);
}

/* Copy the instance name the attach used (given, or the filter's default: reported as ""). */
static void created_name(LPCWSTR given, DWORD cap, LPWSTR out)
{
	DWORD i = 0;

	if (!out || cap == 0)
		return;
	/* cap is in bytes, as on Windows. */
	cap /= sizeof(WCHAR);
	if (cap == 0)
		return;
	while (given && given[i] && i + 1 < cap) {
		out[i] = given[i];
		i++;
	}
	out[i] = 0;
}

HRESULT WINAPI FilterAttachAtAltitude(LPCWSTR lpFilterName, LPCWSTR lpVolumeName,
				      LPCWSTR lpAltitude, LPCWSTR lpInstanceName,
				      DWORD dwCreatedInstanceNameLength,
				      LPWSTR lpCreatedInstanceName)
{
	char filter[256], volume[1024], altitude[64], instance[256];
	struct fm_request req = {.type = FM_MSG_ATTACH,
				 .filter = filter,
				 .volume = volume,
				 .instance = instance,
				 .altitude = altitude};
	HRESULT hr;

	if (!arg8(lpFilterName, filter, sizeof(filter), false) ||
	    !arg8(lpVolumeName, volume, sizeof(volume), false) ||
	    !arg8(lpAltitude, altitude, sizeof(altitude), true) ||
	    !arg8(lpInstanceName, instance, sizeof(instance), true))
		return E_INVALIDARG;
	hr = control(&req);
	if (SUCCEEDED(hr))
		created_name(lpInstanceName, dwCreatedInstanceNameLength, lpCreatedInstanceName);
	return hr;
}

HRESULT WINAPI FilterAttach(LPCWSTR lpFilterName, LPCWSTR lpVolumeName, LPCWSTR lpInstanceName,
			    DWORD dwCreatedInstanceNameLength, LPWSTR lpCreatedInstanceName)
{
	return FilterAttachAtAltitude(lpFilterName, lpVolumeName, NULL, lpInstanceName,
				      dwCreatedInstanceNameLength, lpCreatedInstanceName);
}

HRESULT WINAPI FilterDetach(LPCWSTR lpFilterName, LPCWSTR lpVolumeName, LPCWSTR lpInstanceName)
{
	char filter[256], volume[1024], instance[256];
	struct fm_request req = {
	    .type = FM_MSG_DETACH, .filter = filter, .volume = volume, .instance = instance};

	if (!arg8(lpFilterName, filter, sizeof(filter), false) ||
	    !arg8(lpVolumeName, volume, sizeof(volume), false) ||
	    !arg8(lpInstanceName, instance, sizeof(instance), true))
		return E_INVALIDARG;
	return control(&req);
}

/* ---- Enumeration: a listing is fetched once, at FindFirst, and walked by FindNext ---- */

enum fl_find_what { FL_FIND_FILTERS, FL_FIND_INSTANCES, FL_FIND_VOLUMES };

struct fl_find {
	struct fl_obj o;
	enum fl_find_what what;
	int info_class;
	struct fm_reply rep;  /* row 0 is the header */
	uint32_t next;	      /* next data row, 1-based */
	bool have_vols;	      /* vols fetched (instance aggregate information needs them) */
	struct fm_reply vols; /* the volume listing, for the file system types */
};

/* UTF-8 -> UTF-16 units (no NUL) into out; the unit count needed (portwire.h). */
static size_t to16(const char *in, WCHAR *out, size_t cap)
{
	return fm_pw_utf8_to_utf16(in, (uint16_t *)out, cap);
}

static const char *cell(const struct fl_find *f, uint32_t row, uint32_t col)
{
	return col < f->rep.ncols ? f->rep.cells[row * f->rep.ncols + col] : "";
}

static FLT_FILESYSTEM_TYPE fs_type_of(const char *name)
{
	static const struct {
		const char *name;
		FLT_FILESYSTEM_TYPE type;
	} map[] = {{"NTFS", FLT_FSTYPE_NTFS},	{"FAT", FLT_FSTYPE_FAT},
		   {"EXFAT", FLT_FSTYPE_EXFAT}, {"REFS", FLT_FSTYPE_REFS},
		   {"CDFS", FLT_FSTYPE_CDFS},	{"UDFS", FLT_FSTYPE_UDFS},
		   {"RAW", FLT_FSTYPE_RAW}};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(map[i].name, name) == 0)
			return map[i].type;
	return FLT_FSTYPE_UNKNOWN;
}

/* The file system type of the volume mounted at `dos` (the volume listing is fetched once per
 * find handle, on first use). */
static FLT_FILESYSTEM_TYPE volume_fs_type(struct fl_find *f, const char *dos)
{
	struct fm_request req = {.type = FM_MSG_LIST_VOLUMES};

	if (!f->have_vols) {
		if (FAILED(control_reply(&req, &f->vols)))
			return FLT_FSTYPE_UNKNOWN;
		f->have_vols = true;
	}
	for (uint32_t r = 1; r < f->vols.nrows && f->vols.ncols >= 3; r++)
		if (strcmp(f->vols.cells[r * f->vols.ncols], dos) == 0)
			return fs_type_of(f->vols.cells[r * f->vols.ncols + 2]);
	return FLT_FSTYPE_UNKNOWN;
}

static void find_free(struct fl_find *f)
{
	fm_proto_reply_free(&f->rep);
	if (f->have_vols)
		fm_proto_reply_free(&f->vols);
	f->o.magic = 0;
	free(f);
}

/* A structure with a fixed part and up to three strings placed after it (offsets from the
 * start).  Fills what fits; returns the total size needed. */
struct fl_str {
	const char *s;
	USHORT *len;	/* byte length field, or NULL */
	USHORT *offset; /* offset field, or NULL when the string is inline at `fixed` */
};

static DWORD place(unsigned char *buf, DWORD size, DWORD fixed, struct fl_str *strs, int n)
{
	DWORD at = fixed;

	for (int i = 0; i < n; i++) {
		size_t units = to16(strs[i].s, NULL, 0);
		DWORD bytes = (DWORD)(units * sizeof(WCHAR));

		at = (at + 1) & ~1u;
		if (at + bytes <= size) {
			to16(strs[i].s, (WCHAR *)(buf + at), units);
			if (strs[i].len)
				*strs[i].len = (USHORT)bytes;
			if (strs[i].offset)
				*strs[i].offset = (USHORT)at;
		}
		at += bytes;
	}
	return at;
}

/*
 * The minifilter entry of FILTER_AGGREGATE_BASIC_INFORMATION or _STANDARD_INFORMATION: the
 * same fields at other offsets (fill()'s locals: buf, size, name, alt, frame, ninst, ...).
 */
#define FILL_AGGREGATE(T)                                                                          \
	do {                                                                                       \
		T *ai_ = (T *)buf;                                                                 \
                                                                                                   \
		fixed = sizeof(T);                                                                 \
		need = place(buf, 0, fixed,                                                        \
			     (struct fl_str[]){{name, &dummy_len, NULL}, {alt, &dummy_len, NULL}}, \
			     2);                                                                   \
		fits = need <= size;                                                               \
		if (fits) {                                                                        \
			memset(buf, 0, fixed);                                                     \
			ai_->Flags = FLTFL_AGGREGATE_INFO_IS_MINIFILTER;                           \
			ai_->Type.MiniFilter.FrameID = frame;                                      \
			ai_->Type.MiniFilter.NumberOfInstances = ninst;                            \
			place(                                                                     \
			    buf, size, fixed,                                                      \
			    (struct fl_str[]){{name, &ai_->Type.MiniFilter.FilterNameLength,       \
					       &ai_->Type.MiniFilter.FilterNameBufferOffset},      \
					      {alt, &ai_->Type.MiniFilter.FilterAltitudeLength,    \
					       &ai_->Type.MiniFilter.FilterAltitudeBufferOffset}}, \
			    2);                                                                    \
		}                                                                                  \
	} while (0)

/* Fill one entry for row `row`; S_OK or ERROR_INSUFFICIENT_BUFFER with *ret = needed. */
static HRESULT fill(struct fl_find *f, uint32_t row, LPVOID lpBuffer, DWORD size, LPDWORD ret)
{
	unsigned char *buf = lpBuffer;
	DWORD need = 0, fixed = 0;
	USHORT dummy_len;
	bool fits;

	/* A first pass sizes the entry; the buffer is written only if all of it fits. */
	if (f->what == FL_FIND_FILTERS) {
		const char *name = cell(f, row, 0), *alt = cell(f, row, 2);
		ULONG ninst = (ULONG)strtoul(cell(f, row, 1), NULL, 10);
		ULONG frame = (ULONG)strtoul(cell(f, row, 3), NULL, 10);

		if (f->info_class == FilterFullInformation) {
			PFILTER_FULL_INFORMATION fi = (PFILTER_FULL_INFORMATION)buf;
			fixed = FIELD_OFFSET(FILTER_FULL_INFORMATION, FilterNameBuffer);
			need = place(buf, 0, fixed, (struct fl_str[]){{name, &dummy_len, NULL}}, 1);
			fits = need <= size;
			if (fits) {
				memset(buf, 0, fixed);
				fi->FrameID = frame;
				fi->NumberOfInstances = ninst;
				place(buf, size, fixed,
				      (struct fl_str[]){{name, &fi->FilterNameLength, NULL}}, 1);
			}
		} else if (f->info_class == FilterAggregateBasicInformation) {
			FILL_AGGREGATE(FILTER_AGGREGATE_BASIC_INFORMATION);
		} else if (f->info_class == FilterAggregateStandardInformation) {
			FILL_AGGREGATE(FILTER_AGGREGATE_STANDARD_INFORMATION);
		} else {
			return E_INVALIDARG;
		}
	} else if (f->what == FL_FIND_VOLUMES) {
		const char *dev = cell(f, row, 1);

		if (f->info_class == FilterVolumeBasicInformation) {
			PFILTER_VOLUME_BASIC_INFORMATION vb = (PFILTER_VOLUME_BASIC_INFORMATION)buf;
			fixed = FIELD_OFFSET(FILTER_VOLUME_BASIC_INFORMATION, FilterVolumeName);
			need = place(buf, 0, fixed, (struct fl_str[]){{dev, &dummy_len, NULL}}, 1);
			fits = need <= size;
			if (fits)
				place(buf, size, fixed,
				      (struct fl_str[]){{dev, &vb->FilterVolumeNameLength, NULL}},
				      1);
		} else if (f->info_class == FilterVolumeStandardInformation) {
			PFILTER_VOLUME_STANDARD_INFORMATION vs =
			    (PFILTER_VOLUME_STANDARD_INFORMATION)buf;
			fixed = FIELD_OFFSET(FILTER_VOLUME_STANDARD_INFORMATION, FilterVolumeName);
			need = place(buf, 0, fixed, (struct fl_str[]){{dev, &dummy_len, NULL}}, 1);
			fits = need <= size;
			if (fits) {
				memset(buf, 0, fixed);
				vs->FileSystemType = fs_type_of(cell(f, row, 2));
				place(buf, size, fixed,
				      (struct fl_str[]){{dev, &vs->FilterVolumeNameLength, NULL}},
				      1);
			}
		} else {
			return E_INVALIDARG;
		}
	} else {
		const char *filter = cell(f, row, 0), *vol = cell(f, row, 1),
			   *alt = cell(f, row, 2), *inst = cell(f, row, 3);

		if (f->info_class == InstanceBasicInformation) {
			PINSTANCE_BASIC_INFORMATION ib = (PINSTANCE_BASIC_INFORMATION)buf;
			fixed = sizeof(INSTANCE_BASIC_INFORMATION);
			need = place(buf, 0, fixed, (struct fl_str[]){{inst, &dummy_len, NULL}}, 1);
			fits = need <= size;
			if (fits) {
				memset(buf, 0, fixed);
				place(buf, size, fixed,
				      (struct fl_str[]){{inst, &ib->InstanceNameLength,
							 &ib->InstanceNameBufferOffset}},
				      1);
			}
		} else if (f->info_class == InstancePartialInformation) {
			PINSTANCE_PARTIAL_INFORMATION ip = (PINSTANCE_PARTIAL_INFORMATION)buf;
			fixed = sizeof(INSTANCE_PARTIAL_INFORMATION);
			need = place(
			    buf, 0, fixed,
			    (struct fl_str[]){{inst, &dummy_len, NULL}, {alt, &dummy_len, NULL}},
			    2);
			fits = need <= size;
			if (fits) {
				memset(buf, 0, fixed);
				place(buf, size, fixed,
				      (struct fl_str[]){
					  {inst, &ip->InstanceNameLength,
					   &ip->InstanceNameBufferOffset},
					  {alt, &ip->AltitudeLength, &ip->AltitudeBufferOffset}},
				      2);
			}
		} else if (f->info_class == InstanceFullInformation) {
			PINSTANCE_FULL_INFORMATION ifu = (PINSTANCE_FULL_INFORMATION)buf;
			fixed = sizeof(INSTANCE_FULL_INFORMATION);
			need = place(buf, 0, fixed,
				     (struct fl_str[]){{inst, &dummy_len, NULL},
						       {alt, &dummy_len, NULL},
						       {vol, &dummy_len, NULL},
						       {filter, &dummy_len, NULL}},
				     4);
			fits = need <= size;
			if (fits) {
				memset(buf, 0, fixed);
				place(
				    buf, size, fixed,
				    (struct fl_str[]){
					{inst, &ifu->InstanceNameLength,
					 &ifu->InstanceNameBufferOffset},
					{alt, &ifu->AltitudeLength, &ifu->AltitudeBufferOffset},
					{vol, &ifu->VolumeNameLength, &ifu->VolumeNameBufferOffset},
					{filter, &ifu->FilterNameLength,
					 &ifu->FilterNameBufferOffset}},
				    4);
			}
		} else if (f->info_class == InstanceAggregateStandardInformation) {
			PINSTANCE_AGGREGATE_STANDARD_INFORMATION ia =
			    (PINSTANCE_AGGREGATE_STANDARD_INFORMATION)buf;
			fixed = sizeof(INSTANCE_AGGREGATE_STANDARD_INFORMATION);
			need = place(buf, 0, fixed,
				     (struct fl_str[]){{inst, &dummy_len, NULL},
						       {alt, &dummy_len, NULL},
						       {vol, &dummy_len, NULL},
						       {filter, &dummy_len, NULL}},
				     4);
			fits = need <= size;
			if (fits) {
				memset(buf, 0, fixed);
				ia->Flags = FLTFL_IASI_IS_MINIFILTER;
				ia->Type.MiniFilter.FrameID =
				    (ULONG)strtoul(cell(f, row, 4), NULL, 10);
				ia->Type.MiniFilter.VolumeFileSystemType = volume_fs_type(f, vol);
				place(buf, size, fixed,
				      (struct fl_str[]){
					  {inst, &ia->Type.MiniFilter.InstanceNameLength,
					   &ia->Type.MiniFilter.InstanceNameBufferOffset},
					  {alt, &ia->Type.MiniFilter.AltitudeLength,
					   &ia->Type.MiniFilter.AltitudeBufferOffset},
					  {vol, &ia->Type.MiniFilter.VolumeNameLength,
					   &ia->Type.MiniFilter.VolumeNameBufferOffset},
					  {filter, &ia->Type.MiniFilter.FilterNameLength,
					   &ia->Type.MiniFilter.FilterNameBufferOffset}},
				      4);
			}
		} else {
			return E_INVALIDARG;
		}
	}
	*ret = need;
	return fits ? S_OK : HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER);
}

static HRESULT find_first(enum fl_find_what what, const struct fm_request *req, int info_class,
			  LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned,
			  LPHANDLE lpFind)
{
	struct fl_find *f;
	HRESULT hr;

	if (!lpBytesReturned || !lpFind || (dwBufferSize && !lpBuffer))
		return E_INVALIDARG;
	*lpFind = INVALID_HANDLE_VALUE;
	*lpBytesReturned = 0;
	f = calloc(1, sizeof(*f));
	if (!f)
		return E_OUTOFMEMORY;
	hr = control_reply(req, &f->rep);
	if (FAILED(hr)) {
		free(f);
		return hr;
	}
	hr = hr_from_reply(&f->rep);
	if (SUCCEEDED(hr) && f->rep.nrows <= 1)
		hr = HRESULT_FROM_WIN32(ERROR_NO_MORE_ITEMS);
	if (FAILED(hr)) {
		fm_proto_reply_free(&f->rep);
		free(f);
		return hr;
	}
	f->o.magic = FL_MAGIC;
	f->o.kind = FL_FIND;
	f->what = what;
	f->info_class = info_class;
	f->next = 1;
	hr = fill(f, f->next, lpBuffer, dwBufferSize, lpBytesReturned);
	if (hr == E_INVALIDARG) {
		find_free(f);
		return hr;
	}
	/* Too small: the handle exists and FindNext retries the same entry. */
	if (SUCCEEDED(hr))
		f->next++;
	*lpFind = f;
	return hr;
}

static HRESULT find_next(HANDLE h, enum fl_find_what what, int info_class, LPVOID lpBuffer,
			 DWORD dwBufferSize, LPDWORD lpBytesReturned)
{
	struct fl_find *f = (struct fl_find *)fl_obj_of(h, FL_FIND);
	HRESULT hr;

	if (!f || f->what != what)
		return E_HANDLE;
	if (!lpBytesReturned || (dwBufferSize && !lpBuffer))
		return E_INVALIDARG;
	*lpBytesReturned = 0;
	if (f->next >= f->rep.nrows)
		return HRESULT_FROM_WIN32(ERROR_NO_MORE_ITEMS);
	f->info_class = info_class;
	hr = fill(f, f->next, lpBuffer, dwBufferSize, lpBytesReturned);
	if (SUCCEEDED(hr))
		f->next++;
	return hr;
}

BOOL fl_find_close(struct fl_obj *o)
{
	find_free((struct fl_find *)o);
	return TRUE;
}

/* Column `col` of the row FilterVolumeFindFirst/Next returned last (our extra columns). */
static HRESULT volume_cell(HANDLE hVolumeFind, int col, char *buf, size_t cap)
{
	struct fl_find *f = (struct fl_find *)fl_obj_of(hVolumeFind, FL_FIND);

	if (!f || f->what != FL_FIND_VOLUMES)
		return E_HANDLE;
	if (!buf || !cap)
		return E_INVALIDARG;
	if (f->next <= 1)
		return HRESULT_FROM_WIN32(ERROR_NO_MORE_ITEMS);
	snprintf(buf, cap, "%s", cell(f, f->next - 1, col));
	return S_OK;
}

HRESULT fm_fltlib_volume_backing(HANDLE hVolumeFind, char *buf, size_t cap)
{
	return volume_cell(hVolumeFind, 4, buf, cap);
}

HRESULT fm_fltlib_volume_cache(HANDLE hVolumeFind, char *buf, size_t cap)
{
	return volume_cell(hVolumeFind, 5, buf, cap);
}

HRESULT fm_fltlib_volume_transport(HANDLE hVolumeFind, char *buf, size_t cap)
{
	return volume_cell(hVolumeFind, 6, buf, cap);
}

static HRESULT find_close(HANDLE h, enum fl_find_what what)
{
	struct fl_find *f = (struct fl_find *)fl_obj_of(h, FL_FIND);

	if (!f || f->what != what)
		return E_HANDLE;
	fl_find_close(&f->o);
	return S_OK;
}

HRESULT WINAPI FilterFindFirst(FILTER_INFORMATION_CLASS dwInformationClass, LPVOID lpBuffer,
			       DWORD dwBufferSize, LPDWORD lpBytesReturned, LPHANDLE lpFilterFind)
{
	struct fm_request req = {.type = FM_MSG_LIST_FILTERS};

	return find_first(FL_FIND_FILTERS, &req, dwInformationClass, lpBuffer, dwBufferSize,
			  lpBytesReturned, lpFilterFind);
}

HRESULT WINAPI FilterFindNext(HANDLE hFilterFind, FILTER_INFORMATION_CLASS dwInformationClass,
			      LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned)
{
	return find_next(hFilterFind, FL_FIND_FILTERS, dwInformationClass, lpBuffer, dwBufferSize,
			 lpBytesReturned);
}

HRESULT WINAPI FilterFindClose(HANDLE hFilterFind)
{
	return find_close(hFilterFind, FL_FIND_FILTERS);
}

HRESULT WINAPI FilterVolumeFindFirst(FILTER_VOLUME_INFORMATION_CLASS dwInformationClass,
				     LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned,
				     PHANDLE lpVolumeFind)
{
	struct fm_request req = {.type = FM_MSG_LIST_VOLUMES};

	return find_first(FL_FIND_VOLUMES, &req, dwInformationClass, lpBuffer, dwBufferSize,
			  lpBytesReturned, lpVolumeFind);
}

HRESULT WINAPI FilterVolumeFindNext(HANDLE hVolumeFind,
				    FILTER_VOLUME_INFORMATION_CLASS dwInformationClass,
				    LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned)
{
	return find_next(hVolumeFind, FL_FIND_VOLUMES, dwInformationClass, lpBuffer, dwBufferSize,
			 lpBytesReturned);
}

HRESULT WINAPI FilterVolumeFindClose(HANDLE hVolumeFind)
{
	return find_close(hVolumeFind, FL_FIND_VOLUMES);
}

static HRESULT instances_first(LPCWSTR filter, LPCWSTR volume, INSTANCE_INFORMATION_CLASS cls,
			       LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned,
			       LPHANDLE lpFind)
{
	char f8[256], v8[1024];
	struct fm_request req = {.type = FM_MSG_LIST_INSTANCES, .filter = f8, .volume = v8};

	if (!arg8(filter, f8, sizeof(f8), true) || !arg8(volume, v8, sizeof(v8), true))
		return E_INVALIDARG;
	return find_first(FL_FIND_INSTANCES, &req, cls, lpBuffer, dwBufferSize, lpBytesReturned,
			  lpFind);
}

HRESULT WINAPI FilterInstanceFindFirst(LPCWSTR lpFilterName,
				       INSTANCE_INFORMATION_CLASS dwInformationClass,
				       LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned,
				       LPHANDLE lpFilterInstanceFind)
{
	if (!lpFilterName || !lpFilterName[0])
		return E_INVALIDARG;
	return instances_first(lpFilterName, NULL, dwInformationClass, lpBuffer, dwBufferSize,
			       lpBytesReturned, lpFilterInstanceFind);
}

HRESULT WINAPI FilterInstanceFindNext(HANDLE hFilterInstanceFind,
				      INSTANCE_INFORMATION_CLASS dwInformationClass,
				      LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned)
{
	return find_next(hFilterInstanceFind, FL_FIND_INSTANCES, dwInformationClass, lpBuffer,
			 dwBufferSize, lpBytesReturned);
}

HRESULT WINAPI FilterInstanceFindClose(HANDLE hFilterInstanceFind)
{
	return find_close(hFilterInstanceFind, FL_FIND_INSTANCES);
}

HRESULT WINAPI FilterVolumeInstanceFindFirst(LPCWSTR lpVolumeName,
					     INSTANCE_INFORMATION_CLASS dwInformationClass,
					     LPVOID lpBuffer, DWORD dwBufferSize,
					     LPDWORD lpBytesReturned, LPHANDLE lpVolumeInstanceFind)
{
	if (!lpVolumeName || !lpVolumeName[0])
		return E_INVALIDARG;
	return instances_first(NULL, lpVolumeName, dwInformationClass, lpBuffer, dwBufferSize,
			       lpBytesReturned, lpVolumeInstanceFind);
}

HRESULT WINAPI FilterVolumeInstanceFindNext(HANDLE hVolumeInstanceFind,
					    INSTANCE_INFORMATION_CLASS dwInformationClass,
					    LPVOID lpBuffer, DWORD dwBufferSize,
					    LPDWORD lpBytesReturned)
{
	return find_next(hVolumeInstanceFind, FL_FIND_INSTANCES, dwInformationClass, lpBuffer,
			 dwBufferSize, lpBytesReturned);
}

HRESULT WINAPI FilterVolumeInstanceFindClose(HANDLE hVolumeInstanceFind)
{
	return find_close(hVolumeInstanceFind, FL_FIND_INSTANCES);
}

HRESULT WINAPI FilterGetDosName(LPCWSTR lpVolumeName, LPWSTR lpDosName, DWORD dwDosNameBufferSize)
{
	char v8[1024];
	struct fm_request req = {.type = FM_MSG_LIST_VOLUMES};
	struct fl_find f = {.what = FL_FIND_VOLUMES};
	HRESULT hr;

	if (!arg8(lpVolumeName, v8, sizeof(v8), false) || !lpDosName || !dwDosNameBufferSize)
		return E_INVALIDARG;
	hr = control_reply(&req, &f.rep);
	if (FAILED(hr))
		return hr;
	hr = hr_from_reply(&f.rep);
	if (SUCCEEDED(hr)) {
		hr = HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
		/* Either name of the volume finds it; the DOS name is its Linux mount point. */
		for (uint32_t r = 1; r < f.rep.nrows; r++) {
			if (strcasecmp(cell(&f, r, 1), v8) == 0 ||
			    strcmp(cell(&f, r, 0), v8) == 0) {
				/* dwDosNameBufferSize is in characters, with the NUL. */
				size_t n = to16(cell(&f, r, 0), NULL, 0);
				if (n + 1 > dwDosNameBufferSize) {
					hr = HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER);
				} else {
					to16(cell(&f, r, 0), lpDosName, n);
					lpDosName[n] = 0;
					hr = S_OK;
				}
				break;
			}
		}
	}
	fm_proto_reply_free(&f.rep);
	return hr;
}

/* ---- Filter and instance handles: a name, looked up in a fresh listing at each query ---- */

struct fl_filter {
	struct fl_obj o;
	char name[256];
};

struct fl_instance {
	struct fl_obj o;
	char filter[256];
	char volume[1024]; /* the daemon's name for the volume (its mount point) */
	char instance[256];
};

/*
 * Fetch a listing (req) and find the row for which match() holds; on S_OK *f holds the
 * listing (release with fm_proto_reply_free(&f->rep)) and *row the row.  `missing` is the
 * HRESULT when no row matches.
 */
static HRESULT lookup(const struct fm_request *req, enum fl_find_what what, struct fl_find *f,
		      bool (*match)(const struct fl_find *f, uint32_t row, const void *arg),
		      const void *arg, HRESULT missing, uint32_t *row)
{
	HRESULT hr;

	memset(f, 0, sizeof(*f));
	f->what = what;
	hr = control_reply(req, &f->rep);
	if (FAILED(hr))
		return hr;
	hr = hr_from_reply(&f->rep);
	if (SUCCEEDED(hr)) {
		hr = missing;
		for (uint32_t r = 1; r < f->rep.nrows; r++) {
			if (match(f, r, arg)) {
				*row = r;
				return S_OK;
			}
		}
	}
	fm_proto_reply_free(&f->rep);
	return hr;
}

static bool filter_row(const struct fl_find *f, uint32_t row, const void *name)
{
	return strcasecmp(cell(f, row, 0), name) == 0;
}

/* The instance row wanted: a given name, or (name "") the first the listing has. */
static bool instance_row(const struct fl_find *f, uint32_t row, const void *name)
{
	return !*(const char *)name || strcasecmp(cell(f, row, 3), name) == 0;
}

HRESULT WINAPI FilterCreate(LPCWSTR lpFilterName, HFILTER *hFilter)
{
	struct fm_request req = {.type = FM_MSG_LIST_FILTERS};
	struct fl_filter *h;
	struct fl_find f;
	uint32_t row;
	char name[256];
	HRESULT hr;

	if (!hFilter)
		return E_INVALIDARG;
	*hFilter = INVALID_HANDLE_VALUE;
	if (!arg8(lpFilterName, name, sizeof(name), false))
		return E_INVALIDARG;
	hr = lookup(&req, FL_FIND_FILTERS, &f, filter_row, name, ERROR_FLT_FILTER_NOT_FOUND, &row);
	if (FAILED(hr))
		return hr;
	h = calloc(1, sizeof(*h));
	if (h) {
		h->o.magic = FL_MAGIC;
		h->o.kind = FL_FILTER;
		/* The name as the filter manager spells it. */
		snprintf(h->name, sizeof(h->name), "%s", cell(&f, row, 0));
	}
	fm_proto_reply_free(&f.rep);
	if (!h)
		return E_OUTOFMEMORY;
	*hFilter = (HFILTER)h;
	return S_OK;
}

HRESULT WINAPI FilterClose(HFILTER hFilter)
{
	struct fl_filter *h = (struct fl_filter *)fl_obj_of(hFilter, FL_FILTER);

	if (!h)
		return E_HANDLE;
	h->o.magic = 0;
	free(h);
	return S_OK;
}

HRESULT WINAPI FilterGetInformation(HFILTER hFilter, FILTER_INFORMATION_CLASS dwInformationClass,
				    LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned)
{
	struct fl_filter *h = (struct fl_filter *)fl_obj_of(hFilter, FL_FILTER);
	struct fm_request req = {.type = FM_MSG_LIST_FILTERS};
	struct fl_find f;
	uint32_t row;
	HRESULT hr;

	if (!h)
		return E_HANDLE;
	if (!lpBytesReturned || (dwBufferSize && !lpBuffer))
		return E_INVALIDARG;
	*lpBytesReturned = 0;
	/* The filter may have been unloaded since FilterCreate. */
	hr = lookup(&req, FL_FIND_FILTERS, &f, filter_row, h->name, ERROR_FLT_FILTER_NOT_FOUND,
		    &row);
	if (FAILED(hr))
		return hr;
	f.info_class = dwInformationClass;
	hr = fill(&f, row, lpBuffer, dwBufferSize, lpBytesReturned);
	fm_proto_reply_free(&f.rep);
	return hr;
}

HRESULT WINAPI FilterInstanceCreate(LPCWSTR lpFilterName, LPCWSTR lpVolumeName,
				    LPCWSTR lpInstanceName, HFILTER_INSTANCE *hInstance)
{
	char filter[256], volume[1024], instance[256];
	struct fm_request req = {.type = FM_MSG_LIST_INSTANCES, .filter = filter, .volume = volume};
	struct fl_instance *h;
	struct fl_find f;
	uint32_t row;
	HRESULT hr;

	if (!hInstance)
		return E_INVALIDARG;
	*hInstance = INVALID_HANDLE_VALUE;
	if (!arg8(lpFilterName, filter, sizeof(filter), false) ||
	    !arg8(lpVolumeName, volume, sizeof(volume), false) ||
	    !arg8(lpInstanceName, instance, sizeof(instance), true))
		return E_INVALIDARG;
	hr = lookup(&req, FL_FIND_INSTANCES, &f, instance_row, instance,
		    ERROR_FLT_INSTANCE_NOT_FOUND, &row);
	if (FAILED(hr))
		return hr;
	h = calloc(1, sizeof(*h));
	if (h) {
		h->o.magic = FL_MAGIC;
		h->o.kind = FL_INSTANCE;
		snprintf(h->filter, sizeof(h->filter), "%s", cell(&f, row, 0));
		snprintf(h->volume, sizeof(h->volume), "%s", cell(&f, row, 1));
		snprintf(h->instance, sizeof(h->instance), "%s", cell(&f, row, 3));
	}
	fm_proto_reply_free(&f.rep);
	if (!h)
		return E_OUTOFMEMORY;
	*hInstance = (HFILTER_INSTANCE)h;
	return S_OK;
}

HRESULT WINAPI FilterInstanceClose(HFILTER_INSTANCE hInstance)
{
	struct fl_instance *h = (struct fl_instance *)fl_obj_of(hInstance, FL_INSTANCE);

	if (!h)
		return E_HANDLE;
	h->o.magic = 0;
	free(h);
	return S_OK;
}

HRESULT WINAPI FilterInstanceGetInformation(HFILTER_INSTANCE hInstance,
					    INSTANCE_INFORMATION_CLASS dwInformationClass,
					    LPVOID lpBuffer, DWORD dwBufferSize,
					    LPDWORD lpBytesReturned)
{
	struct fl_instance *h = (struct fl_instance *)fl_obj_of(hInstance, FL_INSTANCE);
	struct fm_request req = {.type = FM_MSG_LIST_INSTANCES};
	struct fl_find f;
	uint32_t row;
	HRESULT hr;

	if (!h)
		return E_HANDLE;
	if (!lpBytesReturned || (dwBufferSize && !lpBuffer))
		return E_INVALIDARG;
	*lpBytesReturned = 0;
	req.filter = h->filter;
	req.volume = h->volume;
	/* Detached or unloaded since FilterInstanceCreate: the instance is gone. */
	hr = lookup(&req, FL_FIND_INSTANCES, &f, instance_row, h->instance,
		    ERROR_FLT_INSTANCE_NOT_FOUND, &row);
	if (FAILED(hr))
		return hr;
	f.info_class = dwInformationClass;
	hr = fill(&f, row, lpBuffer, dwBufferSize, lpBytesReturned);
	fm_proto_reply_free(&f.rep);
	if (f.have_vols)
		fm_proto_reply_free(&f.vols);
	return hr;
}

/* ---- What an HRESULT means, for fltmc's messages ---- */

const char *fm_fltlib_hresult_text(HRESULT hr)
{
	static const struct {
		ULONG hr;
		const char *text;
	} texts[] = {
	    {0x00000000u, "The operation completed successfully."},
	    {0x80004005u, "Unspecified error."},
	    {0x80070002u, "The system cannot find the file specified."},
	    {0x80070003u, "The system cannot find the path specified."},
	    {0x80070005u, "Access is denied."},
	    {0x80070006u, "The handle is invalid."},
	    {0x8007000Eu, "Not enough memory is available to complete this operation."},
	    {0x80070057u, "The parameter is incorrect."},
	    {0x8007007Au, "The data area passed to a system call is too small."},
	    {0x800700C1u, "The file is not a valid executable image."},
	    {0x80070103u, "No more data is available."},
	    {0x80070420u, "An instance of the service is already running."},
	    {0x800704C9u, "The filter manager refused the connection or did not answer."},
	    {0x800704D6u, "The connection count limit of the port has been reached."},
	    {0x8007007Fu, "The specified procedure could not be found."},
	    {0x801F0001u, "The filter is already processing this operation."},
	    {0x801F000Cu, "The object is being deleted."},
	    {0x801F000Fu, "The filter declined to attach to the volume at this time."},
	    {0x801F0010u, "The filter declined to detach from the volume at this time."},
	    {0x801F0011u, "An instance already exists at this altitude on the volume."},
	    {0x801F0012u, "An instance already exists with this name on the volume."},
	    {0x801F0013u, "The system could not find the filter specified."},
	    {0x801F0014u, "The system could not find the volume specified."},
	    {0x801F0015u, "The system could not find the instance specified."},
	    {0x801F0020u, "No one was waiting for the reply to this message."},
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (texts[i].hr == (ULONG)hr)
			return texts[i].text;
	if (((ULONG)hr & 0xFFFF0000u) == 0x801F0000u)
		return "A filter manager error.";
	if ((ULONG)hr & 0x10000000u)
		return "An NTSTATUS error (the HRESULT carries it).";
	return FAILED(hr) ? "An error." : "Success.";
}
