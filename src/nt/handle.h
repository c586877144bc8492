/* The process-wide kernel handle table: HANDLEs for keys, threads, events, files ... */
#ifndef FM_NT_HANDLE_H
#define FM_NT_HANDLE_H

#include <ntdef.h>

/* Kinds of objects behind a handle; FM_HANDLE_ANY matches every kind in a lookup. */
enum fm_handle_type {
	FM_HANDLE_ANY = 0,
	FM_HANDLE_KEY,
	FM_HANDLE_THREAD,
	FM_HANDLE_PROCESS,
	FM_HANDLE_EVENT,
	FM_HANDLE_FILE,
	FM_HANDLE_SECTION,
	FM_HANDLE_OTHER,
};

/*
 * Register `object` under a new handle.  close_fn (may be NULL) is called once with the object
 * when the handle is closed (ZwClose/NtClose/fm_handle_close) or at fm_handle_close_all().
 * Returns the handle (a kernel handle: non-NULL, a multiple of 4, high bit set), or NULL when
 * out of memory.  Thread-safe.
 */
HANDLE fm_handle_create(enum fm_handle_type type, void *object, void (*close_fn)(void *object));

/*
 * The object behind `h` if it is of `type` (or any type with FM_HANDLE_ANY), else NULL.  The
 * object stays valid until the handle is closed; closing a handle while another thread uses
 * it is a caller bug, as on Windows. 
 */
void *fm_handle_lookup(HANDLE h, enum fm_handle_type type);
enum fm_handle_type fm_handle_type_of(HANDLE h);

/* Close: 0, or -EBADF for a handle that is not open. */
int fm_handle_close(HANDLE h);

/* Number of open handles (for leak reports). */
size_t fm_handle_count(void);

#endif
