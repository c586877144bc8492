/* Unit tests: libfltlib's management routines (enumeration, filter and instance handles, errors) against a fake fltmgrd control socket. */
#include <windows.h>
#include <fltUser.h>

#include "common/alloc.h"
#include "lib/fltlib_ext.h"
#include "proto/proto.h"
#include "tap.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define ERR(e) HRESULT_FROM_WIN32(e)

static char g_dir[64];
static char g_sock[100];
static int g_lfd = -1;
static pthread_t g_thr;
static int g_requests; /* how many requests the fake daemon answered */

/* ---- The fake daemon: fixed listings, a few canned failures ---- */

static const char *const filters_tab[] = {
    "Filter Name",
    "Num Instances",
    "Altitude",
    "Frame", /* header */
    "scanner",
    "2",
    "265000",
    "0", /* */
    "a-filter-with-a-rather-long-name-for-small-buffers",
    "0",
    "370030.5",
    "0",
};

static const char *const instances_tab[] = {
    "Filter",  "Volume Name", "Altitude", "Instance Name",    "Frame", /* header */
    "scanner", "/mnt/a",      "265000",	  "scanner Instance", "0",     /* */
    "scanner", "/mnt/b",      "265001",	  "second",	      "0",
};

static const char *const volumes_tab[] = {
    "Dos Name",
    "Volume Name",
    "FileSystem",
    "Status",
    "Backing", /* header */
    "/mnt/a",
    "\\Device\\HarddiskVolume1",
    "NTFS",
    "",
    "/srv/a (ext4)",
    "/mnt/b",
    "\\Device\\HarddiskVolume2",
    "EXFAT",
    "",
    "/srv/b (xfs)",
};

static bool vol_match(const char *sel, size_t row)
{
	return !sel[0] || strcmp(sel, volumes_tab[row * 5]) == 0 ||
	       strcasecmp(sel, volumes_tab[row * 5 + 1]) == 0;
}

static void answer(int fd, const struct fm_request *req)
{
	const char *cells[64];
	struct fm_reply rep = {.kind = FM_STATUS_NT, .message = ""};
	uint8_t *buf;
	size_t len;

	switch (req->type) {
	case FM_MSG_LIST_FILTERS:
		rep.ncols = 4;
		rep.nrows = 3;
		rep.cells = filters_tab;
		break;
	case FM_MSG_LIST_VOLUMES:
		rep.ncols = 5;
		rep.nrows = 3;
		rep.cells = volumes_tab;
		break;
	case FM_MSG_LIST_INSTANCES:
		rep.ncols = 5;
		memcpy(cells, instances_tab, 5 * sizeof(cells[0]));
		rep.nrows = 1;
		for (size_t r = 1; r < 3; r++) {
			size_t v = strcmp(instances_tab[r * 5 + 1], "/mnt/a") == 0 ? 1 : 2;

			if (req->filter[0] && strcasecmp(req->filter, instances_tab[r * 5]) != 0)
				continue;
			if (!vol_match(req->volume, v))
				continue;
			memcpy(cells + rep.nrows * 5, instances_tab + r * 5, 5 * sizeof(cells[0]));
			rep.nrows++;
		}
		rep.cells = cells;
		break;
	case FM_MSG_LOAD:
		rep.status = (int32_t)STATUS_OBJECT_NAME_NOT_FOUND;
		rep.message = "no service 'x' is registered";
		break;
	case FM_MSG_UNLOAD:
		/* flags travel: mandatory answers success, the plain one a refusal. */
		rep.status = req->flags ? 0 : (int32_t)0xC01C0010; /* STATUS_FLT_DO_NOT_DETACH */
		break;
	default:
		rep.kind = FM_STATUS_ERRNO;
		rep.status = -EINVAL;
		rep.message = "unexpected request";
	}
	if (fm_proto_encode_reply(&rep, &buf, &len) == 0) {
		fm_proto_send(fd, buf, len, 5000);
		fm_free(buf);
	}
}

static void *daemon_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct fm_request req;
		uint8_t *payload = NULL;
		uint32_t plen;
		uint16_t type;
		int fd = accept(g_lfd, NULL, NULL);

		if (fd < 0)
			return NULL;
		if (fm_proto_recv(fd, 5000, &type, &payload, &plen) == 0 &&
		    fm_proto_decode_request(type, payload, plen, &req) == 0) {
			answer(fd, &req);
			fm_proto_request_free(&req);
			__atomic_add_fetch(&g_requests, 1, __ATOMIC_SEQ_CST);
		}
		fm_free(payload);
		close(fd);
	}
}

