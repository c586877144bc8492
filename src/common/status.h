/* The one NTSTATUS <-> errno table, used at every edge that converts between the two. */
#ifndef FM_COMMON_STATUS_H
#define FM_COMMON_STATUS_H

#include <stdint.h>

/* NTSTATUS as a plain 32-bit value, so this header needs no WDK header. */
typedef int32_t fm_ntstatus;

/*
 * errno (positive, e.g. ENOENT; a negative -errno is accepted too) -> NTSTATUS.
 * 0 -> STATUS_SUCCESS.  Never a success code for an error.  Every errno round-trips:
 * fm_errno_from_status(fm_status_from_errno(e)) == e; an errno with no NT counterpart gets a
 * status private to fltmgr, 0xE0FE0000 | errno (see docs/status-errno.md).  Thread-safe.
 */
fm_ntstatus fm_status_from_errno(int err);

/*
 * NTSTATUS -> errno (positive).  Success and informational codes -> 0, except the internal
 * codes that must never reach a process (STATUS_PENDING, STATUS_REPARSE) -> EIO.  A warning
 * or error with no dedicated errno maps to the nearest one (EIO as the last resort), as
 * documented.  Thread-safe.
 */
int fm_errno_from_status(fm_ntstatus status);

/*
 * The symbolic name of a status ("STATUS_ACCESS_DENIED", "FM_STATUS_LINUX_ETXTBSY"), or NULL
 * if the table does not know it.  The string is static.
 */
const char *fm_status_name(fm_ntstatus status);

#endif
