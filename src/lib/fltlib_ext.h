/* libfltlib's Linux extensions, for fltmc: the daemon's own answer behind an HRESULT, and the control requests FltLib has no routine for. */
#ifndef FM_LIB_FLTLIB_EXT_H
#define FM_LIB_FLTLIB_EXT_H

#include <windows.h>
#include <fltUser.h>

#include "proto/proto.h"

#include <stddef.h>

/*
 * What the calling thread's last exchange with fltmgrd produced.  An HRESULT keeps only a
 * Win32 code; fltmc also shows the NTSTATUS (or errno) and the daemon's explanation.
 * reached = 0: no reply, sys_errno says why (connect or I/O error; ECONNRESET for a peer that
 * closed or answered nonsense) and no_reply_connect says whether connecting failed.
 * reached = 1: kind/status/message are the daemon's reply (fm_reply).
 */
struct fm_fltlib_status {
	int reached;
	int no_reply_connect;
	int sys_errno;
	char socket[108];
	uint32_t kind;
	int32_t status;
	char message[512];
};

/* Copy the calling thread's last status (zeroed if it never talked to fltmgrd). */
void fm_fltlib_last_status(struct fm_fltlib_status *out);

/*
 * One control-protocol exchange for requests with no FltLib routine (register, set, mount,
 * ...), at $FLTMGR_ROOT/control.sock.  S_OK: *rep is the reply, whatever its status
 * (release with fm_proto_reply_free); otherwise HRESULT_FROM_WIN32(ERROR_CONNECTION_REFUSED)
 * or E_ACCESSDENIED (the socket refused us), E_INVALIDARG / E_OUTOFMEMORY (encoding).
 */
HRESULT fm_fltlib_control(const struct fm_request *req, struct fm_reply *rep);

/* FilterUnload with flags: 1 = mandatory (unload even if the filter's unload refuses). */
HRESULT fm_fltlib_unload(LPCWSTR lpFilterName, DWORD flags);

/*
 * The backing directory and its real file system ("/srv/data (ext4)") of the volume a
 * FilterVolumeFindFirst/Next handle returned last; S_OK, E_HANDLE, or
 * HRESULT_FROM_WIN32(ERROR_NO_MORE_ITEMS) before the first entry.
 */
HRESULT fm_fltlib_volume_backing(HANDLE hVolumeFind, char *buf, size_t cap);
/* The same for the volume's cache policy and passthrough state ("auto, passthrough on ..."). */
HRESULT fm_fltlib_volume_cache(HANDLE hVolumeFind, char *buf, size_t cap);
/* The same for the transport in use ("io_uring (2 queues)", "/dev/fuse"). */
HRESULT fm_fltlib_volume_transport(HANDLE hVolumeFind, char *buf, size_t cap);

/* The meaning of an HRESULT libfltlib returns, as a sentence ("The system cannot find the
 * file specified."); a generic text for others.  Static storage. */
const char *fm_fltlib_hresult_text(HRESULT hr);

#endif