static void setup(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	snprintf(g_dir, sizeof(g_dir), "/tmp/fltmgmt-test-XXXXXX");
	if (!mkdtemp(g_dir))
		return;
	snprintf(g_sock, sizeof(g_sock), "%s/%s", g_dir, FM_PROTO_SOCKET);
	memcpy(a.sun_path, g_sock, strlen(g_sock) + 1);
	g_lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(g_lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(g_lfd, 8) < 0)
		printf("# setup: cannot listen on %s: %s\n", g_sock, strerror(errno));
	setenv("FLTMGR_ROOT", g_dir, 1);
	pthread_create(&g_thr, NULL, daemon_main, NULL);
}

static void teardown(void)
{
	shutdown(g_lfd, SHUT_RDWR);
	pthread_join(g_thr, NULL);
	close(g_lfd);
	unlink(g_sock);
	rmdir(g_dir);
}

/* The UTF-16 string of `bytes` bytes at base + offset equals the ASCII s. */
static bool str_at(const void *base, size_t offset, size_t bytes, const char *s)
{
	const WCHAR *w = (const WCHAR *)((const char *)base + offset);
	size_t n = strlen(s);

	if (bytes != n * sizeof(WCHAR))
		return false;
	for (size_t i = 0; i < n; i++)
		if (w[i] != (WCHAR)(unsigned char)s[i])
			return false;
	return true;
}

static LPCWSTR W(const char *s, WCHAR *buf)
{
	size_t i;

	for (i = 0; s[i]; i++)
		buf[i] = (WCHAR)(unsigned char)s[i];
	buf[i] = 0;
	return buf;
}

static union {
	ULONGLONG align;
	unsigned char b[4096];
} u;

/* ---- Tests ---- */

static void t_layouts(void)
{
	/* The documented x64 layouts of fltUserStructures.h. */
	/* FILTER_FULL_INFORMATION name at 14 */
	TAP_EQ_INT((long)offsetof(FILTER_FULL_INFORMATION, FilterNameBuffer), 14);
	/* FILTER_AGGREGATE_BASIC_INFORMATION is 24 bytes */
	TAP_EQ_INT((long)sizeof(FILTER_AGGREGATE_BASIC_INFORMATION), 24);
	/* FILTER_AGGREGATE_STANDARD_INFORMATION is 28 bytes */
	TAP_EQ_INT((long)sizeof(FILTER_AGGREGATE_STANDARD_INFORMATION), 28);
	/* FILTER_VOLUME_STANDARD_INFORMATION name at 18 */
	TAP_EQ_INT((long)offsetof(FILTER_VOLUME_STANDARD_INFORMATION, FilterVolumeName), 18);
	/* INSTANCE_FULL_INFORMATION is 20 bytes */
	TAP_EQ_INT((long)sizeof(INSTANCE_FULL_INFORMATION), 20);
	/* INSTANCE_AGGREGATE_STANDARD_INFORMATION is 40 bytes */
	TAP_EQ_INT((long)sizeof(INSTANCE_AGGREGATE_STANDARD_INFORMATION), 40);
}

