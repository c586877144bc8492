/* The one NTSTATUS <-> errno table: every status a filter may return, every errno Linux may give. */
#include "common/status.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>

#include <ntdef.h>
#include <ntstatus.h>

/*
 * Statuses this table names that include/ntstatus.h does not define, with the values
 * Microsoft documents; tests/unit/common/test_status.c cross-checks every value of the table
 * against an independent ntstatus.h (mingw-w64) when one is installed.
 */
#ifndef STATUS_FLT_BUFFER_TOO_SMALL
#define STATUS_FLT_BUFFER_TOO_SMALL ((fm_ntstatus)0x801C0001)
#endif
#ifndef STATUS_POSSIBLE_DEADLOCK
#define STATUS_POSSIBLE_DEADLOCK ((fm_ntstatus)0xC0000194)
#endif
#ifndef STATUS_FILE_NOT_AVAILABLE
#define STATUS_FILE_NOT_AVAILABLE ((fm_ntstatus)0xC0000467)
#endif
#ifndef STATUS_RESOURCE_IN_USE
#define STATUS_RESOURCE_IN_USE ((fm_ntstatus)0xC0000708)
#endif
#ifndef STATUS_NO_UNICODE_TRANSLATION
#define STATUS_NO_UNICODE_TRANSLATION ((fm_ntstatus)0xC0000717)
#endif
#ifndef STATUS_DISK_QUOTA_EXCEEDED
#define STATUS_DISK_QUOTA_EXCEEDED ((fm_ntstatus)0xC0000802)
#endif
#ifndef STATUS_FILE_TOO_LARGE
#define STATUS_FILE_TOO_LARGE ((fm_ntstatus)0xC0000904)
#endif

/*
 * Statuses private to fltmgr for errnos that have no NT counterpart, so that every errno
 * survives errno -> NTSTATUS -> errno unchanged (a filter that passes an error through must
 * not change what the process sees).  Severity error, customer bit set, facility 0x0FE,
 * code = the errno.
 */
#define FM_STATUS_LINUX_BASE ((uint32_t)0xE0FE0000u)
#define FM_STATUS_LINUX_MAX 4095

enum row_kind {
	ONE_WAY = 0, /* status -> errno only */
	PRIMARY = 1, /* also the status this errno gives */
};

struct status_row {
	uint32_t status; /* unsigned, so the table sorts by the value as printed */
	const char *name;
	int err;
	enum row_kind kind;
};

#define ROW(n, e, k)                                                                               \
	{                                                                                          \
		(uint32_t) STATUS_##n, "STATUS_" #n, e, k                                          \
	}
#define LX(e)                                                                                      \
	{                                                                                          \
		FM_STATUS_LINUX_BASE | (uint32_t)(e), "FM_STATUS_LINUX_" #e, e, PRIMARY            \
	}

/*
 * The table, sorted by status value (unsigned).  docs/status-errno.md lists the same rows;
 * tests/unit/common/test_status.c fails when the two differ or the order breaks.
 */
