/* Tests of the NTSTATUS <-> errno table, including that docs/status-errno.md matches the code. */
#include "tap.h"

/* White-box: the test sees the static table itself, to compare it with the documentation. */
#include "common/status.c"

#include <unistd.h>
#include <string.h>

static const char *doc_path;

static int is_nt_success(fm_ntstatus s)
{
	return s >= 0;
}

static void t_table_sorted_and_unique(void)
{
	for (size_t i = 1; i < TABLE_LEN; i++)
		TAP_CHECK(table[i - 1].status < table[i].status);
	for (size_t i = 0; i < TABLE_LEN; i++) {
		TAP_CHECK(table[i].name != NULL);
		TAP_CHECK(find_status(table[i].status) == &table[i]);
		/* A success status never gives an error and an error never gives success, except
		 * the internal codes that must not reach a process. */
		if ((table[i].status >> 30) >= 2)
			TAP_CHECK(table[i].err != 0);
	}
}

static void t_one_primary_per_errno(void)
{
	static int seen[BY_ERRNO_LEN];

	for (size_t i = 0; i < TABLE_LEN; i++) {
		if (table[i].kind != PRIMARY)
			continue;
		TAP_CHECK(table[i].err > 0 && table[i].err < BY_ERRNO_LEN);
		TAP_EQ_INT(seen[table[i].err], 0);
		seen[table[i].err]++;
		/* A primary status must be an error so that NT_SUCCESS() is false for it. */
		TAP_CHECK(!is_nt_success((fm_ntstatus)table[i].status));
	}
}

static void t_every_errno_round_trips(void)
{
	for (int e = 1; e <= 4095; e++) {
		fm_ntstatus s = fm_status_from_errno(e);

		if (is_nt_success(s) || fm_errno_from_status(s) != e) {
			printf("# errno %d -> 0x%08X -> %d\n", e, (unsigned)s,
			       fm_errno_from_status(s));
			tap__case_failed = 1;
		}
		TAP_EQ_INT(fm_status_from_errno(-e), s);
	}
	TAP_EQ_INT(fm_status_from_errno(0), 0);
	TAP_EQ_INT(fm_status_from_errno(100000), STATUS_UNSUCCESSFUL);
	TAP_EQ_INT(fm_status_from_errno(INT32_MIN), STATUS_UNSUCCESSFUL);
}