static void t_filter_find(void)
{
	PFILTER_FULL_INFORMATION fi = (PVOID)u.b;
	PFILTER_AGGREGATE_STANDARD_INFORMATION si = (PVOID)u.b;
	HANDLE h = INVALID_HANDLE_VALUE;
	DWORD ret = 0;
	HRESULT hr;

	hr = FilterFindFirst(FilterFullInformation, u.b, sizeof(u.b), &ret, &h);
	/* FilterFindFirst(Full) */
	TAP_EQ_INT((HRESULT)hr, S_OK);
	/* name, instances, frame */
	TAP_CHECK(str_at(fi, 14, fi->FilterNameLength, "scanner") && fi->NumberOfInstances == 2 &&
		  fi->FrameID == 0 && fi->NextEntryOffset == 0);
	/* bytes returned: fixed part + name */
	TAP_EQ_INT((long)ret, 14 + 7 * 2);
	/* Too small for the next entry: the size needed, then the same entry. */
	hr = FilterFindNext(h, FilterAggregateStandardInformation, u.b, 40, &ret);
	/* a small buffer: ERROR_INSUFFICIENT_BUFFER */
	TAP_EQ_INT((HRESULT)hr, (HRESULT)ERR(ERROR_INSUFFICIENT_BUFFER));
	/* with the size needed */
	TAP_CHECK(ret > 40);
	hr = FilterFindNext(h, FilterAggregateStandardInformation, u.b, ret, &ret);
	/* that size is enough */
	TAP_EQ_INT((HRESULT)hr, S_OK);
	/* the same entry comes again, as a minifilter with its altitude */
	TAP_CHECK(si->Flags == FLTFL_AGGREGATE_INFO_IS_MINIFILTER &&
		  str_at(si, si->Type.MiniFilter.FilterNameBufferOffset,
			 si->Type.MiniFilter.FilterNameLength,
			 "a-filter-with-a-rather-long-name-for-small-buffers") &&
		  str_at(si, si->Type.MiniFilter.FilterAltitudeBufferOffset,
			 si->Type.MiniFilter.FilterAltitudeLength, "370030.5"));
	hr = FilterFindNext(h, FilterFullInformation, u.b, sizeof(u.b), &ret);
	/* then ERROR_NO_MORE_ITEMS */
	TAP_EQ_INT((HRESULT)hr, (HRESULT)ERR(ERROR_NO_MORE_ITEMS));
	/* FilterFindClose */
	TAP_EQ_INT((HRESULT)FilterFindClose(h), S_OK);
	/* not a find handle: E_HANDLE (a closed one is freed memory, as on Windows) */
	TAP_EQ_INT((HRESULT)FilterFindClose(INVALID_HANDLE_VALUE), (HRESULT)E_HANDLE);
	hr = FilterFindFirst(FilterFullInformation, u.b, sizeof(u.b), NULL, &h);
	/* no lpBytesReturned: E_INVALIDARG */
	TAP_EQ_INT((HRESULT)hr, (HRESULT)E_INVALIDARG);
	hr = FilterFindFirst((FILTER_INFORMATION_CLASS)7, u.b, sizeof(u.b), &ret, &h);
	/* an unknown class: E_INVALIDARG */
	TAP_EQ_INT((HRESULT)hr, (HRESULT)E_INVALIDARG);
}

static void t_filter_handle(void)
{
	PFILTER_AGGREGATE_BASIC_INFORMATION bi = (PVOID)u.b;
	WCHAR w[64];
	HFILTER f = NULL;
	DWORD ret = 0;
	HRESULT hr;

	hr = FilterCreate(W("nosuch", w), &f);
	/* FilterCreate of no such filter: ERROR_FLT_FILTER_NOT_FOUND */
	TAP_EQ_INT((HRESULT)hr, (HRESULT)0x801F0013u);
	/* and the handle is INVALID_HANDLE_VALUE */
	TAP_CHECK(f == INVALID_HANDLE_VALUE);
	/* FilterCreate(NULL name) */
	TAP_EQ_INT((HRESULT)FilterCreate(NULL, &f), (HRESULT)E_INVALIDARG);
	hr = FilterCreate(W("SCANNER", w), &f);
	/* FilterCreate (names compare case-insensitively) */
	TAP_EQ_INT((HRESULT)hr, S_OK);
	hr = FilterGetInformation(f, FilterAggregateBasicInformation, u.b, 8, &ret);
	/* FilterGetInformation into 8 bytes: ERROR_INSUFFICIENT_BUFFER */
	TAP_EQ_INT((HRESULT)hr, (HRESULT)ERR(ERROR_INSUFFICIENT_BUFFER));
	/* needed: 24 + name + altitude */
	TAP_EQ_INT((long)ret, 24 + 7 * 2 + 6 * 2);
	hr = FilterGetInformation(f, FilterAggregateBasicInformation, u.b, sizeof(u.b), &ret);
	/* FilterGetInformation(AggregateBasic) */
	TAP_EQ_INT((HRESULT)hr, S_OK);
	/* name, altitude, instances */
	TAP_CHECK(str_at(bi, bi->Type.MiniFilter.FilterNameBufferOffset,
			 bi->Type.MiniFilter.FilterNameLength, "scanner") &&
		  str_at(bi, bi->Type.MiniFilter.FilterAltitudeBufferOffset,
			 bi->Type.MiniFilter.FilterAltitudeLength, "265000") &&
		  bi->Type.MiniFilter.NumberOfInstances == 2);
	hr = FilterGetInformation(f, FilterFullInformation, u.b, sizeof(u.b), NULL);
	/* no lpBytesReturned: E_INVALIDARG */
	TAP_EQ_INT((HRESULT)hr, (HRESULT)E_INVALIDARG);
	/* FilterClose */
	TAP_EQ_INT((HRESULT)FilterClose(f), S_OK);
	/* not a filter handle: E_HANDLE */
	TAP_EQ_INT((HRESULT)FilterClose(NULL), (HRESULT)E_HANDLE);
	hr = FilterGetInformation(INVALID_HANDLE_VALUE, FilterFullInformation, u.b, sizeof(u.b),
				  &ret);
	/* FilterGetInformation on a handle that is none: E_HANDLE */
	TAP_EQ_INT((HRESULT)hr, (HRESULT)E_HANDLE);
}