static const struct status_row table[] = {
    ROW(SUCCESS, 0, ONE_WAY),
    ROW(USER_APC, EINTR, ONE_WAY),
    ROW(ALERTED, EINTR, ONE_WAY),
    ROW(TIMEOUT, 0, ONE_WAY),
    ROW(PENDING, EIO, ONE_WAY),
    ROW(REPARSE, EIO, ONE_WAY),
    ROW(MORE_ENTRIES, 0, ONE_WAY),
    ROW(NOTIFY_CLEANUP, 0, ONE_WAY),
    ROW(NOTIFY_ENUM_DIR, 0, ONE_WAY),
    ROW(FLT_IO_COMPLETE, 0, ONE_WAY),
    ROW(OBJECT_NAME_EXISTS, 0, ONE_WAY),
    ROW(DATATYPE_MISALIGNMENT, EINVAL, ONE_WAY),
    ROW(BUFFER_OVERFLOW, EOVERFLOW, ONE_WAY),
    ROW(NO_MORE_FILES, ENOENT, ONE_WAY),
    ROW(DEVICE_BUSY, EBUSY, ONE_WAY),
    ROW(NO_MORE_EAS, ENODATA, ONE_WAY),
    ROW(EA_LIST_INCONSISTENT, EINVAL, ONE_WAY),
    ROW(NO_MORE_ENTRIES, ENOENT, ONE_WAY),
    ROW(STOPPED_ON_SYMLINK, ELOOP, ONE_WAY),
    ROW(FLT_BUFFER_TOO_SMALL, ERANGE, ONE_WAY),
    ROW(UNSUCCESSFUL, EIO, ONE_WAY),
    ROW(NOT_IMPLEMENTED, ENOSYS, PRIMARY),
    ROW(INVALID_INFO_CLASS, EINVAL, ONE_WAY),
    ROW(INFO_LENGTH_MISMATCH, EINVAL, ONE_WAY),
    ROW(ACCESS_VIOLATION, EFAULT, ONE_WAY),
    ROW(INVALID_HANDLE, EBADF, PRIMARY),
    ROW(INVALID_CID, ESRCH, PRIMARY),
    ROW(INVALID_PARAMETER, EINVAL, PRIMARY),
    ROW(NO_SUCH_DEVICE, ENODEV, PRIMARY),
    ROW(NO_SUCH_FILE, ENOENT, ONE_WAY),
    ROW(INVALID_DEVICE_REQUEST, ENOTTY, PRIMARY),
    ROW(END_OF_FILE, ENODATA, ONE_WAY),
    ROW(NO_MEDIA_IN_DEVICE, ENOMEDIUM, PRIMARY),
    ROW(UNRECOGNIZED_MEDIA, EMEDIUMTYPE, PRIMARY),
    ROW(MORE_PROCESSING_REQUIRED, EIO, ONE_WAY),
    ROW(NO_MEMORY, ENOMEM, PRIMARY),
    ROW(INVALID_LOCK_SEQUENCE, EINVAL, ONE_WAY),
    ROW(ACCESS_DENIED, EACCES, PRIMARY),
    ROW(BUFFER_TOO_SMALL, ERANGE, PRIMARY),
    ROW(OBJECT_TYPE_MISMATCH, EBADF, ONE_WAY),
    ROW(DISK_CORRUPT_ERROR, EUCLEAN, ONE_WAY),
    ROW(OBJECT_NAME_INVALID, EINVAL, ONE_WAY),
    ROW(OBJECT_NAME_NOT_FOUND, ENOENT, PRIMARY),
    ROW(OBJECT_NAME_COLLISION, EEXIST, PRIMARY),
    ROW(PORT_DISCONNECTED, ENOTCONN, PRIMARY),
    ROW(DEVICE_ALREADY_ATTACHED, EBUSY, ONE_WAY),
    ROW(OBJECT_PATH_INVALID, ENOTDIR, ONE_WAY),
    ROW(OBJECT_PATH_NOT_FOUND, ENOENT, ONE_WAY),
    ROW(OBJECT_PATH_SYNTAX_BAD, EINVAL, ONE_WAY),
    ROW(DATA_ERROR, EIO, ONE_WAY),
    ROW(CRC_ERROR, EIO, ONE_WAY),
    ROW(SHARING_VIOLATION, EBUSY, PRIMARY),
    ROW(QUOTA_EXCEEDED, EDQUOT, PRIMARY),
    ROW(THREAD_IS_TERMINATING, EINTR, ONE_WAY),
    ROW(EAS_NOT_SUPPORTED, EOPNOTSUPP, ONE_WAY),
    ROW(EA_TOO_LARGE, E2BIG, PRIMARY),
    ROW(NONEXISTENT_EA_ENTRY, ENODATA, PRIMARY),
    ROW(NO_EAS_ON_FILE, ENODATA, ONE_WAY),
    ROW(EA_CORRUPT_ERROR, EUCLEAN, ONE_WAY),
    ROW(FILE_LOCK_CONFLICT, EAGAIN, ONE_WAY),
    ROW(LOCK_NOT_GRANTED, EAGAIN, PRIMARY),
    ROW(DELETE_PENDING, ENOENT, ONE_WAY),
    ROW(PRIVILEGE_NOT_HELD, EPERM, PRIMARY),
    ROW(INVALID_IMAGE_FORMAT, ENOEXEC, PRIMARY),
    ROW(RANGE_NOT_LOCKED, ENOLCK, ONE_WAY),
    ROW(DISK_FULL, ENOSPC, PRIMARY),
    ROW(INTEGER_OVERFLOW, EOVERFLOW, PRIMARY),
    ROW(FILE_INVALID, ESTALE, PRIMARY),
    ROW(INSUFFICIENT_RESOURCES, ENOMEM, ONE_WAY),
    ROW(DEVICE_DATA_ERROR, EIO, ONE_WAY),
    ROW(MEDIA_WRITE_PROTECTED, EROFS, PRIMARY),
    ROW(DEVICE_NOT_READY, EIO, ONE_WAY),
    ROW(ILLEGAL_FUNCTION, ENOTTY, ONE_WAY),
    ROW(PIPE_DISCONNECTED, EPIPE, ONE_WAY),
    ROW(PIPE_CLOSING, EPIPE, ONE_WAY),
    ROW(IO_TIMEOUT, ETIMEDOUT, PRIMARY),
    ROW(FILE_IS_A_DIRECTORY, EISDIR, PRIMARY),
    ROW(NOT_SUPPORTED, EOPNOTSUPP, PRIMARY),
    ROW(DUPLICATE_NAME, EEXIST, ONE_WAY),
    ROW(DEVICE_DOES_NOT_EXIST, ENXIO, PRIMARY),
    ROW(NOT_SAME_DEVICE, EXDEV, PRIMARY),
    ROW(CANT_WAIT, EAGAIN, ONE_WAY),
    ROW(INTERNAL_ERROR, EIO, ONE_WAY),
    ROW(INVALID_USER_BUFFER, EFAULT, PRIMARY),
    ROW(UNEXPECTED_IO_ERROR, EIO, ONE_WAY),
    ROW(INVALID_PARAMETER_1, EINVAL, ONE_WAY),
    ROW(INVALID_PARAMETER_2, EINVAL, ONE_WAY),
    ROW(INVALID_PARAMETER_3, EINVAL, ONE_WAY),
    ROW(INVALID_PARAMETER_4, EINVAL, ONE_WAY),
    ROW(INVALID_PARAMETER_5, EINVAL, ONE_WAY),
    ROW(INVALID_PARAMETER_6, EINVAL, ONE_WAY),
    ROW(INVALID_PARAMETER_7, EINVAL, ONE_WAY),
    ROW(INVALID_PARAMETER_8, EINVAL, ONE_WAY),
    ROW(INVALID_PARAMETER_9, EINVAL, ONE_WAY),
    ROW(INVALID_PARAMETER_10, EINVAL, ONE_WAY),
    ROW(INVALID_PARAMETER_11, EINVAL, ONE_WAY),
    ROW(INVALID_PARAMETER_12, EINVAL, ONE_WAY),
    ROW(DIRECTORY_NOT_EMPTY, ENOTEMPTY, PRIMARY),
    ROW(FILE_CORRUPT_ERROR, EUCLEAN, PRIMARY),
    ROW(NOT_A_DIRECTORY, ENOTDIR, PRIMARY),
    ROW(NAME_TOO_LONG, ENAMETOOLONG, PRIMARY),
    ROW(TOO_MANY_OPENED_FILES, EMFILE, PRIMARY),
    ROW(CANCELLED, EINTR, PRIMARY),
    ROW(CANNOT_DELETE, EACCES, ONE_WAY),
    ROW(FILE_DELETED, ENOENT, ONE_WAY),
    ROW(FILE_CLOSED, EBADF, ONE_WAY),
    ROW(COMMITMENT_LIMIT, ENOMEM, ONE_WAY),
    ROW(PIPE_BROKEN, EPIPE, PRIMARY),
    ROW(ILLEGAL_CHARACTER, EILSEQ, ONE_WAY),
    ROW(INVALID_DEVICE_STATE, EIO, ONE_WAY),
    ROW(IO_DEVICE_ERROR, EIO, PRIMARY),
    ROW(POSSIBLE_DEADLOCK, EDEADLK, PRIMARY),
    ROW(INVALID_BUFFER_SIZE, EINVAL, ONE_WAY),
    ROW(ADDRESS_ALREADY_EXISTS, EADDRINUSE, PRIMARY),
    ROW(CONNECTION_DISCONNECTED, ENOTCONN, ONE_WAY),
    ROW(CONNECTION_RESET, ECONNRESET, PRIMARY),
    ROW(NOT_FOUND, ENOENT, ONE_WAY),
    ROW(CONNECTION_REFUSED, ECONNREFUSED, PRIMARY),
    ROW(CONNECTION_ACTIVE, EISCONN, PRIMARY),
    ROW(NETWORK_UNREACHABLE, ENETUNREACH, PRIMARY),
    ROW(HOST_UNREACHABLE, EHOSTUNREACH, PRIMARY),
    ROW(CONNECTION_ABORTED, ECONNABORTED, PRIMARY),
    ROW(TOO_MANY_LINKS, EMLINK, PRIMARY),
    ROW(NOT_A_REPARSE_POINT, EINVAL, ONE_WAY),
    ROW(IO_REPARSE_TAG_NOT_HANDLED, EIO, ONE_WAY),
    ROW(REPARSE_POINT_NOT_RESOLVED, ELOOP, PRIMARY),
    ROW(OBJECTID_NOT_FOUND, ENOENT, ONE_WAY),
    ROW(FILE_NOT_AVAILABLE, EAGAIN, ONE_WAY),
    ROW(RESOURCE_IN_USE, EBUSY, ONE_WAY),
    ROW(NO_UNICODE_TRANSLATION, EILSEQ, PRIMARY),
    ROW(DISK_QUOTA_EXCEEDED, EDQUOT, ONE_WAY),
    ROW(FILE_TOO_LARGE, EFBIG, PRIMARY),
    ROW(VIRUS_INFECTED, EACCES, ONE_WAY),
    ROW(VIRUS_DELETED, EACCES, ONE_WAY),
    ROW(FLT_NO_HANDLER_DEFINED, EIO, ONE_WAY),
    ROW(FLT_CONTEXT_ALREADY_DEFINED, EEXIST, ONE_WAY),
    ROW(FLT_INVALID_ASYNCHRONOUS_REQUEST, EINVAL, ONE_WAY),
    ROW(FLT_DISALLOW_FAST_IO, EIO, ONE_WAY),
    ROW(FLT_INVALID_NAME_REQUEST, EINVAL, ONE_WAY),
    ROW(FLT_NOT_SAFE_TO_POST_OPERATION, EIO, ONE_WAY),
    ROW(FLT_NOT_INITIALIZED, EIO, ONE_WAY),
    ROW(FLT_FILTER_NOT_READY, EIO, ONE_WAY),
    ROW(FLT_POST_OPERATION_CLEANUP, EIO, ONE_WAY),
    ROW(FLT_INTERNAL_ERROR, EIO, ONE_WAY),
    ROW(FLT_DELETING_OBJECT, EIO, ONE_WAY),
    ROW(FLT_MUST_BE_NONPAGED_POOL, EINVAL, ONE_WAY),
    ROW(FLT_DUPLICATE_ENTRY, EEXIST, ONE_WAY),
    ROW(FLT_CBDQ_DISABLED, EIO, ONE_WAY),
    ROW(FLT_DO_NOT_ATTACH, EIO, ONE_WAY),
    ROW(FLT_DO_NOT_DETACH, EBUSY, ONE_WAY),
    ROW(FLT_INSTANCE_ALTITUDE_COLLISION, EEXIST, ONE_WAY),
    ROW(FLT_INSTANCE_NAME_COLLISION, EEXIST, ONE_WAY),
    ROW(FLT_FILTER_NOT_FOUND, ENOENT, ONE_WAY),
    ROW(FLT_VOLUME_NOT_FOUND, ENOENT, ONE_WAY),
    ROW(FLT_INSTANCE_NOT_FOUND, ENOENT, ONE_WAY),
    ROW(FLT_CONTEXT_ALLOCATION_NOT_FOUND, EINVAL, ONE_WAY),
    ROW(FLT_INVALID_CONTEXT_REGISTRATION, EINVAL, ONE_WAY),
    ROW(FLT_NAME_CACHE_MISS, EIO, ONE_WAY),
    ROW(FLT_NO_DEVICE_OBJECT, ENODEV, ONE_WAY),
    ROW(FLT_VOLUME_ALREADY_MOUNTED, EEXIST, ONE_WAY),
    ROW(FLT_ALREADY_ENLISTED, EEXIST, ONE_WAY),
    ROW(FLT_CONTEXT_ALREADY_LINKED, EEXIST, ONE_WAY),
    ROW(FLT_NO_WAITER_FOR_REPLY, EIO, ONE_WAY),
    LX(ECHILD),
    LX(ENOTBLK),
    LX(ENFILE),
    LX(ETXTBSY),
    LX(ESPIPE),
    LX(EDOM),
    LX(ENOLCK),
    LX(ENOMSG),
    LX(EIDRM),
    LX(ECHRNG),
    LX(EL2NSYNC),
    LX(EL3HLT),
    LX(EL3RST),
    LX(ELNRNG),
    LX(EUNATCH),
    LX(ENOCSI),
    LX(EL2HLT),
    LX(EBADE),
    LX(EBADR),
    LX(EXFULL),
    LX(ENOANO),
    LX(EBADRQC),
    LX(EBADSLT),
    LX(EBFONT),
    LX(ENOSTR),
    LX(ETIME),
    LX(ENOSR),
    LX(ENONET),
    LX(ENOPKG),
    LX(EREMOTE),
    LX(ENOLINK),
    LX(EADV),
    LX(ESRMNT),
    LX(ECOMM),
    LX(EPROTO),
    LX(EMULTIHOP),
    LX(EDOTDOT),
    LX(EBADMSG),
    LX(ENOTUNIQ),
    LX(EBADFD),
    LX(EREMCHG),
    LX(ELIBACC),
    LX(ELIBBAD),
    LX(ELIBSCN),
    LX(ELIBMAX),
    LX(ELIBEXEC),
    LX(ERESTART),
    LX(ESTRPIPE),
    LX(EUSERS),
    LX(ENOTSOCK),
    LX(EDESTADDRREQ),
    LX(EMSGSIZE),
    LX(EPROTOTYPE),
    LX(ENOPROTOOPT),
    LX(EPROTONOSUPPORT),
    LX(ESOCKTNOSUPPORT),
    LX(EPFNOSUPPORT),
    LX(EAFNOSUPPORT),
    LX(EADDRNOTAVAIL),
    LX(ENETDOWN),
    LX(ENETRESET),
    LX(ENOBUFS),
    LX(ESHUTDOWN),
    LX(ETOOMANYREFS),
    LX(EHOSTDOWN),
    LX(EALREADY),
    LX(EINPROGRESS),
    LX(ENOTNAM),
    LX(ENAVAIL),
    LX(EISNAM),
    LX(EREMOTEIO),
    LX(ECANCELED),
    LX(ENOKEY),
    LX(EKEYEXPIRED),
    LX(EKEYREVOKED),
    LX(EKEYREJECTED),
    LX(EOWNERDEAD),
    LX(ENOTRECOVERABLE),
    LX(ERFKILL),
    LX(EHWPOISON),
};

