/* libfltlib internals: the kernel-object-like handles user programs get (ports, IOCPs, events). */
#ifndef FM_LIB_FLTLIB_I_H
#define FM_LIB_FLTLIB_I_H

#include <windows.h>
#include <fltUser.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Every HANDLE libfltlib returns points to one of these; kind says which. */
enum fl_kind {
	FL_PORT = 1,
	FL_IOCP,
	FL_EVENT,
	FL_THREAD,
	FL_SEMAPHORE,
	FL_FIND,
	FL_FILTER,
	FL_INSTANCE
};
#define FL_MAGIC 0x464c4842u

struct fl_obj {
	uint32_t magic;
	enum fl_kind kind;
};

/* The object behind h if it is of `kind`, else NULL (and ERROR_INVALID_HANDLE). */
struct fl_obj *fl_obj_of(HANDLE h, enum fl_kind kind);

/*
 * Queue a completion packet on an I/O completion port (the handle a port was associated with
 * through CreateIoCompletionPort).  error is a Win32 error (0 for success).  Any thread.
 */
void fl_iocp_post(HANDLE iocp, DWORD bytes, ULONG_PTR key, LPOVERLAPPED ov, DWORD error);

/* A port associated with a completion port holds a reference on it (fltport.c). */
void fl_iocp_ref(HANDLE iocp);
void fl_iocp_unref(HANDLE iocp);

/* Port handles: CloseHandle, CancelIoEx and CreateIoCompletionPort forward here (fltport.c). */
BOOL fl_port_close(struct fl_obj *o);
BOOL fl_port_cancel(struct fl_obj *o, LPOVERLAPPED ov);
void fl_port_associate(struct fl_obj *o, HANDLE iocp, ULONG_PTR key);

/* Filter*Find* handles (fltmgmt.c): CloseHandle forwards here. */
BOOL fl_find_close(struct fl_obj *o);

/* NTSTATUS -> Win32 error for the statuses ports produce. */
DWORD fl_nt_to_win32(NTSTATUS st);

#endif
