/* The one NTSTATUS <-> errno table, used at every edge that converts between the two. */
#ifndef FM_COMMON_STATUS_H
#define FM_COMMON_STATUS_H

#include <stdint.h>

/* NTSTATUS as a plain 32-bit value, so this header needs no WDK header. */
typedef int32_t fm_ntstatus;

/*
 * errno (positive, e.g. ENOENT) -> NTSTATUS.  0 -> STATUS_SUCCESS.  An errno with no
 * dedicated status maps to the nearest documented status (see docs/status-errno.md), never
 * to a success code.
 */
fm_ntstatus fm_status_from_errno(int err);

/*
 * NTSTATUS -> errno (positive).  Success and informational codes -> 0.  A warning or error
 * with no dedicated errno maps to the nearest one (EIO as the last resort), as documented.
 */
int fm_errno_from_status(fm_ntstatus status);

/* The symbolic name of a status ("STATUS_ACCESS_DENIED"), or NULL if unknown. */
const char *fm_status_name(fm_ntstatus status);

#endif