static void t_instance_handle(void)
{
	PINSTANCE_FULL_INFORMATION fu = (PVOID)u.b;
	PINSTANCE_AGGREGATE_STANDARD_INFORMATION ia = (PVOID)u.b;
	WCHAR a[64], b[64], c[64];
	HFILTER_INSTANCE i = NULL;
	DWORD ret = 0;
	HRESULT hr;

	hr = FilterInstanceCreate(W("scanner", a), W("/mnt/b", b), NULL, &i);
	/* FilterInstanceCreate without a name: the first on the volume */
	TAP_EQ_INT((HRESULT)hr, S_OK);
	hr = FilterInstanceGetInformation(i, InstanceFullInformation, u.b, sizeof(u.b), &ret);
	/* FilterInstanceGetInformation(Full) */
	TAP_EQ_INT((HRESULT)hr, S_OK);
	/* instance, altitude, volume, filter */
	TAP_CHECK(str_at(fu, fu->InstanceNameBufferOffset, fu->InstanceNameLength, "second") &&
		  str_at(fu, fu->AltitudeBufferOffset, fu->AltitudeLength, "265001") &&
		  str_at(fu, fu->VolumeNameBufferOffset, fu->VolumeNameLength, "/mnt/b") &&
		  str_at(fu, fu->FilterNameBufferOffset, fu->FilterNameLength, "scanner"));
	hr = FilterInstanceGetInformation(i, InstanceAggregateStandardInformation, u.b, sizeof(u.b),
					  &ret);
	/* FilterInstanceGetInformation(AggregateStandard) */
	TAP_EQ_INT((HRESULT)hr, S_OK);
	/* a minifilter on an EXFAT volume */
	TAP_CHECK(ia->Flags == FLTFL_IASI_IS_MINIFILTER &&
		  ia->Type.MiniFilter.VolumeFileSystemType == FLT_FSTYPE_EXFAT &&
		  str_at(ia, ia->Type.MiniFilter.InstanceNameBufferOffset,
			 ia->Type.MiniFilter.InstanceNameLength, "second"));
	hr = FilterInstanceGetInformation(i, InstanceBasicInformation, u.b, 8, &ret);
	/* too small: ERROR_INSUFFICIENT_BUFFER */
	TAP_EQ_INT((HRESULT)hr, (HRESULT)ERR(ERROR_INSUFFICIENT_BUFFER));
	/* needed: 8 + the name */
	TAP_EQ_INT((long)ret, 8 + 6 * 2);
	/* FilterInstanceClose */
	TAP_EQ_INT((HRESULT)FilterInstanceClose(i), S_OK);
	/* not an instance handle: E_HANDLE */
	TAP_EQ_INT((HRESULT)FilterInstanceClose(INVALID_HANDLE_VALUE), (HRESULT)E_HANDLE);
	hr = FilterInstanceCreate(W("scanner", a), W("\\Device\\HarddiskVolume1", b),
				  W("scanner instance", c), &i);
	/* by device name and instance name */
	TAP_EQ_INT((HRESULT)hr, S_OK);
	FilterInstanceClose(i);
	hr = FilterInstanceCreate(W("scanner", a), W("/mnt/a", b), W("second", c), &i);
	/* an instance not on that volume: ERROR_FLT_INSTANCE_NOT_FOUND */
	TAP_EQ_INT((HRESULT)hr, (HRESULT)0x801F0015u);
	/* and INVALID_HANDLE_VALUE */
	TAP_CHECK(i == INVALID_HANDLE_VALUE);
}

