/* crashinfo: what filter code the calling thread runs, described from a fatal-signal handler. */
#include "core/core_i.h"

#include <string.h>

__thread struct fm__tls_op fm__tls_op __attribute__((tls_model("initial-exec")));

/* Append s (at most n bytes) to buf, keeping it NUL-terminated; returns the new length. */
static size_t put(char *buf, size_t cap, size_t len, const char *s, size_t n)
{
	while (n-- && *s && len + 1 < cap)
		buf[len++] = *s++;
	buf[len] = '\0';
	return len;
}

/*
 * Only thread-local variables and plain reads of memory the thread already uses: no locks,
 * no allocation, no stdio, so this may run in a SIGSEGV handler.  The file name is printed
 * as ASCII, anything else as '?'.
 */
size_t fm_core_describe_current(char *buf, size_t cap)
{
	const struct fm_filter *f = fm__tls_filter;
	PFLT_CALLBACK_DATA data = fm__tls_op.data;
	size_t len = 0;
	const char *name;

	if (cap == 0)
		return 0;
	buf[0] = '\0';
	if (!f)
		return 0;
	name = fm_filter_name(f);
	len = put(buf, cap, len, "filter ", 7);
	len = put(buf, cap, len, name ? name : "?", 200);
	if (!data || !data->Iopb) {
		len = put(buf, cap, len, ", outside an I/O operation", 40);
		return len;
	}
	len = put(buf, cap, len, ", ", 2);
	len = put(buf, cap, len, FltGetIrpName(data->Iopb->MajorFunction), 64);
	len = put(buf, cap, len, fm__tls_op.post ? " post-operation" : " pre-operation", 20);
	if (data->Iopb->TargetFileObject && data->Iopb->TargetFileObject->FileName.Buffer) {
		const UNICODE_STRING *u = &data->Iopb->TargetFileObject->FileName;
		char c[2] = {0, 0};

		len = put(buf, cap, len, ", file ", 7);
		for (USHORT i = 0; i < u->Length / sizeof(WCHAR) && i < 256; i++) {
			c[0] =
			    u->Buffer[i] >= 0x20 && u->Buffer[i] < 0x7f ? (char)u->Buffer[i] : '?';
			len = put(buf, cap, len, c, 1);
		}
	}
	return len;
}