#define TABLE_LEN (sizeof(table) / sizeof(table[0]))

/* Index of the PRIMARY row of each small errno, +1 (0 = none); built once. */
#define BY_ERRNO_LEN 256
static unsigned short by_errno[BY_ERRNO_LEN];
static pthread_once_t by_errno_once = PTHREAD_ONCE_INIT;

static void build_by_errno(void)
{
	for (size_t i = 0; i < TABLE_LEN; i++) {
		if (table[i].kind == PRIMARY && table[i].err > 0 && table[i].err < BY_ERRNO_LEN)
			by_errno[table[i].err] = (unsigned short)(i + 1);
	}
}

static const struct status_row *find_status(uint32_t s)
{
	size_t lo = 0, hi = TABLE_LEN;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (table[mid].status == s)
			return &table[mid];
		if (table[mid].status < s)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

fm_ntstatus fm_status_from_errno(int err)
{
	/* Callers inside the library carry -errno; accept either sign. */
	if (err < 0 && err != INT32_MIN)
		err = -err;
	if (err == 0)
		return 0;
	pthread_once(&by_errno_once, build_by_errno);
	if (err > 0 && err < BY_ERRNO_LEN && by_errno[err])
		return (fm_ntstatus)table[by_errno[err] - 1].status;
	/* An errno newer than this table still round-trips through the private range. */
	if (err > 0 && err <= FM_STATUS_LINUX_MAX)
		return (fm_ntstatus)(FM_STATUS_LINUX_BASE | (uint32_t)err);
	return STATUS_UNSUCCESSFUL;
}

int fm_errno_from_status(fm_ntstatus status)
{
	uint32_t s = (uint32_t)status;
	const struct status_row *row = find_status(s);

	if (row)
		return row->err;
	if ((s & 0xFFFF0000u) == FM_STATUS_LINUX_BASE && (s & 0xFFFF) != 0 &&
	    (s & 0xFFFF) <= FM_STATUS_LINUX_MAX)
		return (int)(s & 0xFFFF);
	/* Severity (top two bits): 0 success, 1 informational, 2 warning, 3 error. */
	if ((s >> 30) < 2)
		return 0;
	return EIO;
}

const char *fm_status_name(fm_ntstatus status)
{
	const struct status_row *row = find_status((uint32_t)status);

	return row ? row->name : NULL;
}