static void t_volume_find(void)
{
	PFILTER_VOLUME_STANDARD_INFORMATION vs = (PVOID)u.b;
	PINSTANCE_PARTIAL_INFORMATION ip = (PVOID)u.b;
	WCHAR w[64], dos[8];
	char backing[64];
	HANDLE h = INVALID_HANDLE_VALUE;
	DWORD ret = 0;
	HRESULT hr;

	hr = FilterVolumeFindFirst(FilterVolumeStandardInformation, u.b, sizeof(u.b), &ret, &h);
	/* FilterVolumeFindFirst(Standard) */
	TAP_EQ_INT((HRESULT)hr, S_OK);
	/* device name and NTFS */
	TAP_CHECK(str_at(vs, 18, vs->FilterVolumeNameLength, "\\Device\\HarddiskVolume1") &&
		  vs->FileSystemType == FLT_FSTYPE_NTFS);
	hr = fm_fltlib_volume_backing(h, backing, sizeof(backing));
	/* the backing directory (extension) */
	TAP_CHECK(hr == S_OK && !strcmp(backing, "/srv/a (ext4)"));
	FilterVolumeFindClose(h);
	hr = FilterVolumeInstanceFindFirst(W("/mnt/b", w), InstancePartialInformation, u.b,
					   sizeof(u.b), &ret, &h);
	/* FilterVolumeInstanceFindFirst(Partial) */
	TAP_EQ_INT((HRESULT)hr, S_OK);
	/* the instance and altitude */
	TAP_CHECK(str_at(ip, ip->InstanceNameBufferOffset, ip->InstanceNameLength, "second") &&
		  str_at(ip, ip->AltitudeBufferOffset, ip->AltitudeLength, "265001"));
	hr = FilterVolumeInstanceFindNext(h, InstancePartialInformation, u.b, sizeof(u.b), &ret);
	/* one instance only */
	TAP_EQ_INT((HRESULT)hr, (HRESULT)ERR(ERROR_NO_MORE_ITEMS));
	FilterVolumeInstanceFindClose(h);
	hr = FilterGetDosName(W("\\Device\\HarddiskVolume2", w), dos, 4);
	/* FilterGetDosName into 4 characters: ERROR_INSUFFICIENT_BUFFER */
	TAP_EQ_INT((HRESULT)hr, (HRESULT)ERR(ERROR_INSUFFICIENT_BUFFER));
	hr = FilterGetDosName(W("\\Device\\HarddiskVolume9", w), dos, 8);
	/* FilterGetDosName of no volume: ERROR_FILE_NOT_FOUND */
	TAP_EQ_INT((HRESULT)hr, (HRESULT)ERR(ERROR_FILE_NOT_FOUND));
}

static void t_last_status(void)
{
	struct fm_fltlib_status st;
	WCHAR w[16];
	HRESULT hr;

	hr = FilterLoad(W("x", w));
	fm_fltlib_last_status(&st);
	/* FilterLoad of no service: ERROR_FILE_NOT_FOUND */
	TAP_EQ_INT((HRESULT)hr, (HRESULT)ERR(ERROR_FILE_NOT_FOUND));
	/* the daemon's NTSTATUS and message are kept */
	TAP_CHECK(st.reached && st.kind == FM_STATUS_NT &&
		  (ULONG)st.status == (ULONG)STATUS_OBJECT_NAME_NOT_FOUND &&
		  !strcmp(st.message, "no service 'x' is registered"));
	/* the HRESULT has a meaning */
	TAP_CHECK(
	    !strcmp(fm_fltlib_hresult_text(hr), "The system cannot find the file specified."));
	hr = FilterUnload(W("x", w));
	/* FilterUnload refused: ERROR_FLT_DO_NOT_DETACH */
	TAP_EQ_INT((HRESULT)hr, (HRESULT)0x801F0010u);
	hr = fm_fltlib_unload(W("x", w), 1);
	/* the mandatory unload (extension) carries its flag */
	TAP_EQ_INT((HRESULT)hr, S_OK);
	setenv("FLTMGR_ROOT", "/nonexistent-fltmgr-root", 1);
	hr = FilterLoad(W("x", w));
	fm_fltlib_last_status(&st);
	/* no daemon: ERROR_CONNECTION_REFUSED */
	TAP_EQ_INT((HRESULT)hr, (HRESULT)ERR(ERROR_CONNECTION_REFUSED));
	/* the status says connecting failed, with the socket and errno */
	TAP_CHECK(!st.reached && st.no_reply_connect && st.sys_errno == ENOENT &&
		  !strcmp(st.socket, "/nonexistent-fltmgr-root/control.sock"));
	setenv("FLTMGR_ROOT", g_dir, 1);
}

int main(void)
{
	TAP_RUN(t_layouts);
	setup();
	TAP_RUN(t_filter_find);
	TAP_RUN(t_filter_handle);
	TAP_RUN(t_instance_handle);
	TAP_RUN(t_volume_find);
	TAP_RUN(t_last_status);
	teardown();
	return tap_done();
}