static void t_named_mappings(void)
{
	static const struct {
		fm_ntstatus s;
		int e;
	} both[] = {
	    {STATUS_OBJECT_NAME_NOT_FOUND, ENOENT},
	    {STATUS_OBJECT_NAME_COLLISION, EEXIST},
	    {STATUS_ACCESS_DENIED, EACCES},
	    {STATUS_PRIVILEGE_NOT_HELD, EPERM},
	    {STATUS_DIRECTORY_NOT_EMPTY, ENOTEMPTY},
	    {STATUS_DISK_FULL, ENOSPC},
	    {STATUS_NOT_A_DIRECTORY, ENOTDIR},
	    {STATUS_FILE_IS_A_DIRECTORY, EISDIR},
	    {STATUS_NAME_TOO_LONG, ENAMETOOLONG},
	    {STATUS_NOT_SAME_DEVICE, EXDEV},
	    {STATUS_INVALID_PARAMETER, EINVAL},
	    {STATUS_NO_MEMORY, ENOMEM},
	    {STATUS_TOO_MANY_OPENED_FILES, EMFILE},
	    {STATUS_MEDIA_WRITE_PROTECTED, EROFS},
	    {STATUS_FILE_TOO_LARGE, EFBIG},
	    {STATUS_QUOTA_EXCEEDED, EDQUOT},
	    {STATUS_NONEXISTENT_EA_ENTRY, ENODATA},
	    {STATUS_BUFFER_TOO_SMALL, ERANGE},
	    {STATUS_EA_TOO_LARGE, E2BIG},
	    {STATUS_NOT_SUPPORTED, EOPNOTSUPP},
	    {STATUS_NOT_IMPLEMENTED, ENOSYS},
	    {STATUS_LOCK_NOT_GRANTED, EAGAIN},
	    {STATUS_CANCELLED, EINTR},
	    {STATUS_IO_TIMEOUT, ETIMEDOUT},
	    {STATUS_IO_DEVICE_ERROR, EIO},
	    {STATUS_INVALID_HANDLE, EBADF},
	    {STATUS_PORT_DISCONNECTED, ENOTCONN},
	    {STATUS_FILE_INVALID, ESTALE},
	    {STATUS_TOO_MANY_LINKS, EMLINK},
	    {STATUS_NO_SUCH_DEVICE, ENODEV},
	    {STATUS_INVALID_USER_BUFFER, EFAULT},
	    {STATUS_INVALID_DEVICE_REQUEST, ENOTTY},
	    {STATUS_CONNECTION_REFUSED, ECONNREFUSED},
	    {STATUS_PIPE_BROKEN, EPIPE},
	    {STATUS_SHARING_VIOLATION, EBUSY},
	    {STATUS_POSSIBLE_DEADLOCK, EDEADLK},
	    {STATUS_REPARSE_POINT_NOT_RESOLVED, ELOOP},
	    {STATUS_INTEGER_OVERFLOW, EOVERFLOW},
	};
	static const struct {
		fm_ntstatus s;
		int e;
	} one_way[] = {
	    {STATUS_OBJECT_PATH_NOT_FOUND, ENOENT},
	    {STATUS_NO_SUCH_FILE, ENOENT},
	    {STATUS_INSUFFICIENT_RESOURCES, ENOMEM},
	    {STATUS_UNSUCCESSFUL, EIO},
	    {STATUS_FILE_LOCK_CONFLICT, EAGAIN},
	    {STATUS_FILE_CLOSED, EBADF},
	    {STATUS_ACCESS_VIOLATION, EFAULT},
	    {STATUS_BUFFER_OVERFLOW, EOVERFLOW},
	    {STATUS_PENDING, EIO},
	    {STATUS_REPARSE, EIO},
	    {STATUS_MORE_PROCESSING_REQUIRED, EIO},
	    {STATUS_FLT_DISALLOW_FAST_IO, EIO},
	    {STATUS_SUCCESS, 0},
	    {STATUS_TIMEOUT, 0},
	    {STATUS_VIRUS_INFECTED, EACCES},
	    {STATUS_NOT_A_REPARSE_POINT, EINVAL},
	};

	for (size_t i = 0; i < sizeof(both) / sizeof(both[0]); i++) {
		TAP_EQ_INT(fm_errno_from_status(both[i].s), both[i].e);
		TAP_EQ_INT(fm_status_from_errno(both[i].e), both[i].s);
	}
	for (size_t i = 0; i < sizeof(one_way) / sizeof(one_way[0]); i++)
		TAP_EQ_INT(fm_errno_from_status(one_way[i].s), one_way[i].e);
	TAP_EQ_INT(fm_status_from_errno(EWOULDBLOCK), STATUS_LOCK_NOT_GRANTED);
	TAP_EQ_INT(fm_status_from_errno(ENOTSUP), STATUS_NOT_SUPPORTED);
	TAP_EQ_INT(fm_status_from_errno(ETXTBSY), (fm_ntstatus)0xE0FE001A);
}

static void t_unknown_by_severity(void)
{
	TAP_EQ_INT(fm_errno_from_status(0x00001234), 0);
	TAP_EQ_INT(fm_errno_from_status(0x40001234), 0);
	TAP_EQ_INT(fm_errno_from_status((fm_ntstatus)0x80001234), EIO);
	TAP_EQ_INT(fm_errno_from_status((fm_ntstatus)0xC0001234), EIO);
	TAP_EQ_INT(fm_errno_from_status((fm_ntstatus)0xE0001234), EIO);
	/* The private range decodes any errno it can carry, and nothing else. */
	TAP_EQ_INT(fm_errno_from_status((fm_ntstatus)0xE0FE0200), 0x200);
	TAP_EQ_INT(fm_errno_from_status((fm_ntstatus)0xE0FE0000), EIO);
	TAP_EQ_INT(fm_errno_from_status((fm_ntstatus)0xE0FEF000), EIO);
}

