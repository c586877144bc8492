/* libfltlib management routines over fltmgrd's control protocol: load, unload, attach, detach. */
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

#define FL_CONTROL_TIMEOUT_MS 30000
#define FL_ERROR_SERVICE_ALREADY_RUNNING 1056L
#define FL_ERROR_CONNECTION_REFUSED 1225L

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

/* One request/reply exchange with fltmgrd at $FLTMGR_ROOT/control.sock. */
static HRESULT control(const struct fm_request *req)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *root = getenv("FLTMGR_ROOT");
	struct fm_reply rep;
	uint8_t *buf = NULL, *payload = NULL;
	size_t len;
	uint32_t plen;
	uint16_t type;
	HRESULT hr;
	int fd, rc, n;

	if (!root || !*root)
		root = FM_PW_DEFAULT_ROOT;
	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", root, FM_PROTO_SOCKET);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return HRESULT_FROM_WIN32(ERROR_INVALID_PARAMETER);
	rc = fm_proto_encode_request(req, &buf, &len);
	if (rc)
		return rc == -ENOMEM ? E_OUTOFMEMORY : E_INVALIDARG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		fm_free(buf);
		return e == EACCES ? E_ACCESSDENIED
				   : HRESULT_FROM_WIN32(FL_ERROR_CONNECTION_REFUSED);
	}
	rc = fm_proto_send(fd, buf, len, FL_CONTROL_TIMEOUT_MS);
	fm_free(buf);
	/* The daemon may refuse a non-root caller before reading: its reply says why. */
	rc = fm_proto_recv(fd, FL_CONTROL_TIMEOUT_MS, &type, &payload, &plen);
	close(fd);
	if (rc == 0 && type != FM_MSG_REPLY)
		rc = -EPROTO;
	if (rc == 0) {
		rc = fm_proto_decode_reply(payload, plen, &rep);
		fm_free(payload);
	}
	if (rc)
		return HRESULT_FROM_WIN32(FL_ERROR_CONNECTION_REFUSED);
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

HRESULT WINAPI FilterUnload(LPCWSTR lpFilterName)
{
	char name[256];
	struct fm_request req = {.type = FM_MSG_UNLOAD, .service = name, .flags = 0};

	if (!arg8(lpFilterName, name, sizeof(name), false))
		return E_INVALIDARG;
	return control(&req);
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