static void t_names(void)
{
	TAP_EQ_STR(fm_status_name(STATUS_ACCESS_DENIED), "STATUS_ACCESS_DENIED");
	TAP_EQ_STR(fm_status_name(STATUS_SUCCESS), "STATUS_SUCCESS");
	TAP_EQ_STR(fm_status_name(STATUS_FLT_DO_NOT_ATTACH), "STATUS_FLT_DO_NOT_ATTACH");
	TAP_EQ_STR(fm_status_name(fm_status_from_errno(ECHILD)), "FM_STATUS_LINUX_ECHILD");
	TAP_CHECK(fm_status_name((fm_ntstatus)0xC0001234) == NULL);
	for (size_t i = 0; i < TABLE_LEN; i++)
		TAP_EQ_STR(fm_status_name((fm_ntstatus)table[i].status), table[i].name);
}

static const char *errno_name(int e)
{
	return e == 0 ? "0" : strerrorname_np(e);
}

/* Reads "| `NAME` | `0xVALUE` | `ERRNO` | WAY |" rows; returns how many were compared. */
static void t_docs_match_code(void)
{
	FILE *f = doc_path ? fopen(doc_path, "r") : NULL;
	char line[512];
	size_t n = 0;

	TAP_CHECK(f != NULL);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char name[128], eno[64], way[8];
		unsigned value;

		if (sscanf(line, "| `%127[^`]` | `0x%x` | `%63[^`]` | %7s |", name, &value, eno,
			   way) != 4)
			continue;
		if (n >= TABLE_LEN) {
			printf("# docs row beyond the table: %s", line);
			tap__case_failed = 1;
			break;
		}
		const struct status_row *r = &table[n++];
		const char *want_way = r->kind == PRIMARY ? "<->" : "->";
		if (strcmp(name, r->name) != 0 || value != r->status ||
		    strcmp(eno, errno_name(r->err)) != 0 || strcmp(way, want_way) != 0) {
			printf("# docs row %zu: %s %08X %s %s; code: %s %08X %s %s\n", n, name,
			       value, eno, way, r->name, r->status, errno_name(r->err), want_way);
			tap__case_failed = 1;
		}
	}
	fclose(f);
	TAP_EQ_INT(n, TABLE_LEN);
}

/* Every Microsoft status the table names has the value an independent ntstatus.h gives it. */
static void t_values_match_mingw(void)
{
	FILE *f = fopen("/usr/share/mingw-w64/include/ntstatus.h", "r");
	char line[512];
	size_t checked = 0, ms_rows = 0;

	for (size_t i = 0; i < TABLE_LEN; i++)
		ms_rows += strncmp(table[i].name, "STATUS_", 7) == 0;
	while (f && fgets(line, sizeof(line), f)) {
		char name[128];
		unsigned value;

		if (sscanf(line, "#define %127s ((NTSTATUS)0x%x)", name, &value) != 2)
			continue;
		for (size_t i = 0; i < TABLE_LEN; i++) {
			if (strcmp(table[i].name, name) != 0)
				continue;
			checked++;
			if (table[i].status != value) {
				printf("# %s: 0x%08X here, 0x%08X in mingw-w64\n", name,
				       table[i].status, value);
				tap__case_failed = 1;
			}
		}
	}
	if (f) {
		fclose(f);
		TAP_EQ_INT(checked, ms_rows);
	}
}

int main(int argc, char **argv)
{
	doc_path = argc > 1 ? argv[1] : NULL;
	TAP_RUN(t_table_sorted_and_unique);
	TAP_RUN(t_one_primary_per_errno);
	TAP_RUN(t_every_errno_round_trips);
	TAP_RUN(t_named_mappings);
	TAP_RUN(t_unknown_by_severity);
	TAP_RUN(t_names);
	TAP_RUN(t_docs_match_code);
	if (access("/usr/share/mingw-w64/include/ntstatus.h", R_OK) == 0)
		TAP_RUN(t_values_match_mingw);
	else
		tap_skip("t_values_match_mingw", "mingw-w64-x86-64-dev is not installed (optional "
						 "cross-check of the status values)");
	return tap_done();
}
