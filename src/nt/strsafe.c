/* ntstrsafe: bounded copy, concatenation, length and printf into fixed buffers and UNICODE_STRINGs. */
#include <ntstrsafe.h>

#include <string.h>

#include "nt/format.h"

/*
 * The narrow and wide families share one implementation over "units" (char or WCHAR).  All
 * results are NUL-terminated when the destination holds at least one unit; truncation gives
 * STATUS_BUFFER_OVERFLOW, an unusable destination STATUS_INVALID_PARAMETER.
 */

static size_t ulen(const void *s, size_t usz, size_t max)
{
	size_t n = 0;

	if (usz == 1) {
		const char *c = s;
		while (n < max && c[n])
			n++;
	} else {
		const WCHAR *w = s;
		while (n < max && w[n])
			n++;
	}
	return n;
}

static void uset0(void *d, size_t usz, size_t i)
{
	if (usz == 1)
		((char *)d)[i] = 0;
	else
		((WCHAR *)d)[i] = 0;
}

/* Copy at most `count` units of src (stopping at its NUL) into d[cch], at offset `at`. */
static NTSTATUS ucopy(void *d, size_t cch, size_t at, const void *src, size_t count, size_t usz,
		      size_t *end)
{
	size_t room = cch - at - 1, n;
	NTSTATUS st = STATUS_SUCCESS;

	n = src ? ulen(src, usz, count) : 0;
	if (n > room) {
		n = room;
		st = STATUS_BUFFER_OVERFLOW;
	}
	memmove((char *)d + at * usz, src ? src : "", n * usz);
	uset0(d, usz, at + n);
	if (end)
		*end = at + n;
	return st;
}

static NTSTATUS copy_n(void *d, size_t cch, const void *s, size_t count, size_t usz)
{
	if (!d || cch == 0 || cch > NTSTRSAFE_MAX_CCH)
		return STATUS_INVALID_PARAMETER;
	if (count > NTSTRSAFE_MAX_CCH) {
		uset0(d, usz, 0);
		return STATUS_INVALID_PARAMETER;
	}
	return ucopy(d, cch, 0, s, count, usz, NULL);
}

static NTSTATUS cat_n(void *d, size_t cch, const void *s, size_t count, size_t usz)
{
	size_t len;

	if (!d || cch == 0 || cch > NTSTRSAFE_MAX_CCH)
		return STATUS_INVALID_PARAMETER;
	len = ulen(d, usz, cch);
	if (len == cch)
		return STATUS_INVALID_PARAMETER; /* the destination is not terminated */
	if (count > NTSTRSAFE_MAX_CCH)
		return STATUS_INVALID_PARAMETER;
	return ucopy(d, cch, len, s, count, usz, NULL);
}

NTSTATUS RtlStringCchCopyW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc)
{
	return copy_n(pszDest, cchDest, pszSrc, NTSTRSAFE_MAX_CCH, sizeof(WCHAR));
}

NTSTATUS RtlStringCchCopyA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc)
{
	return copy_n(pszDest, cchDest, pszSrc, NTSTRSAFE_MAX_CCH, 1);
}

NTSTATUS RtlStringCbCopyW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc)
{
	return copy_n(pszDest, cbDest / sizeof(WCHAR), pszSrc, NTSTRSAFE_MAX_CCH, sizeof(WCHAR));
}

NTSTATUS RtlStringCbCopyA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc)
{
	return copy_n(pszDest, cbDest, pszSrc, NTSTRSAFE_MAX_CCH, 1);
}

NTSTATUS RtlStringCchCopyNW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc,
			    size_t cchToCopy)
{
	return copy_n(pszDest, cchDest, pszSrc, cchToCopy, sizeof(WCHAR));
}

NTSTATUS RtlStringCchCopyNA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc,
			    size_t cchToCopy)
{
	return copy_n(pszDest, cchDest, pszSrc, cchToCopy, 1);
}

NTSTATUS RtlStringCbCopyNW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc,
			   size_t cbToCopy)
{
	return copy_n(pszDest, cbDest / sizeof(WCHAR), pszSrc, cbToCopy / sizeof(WCHAR),
		      sizeof(WCHAR));
}

NTSTATUS RtlStringCbCopyNA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc,
			   size_t cbToCopy)
{
	return copy_n(pszDest, cbDest, pszSrc, cbToCopy, 1);
}

NTSTATUS RtlStringCchCopyExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc,
			     NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcchRemaining, ULONG dwFlags)
{
	size_t end = 0;
	NTSTATUS st;

	if (!pszDest || cchDest == 0 || cchDest > NTSTRSAFE_MAX_CCH)
		return STATUS_INVALID_PARAMETER;
	if (!pszSrc && !(dwFlags & STRSAFE_IGNORE_NULLS))
		return STATUS_INVALID_PARAMETER;
	st = ucopy(pszDest, cchDest, 0, pszSrc, NTSTRSAFE_MAX_CCH, sizeof(WCHAR), &end);
	if (!NT_SUCCESS(st) || st == STATUS_BUFFER_OVERFLOW) {
		if (dwFlags & (STRSAFE_NULL_ON_FAILURE | STRSAFE_NO_TRUNCATION)) {
			pszDest[0] = 0;
			end = 0;
		}
	} else if (dwFlags & STRSAFE_FILL_BEHIND_NULL) {
		for (size_t i = end + 1; i < cchDest; i++)
			pszDest[i] = (WCHAR)((dwFlags & 0xff) | ((dwFlags & 0xff) << 8));
	}
	if (ppszDestEnd)
		*ppszDestEnd = pszDest + end;
	if (pcchRemaining)
		*pcchRemaining = cchDest - end;
	return st;
}

NTSTATUS RtlStringCbCopyExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc,
			    NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcbRemaining, ULONG dwFlags)
{
	size_t rem = 0;
	NTSTATUS st = RtlStringCchCopyExW(pszDest, cbDest / sizeof(WCHAR), pszSrc, ppszDestEnd,
					  &rem, dwFlags);

	if (pcbRemaining)
		*pcbRemaining = rem * sizeof(WCHAR) + (cbDest % sizeof(WCHAR));
	return st;
}

NTSTATUS RtlStringCchCatW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc)
{
	return cat_n(pszDest, cchDest, pszSrc, NTSTRSAFE_MAX_CCH, sizeof(WCHAR));
}

NTSTATUS RtlStringCchCatA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc)
{
	return cat_n(pszDest, cchDest, pszSrc, NTSTRSAFE_MAX_CCH, 1);
}

NTSTATUS RtlStringCbCatW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc)
{
	return cat_n(pszDest, cbDest / sizeof(WCHAR), pszSrc, NTSTRSAFE_MAX_CCH, sizeof(WCHAR));
}

NTSTATUS RtlStringCbCatA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc)
{
	return cat_n(pszDest, cbDest, pszSrc, NTSTRSAFE_MAX_CCH, 1);
}

NTSTATUS RtlStringCchCatNW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc,
			   size_t cchToAppend)
{
	return cat_n(pszDest, cchDest, pszSrc, cchToAppend, sizeof(WCHAR));
}

NTSTATUS RtlStringCchCatNA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc,
			   size_t cchToAppend)
{
	return cat_n(pszDest, cchDest, pszSrc, cchToAppend, 1);
}

NTSTATUS RtlStringCbCatNW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc,
			  size_t cbToAppend)
{
	return cat_n(pszDest, cbDest / sizeof(WCHAR), pszSrc, cbToAppend / sizeof(WCHAR),
		     sizeof(WCHAR));
}

NTSTATUS RtlStringCbCatNA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc,
			  size_t cbToAppend)
{
	return cat_n(pszDest, cbDest, pszSrc, cbToAppend, 1);
}

static NTSTATUS length(const void *s, size_t max, size_t usz, size_t *out)
{
	size_t n;

	if (!s || max == 0 || max > NTSTRSAFE_MAX_CCH) {
		if (out)
			*out = 0;
		return STATUS_INVALID_PARAMETER;
	}
	n = ulen(s, usz, max);
	if (n == max) {
		if (out)
			*out = 0;
		return STATUS_INVALID_PARAMETER;
	}
	if (out)
		*out = n;
	return STATUS_SUCCESS;
}

NTSTATUS RtlStringCchLengthW(NTSTRSAFE_PCWSTR psz, size_t cchMax, size_t *pcchLength)
{
	return length(psz, cchMax, sizeof(WCHAR), pcchLength);
}

NTSTATUS RtlStringCchLengthA(NTSTRSAFE_PCSTR psz, size_t cchMax, size_t *pcchLength)
{
	return length(psz, cchMax, 1, pcchLength);
}

NTSTATUS RtlStringCbLengthW(NTSTRSAFE_PCWSTR psz, size_t cbMax, size_t *pcbLength)
{
	size_t n = 0;
	NTSTATUS st = length(psz, cbMax / sizeof(WCHAR), sizeof(WCHAR), &n);

	if (pcbLength)
		*pcbLength = n * sizeof(WCHAR);
	return st;
}

NTSTATUS RtlStringCbLengthA(NTSTRSAFE_PCSTR psz, size_t cbMax, size_t *pcbLength)
{
	return length(psz, cbMax, 1, pcbLength);
}

/* ---- printf -------------------------------------------------------------------------------------- */

static NTSTATUS vprintf_a(char *d, size_t cch, const char *fmt, va_list ap)
{
	int n;

	if (!d || cch == 0 || cch > NTSTRSAFE_MAX_CCH)
		return STATUS_INVALID_PARAMETER;
	if (!fmt) {
		d[0] = 0;
		return STATUS_INVALID_PARAMETER;
	}
	n = fm_ms_vsnprintf(d, cch, fmt, ap);
	if (n < 0)
		return STATUS_INVALID_PARAMETER;
	return (size_t)n >= cch ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

static NTSTATUS vprintf_w(WCHAR *d, size_t cch, const WCHAR *fmt, va_list ap)
{
	int n;

	if (!d || cch == 0 || cch > NTSTRSAFE_MAX_CCH)
		return STATUS_INVALID_PARAMETER;
	if (!fmt) {
		d[0] = 0;
		return STATUS_INVALID_PARAMETER;
	}
	n = fm_ms_vsnwprintf((uint16_t *)d, cch, (const uint16_t *)fmt, ap);
	if (n < 0)
		return STATUS_INVALID_PARAMETER;
	return (size_t)n >= cch ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

NTSTATUS RtlStringCchVPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszFormat,
			      va_list argList)
{
	return vprintf_w(pszDest, cchDest, pszFormat, argList);
}

NTSTATUS RtlStringCchVPrintfA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszFormat,
			      va_list argList)
{
	return vprintf_a(pszDest, cchDest, pszFormat, argList);
}

NTSTATUS RtlStringCbVPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszFormat,
			     va_list argList)
{
	return vprintf_w(pszDest, cbDest / sizeof(WCHAR), pszFormat, argList);
}

NTSTATUS RtlStringCbVPrintfA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszFormat,
			     va_list argList)
{
	return vprintf_a(pszDest, cbDest, pszFormat, argList);
}

NTSTATUS RtlStringCchPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszFormat,
			     ...)
{
	va_list ap;
	NTSTATUS st;

	va_start(ap, pszFormat);
	st = vprintf_w(pszDest, cchDest, pszFormat, ap);
	va_end(ap);
	return st;
}

NTSTATUS RtlStringCchPrintfA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszFormat, ...)
{
	va_list ap;
	NTSTATUS st;

	va_start(ap, pszFormat);
	st = vprintf_a(pszDest, cchDest, pszFormat, ap);
	va_end(ap);
	return st;
}

NTSTATUS RtlStringCbPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszFormat, ...)
{
	va_list ap;
	NTSTATUS st;

	va_start(ap, pszFormat);
	st = vprintf_w(pszDest, cbDest / sizeof(WCHAR), pszFormat, ap);
	va_end(ap);
	return st;
}

NTSTATUS RtlStringCbPrintfA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszFormat, ...)
{
	va_list ap;
	NTSTATUS st;

	va_start(ap, pszFormat);
	st = vprintf_a(pszDest, cbDest, pszFormat, ap);
	va_end(ap);
	return st;
}

static NTSTATUS printf_ex_w(WCHAR *d, size_t cch, WCHAR **end, size_t *rem, ULONG flags,
			    const WCHAR *fmt, va_list ap)
{
	NTSTATUS st = vprintf_w(d, cch, fmt, ap);
	size_t len = 0;

	if (d && cch && cch <= NTSTRSAFE_MAX_CCH) {
		if (st != STATUS_SUCCESS &&
		    (flags & (STRSAFE_NULL_ON_FAILURE | STRSAFE_NO_TRUNCATION)))
			d[0] = 0;
		len = ulen(d, sizeof(WCHAR), cch);
	}
	if (end)
		*end = d ? d + len : NULL;
	if (rem)
		*rem = cch - len;
	return st;
}

NTSTATUS RtlStringCchPrintfExW(NTSTRSAFE_PWSTR pszDest, size_t cchDest,
			       NTSTRSAFE_PWSTR *ppszDestEnd, size_t *pcchRemaining, ULONG dwFlags,
			       NTSTRSAFE_PCWSTR pszFormat, ...)
{
	va_list ap;
	NTSTATUS st;

	va_start(ap, pszFormat);
	st = printf_ex_w(pszDest, cchDest, ppszDestEnd, pcchRemaining, dwFlags, pszFormat, ap);
	va_end(ap);
	return st;
}

NTSTATUS RtlStringCbPrintfExW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PWSTR *ppszDestEnd,
			      size_t *pcbRemaining, ULONG dwFlags, NTSTRSAFE_PCWSTR pszFormat, ...)
{
	va_list ap;
	NTSTATUS st;
	size_t rem = 0;

	va_start(ap, pszFormat);
	st =
	    printf_ex_w(pszDest, cbDest / sizeof(WCHAR), ppszDestEnd, &rem, dwFlags, pszFormat, ap);
	va_end(ap);
	if (pcbRemaining)
		*pcbRemaining = rem * sizeof(WCHAR) + (cbDest % sizeof(WCHAR));
	return st;
}

/* ---- UNICODE_STRING functions (counted, never NUL-terminated by these) ----------------------- */

static NTSTATUS us_validate(PCUNICODE_STRING s, int allow_null_buffer)
{
	if (!s || (s->Length & 1) || (s->MaximumLength & 1) || s->Length > s->MaximumLength ||
	    (!s->Buffer && (s->MaximumLength || !allow_null_buffer)))
		return STATUS_INVALID_PARAMETER;
	return STATUS_SUCCESS;
}

NTSTATUS RtlUnicodeStringValidate(PCUNICODE_STRING SourceString)
{
	return us_validate(SourceString, 1);
}

NTSTATUS RtlUnicodeStringValidateEx(PCUNICODE_STRING SourceString, ULONG dwFlags)
{
	if (!SourceString && (dwFlags & STRSAFE_IGNORE_NULL_UNICODE_STRINGS))
		return STATUS_SUCCESS;
	return us_validate(SourceString, 1);
}

NTSTATUS RtlUnicodeStringInit(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc)
{
	size_t n = 0;

	if (!DestinationString)
		return STATUS_INVALID_PARAMETER;
	DestinationString->Length = DestinationString->MaximumLength = 0;
	DestinationString->Buffer = (PWCH)pszSrc;
	if (!pszSrc)
		return STATUS_SUCCESS;
	n = ulen(pszSrc, sizeof(WCHAR), NTSTRSAFE_UNICODE_STRING_MAX_CCH + 1);
	if (n > NTSTRSAFE_UNICODE_STRING_MAX_CCH - 1)
		return STATUS_INVALID_PARAMETER;
	DestinationString->Length = (USHORT)(n * sizeof(WCHAR));
	DestinationString->MaximumLength = (USHORT)((n + 1) * sizeof(WCHAR));
	return STATUS_SUCCESS;
}

NTSTATUS RtlUnicodeStringInitEx(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc,
				ULONG dwFlags)
{
	(void)dwFlags;
	return RtlUnicodeStringInit(DestinationString, pszSrc);
}

/* Put n units of src at offset `at` (units) of d; truncates with STATUS_BUFFER_OVERFLOW. */
static NTSTATUS us_put(PUNICODE_STRING d, size_t at, const WCHAR *src, size_t n)
{
	size_t room = d->MaximumLength / sizeof(WCHAR) - at;
	NTSTATUS st = STATUS_SUCCESS;

	if (n > room) {
		n = room;
		st = STATUS_BUFFER_OVERFLOW;
	}
	memmove(d->Buffer + at, src, n * sizeof(WCHAR));
	d->Length = (USHORT)((at + n) * sizeof(WCHAR));
	return st;
}

NTSTATUS RtlUnicodeStringCopy(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString)
{
	if (us_validate(DestinationString, 0) || us_validate(SourceString, 1))
		return STATUS_INVALID_PARAMETER;
	return us_put(DestinationString, 0, SourceString->Buffer,
		      SourceString->Length / sizeof(WCHAR));
}

NTSTATUS RtlUnicodeStringCopyString(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc)
{
	if (us_validate(DestinationString, 0) || !pszSrc)
		return STATUS_INVALID_PARAMETER;
	return us_put(DestinationString, 0, pszSrc,
		      ulen(pszSrc, sizeof(WCHAR), NTSTRSAFE_UNICODE_STRING_MAX_CCH + 1));
}

NTSTATUS RtlUnicodeStringCat(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString)
{
	if (us_validate(DestinationString, 0) || us_validate(SourceString, 1))
		return STATUS_INVALID_PARAMETER;
	return us_put(DestinationString, DestinationString->Length / sizeof(WCHAR),
		      SourceString->Buffer, SourceString->Length / sizeof(WCHAR));
}

NTSTATUS RtlUnicodeStringCatString(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc)
{
	if (us_validate(DestinationString, 0) || !pszSrc)
		return STATUS_INVALID_PARAMETER;
	return us_put(DestinationString, DestinationString->Length / sizeof(WCHAR), pszSrc,
		      ulen(pszSrc, sizeof(WCHAR), NTSTRSAFE_UNICODE_STRING_MAX_CCH + 1));
}

NTSTATUS RtlUnicodeStringCchCopyStringN(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc,
					size_t cchToCopy)
{
	if (us_validate(DestinationString, 0) || !pszSrc)
		return STATUS_INVALID_PARAMETER;
	return us_put(DestinationString, 0, pszSrc, ulen(pszSrc, sizeof(WCHAR), cchToCopy));
}

NTSTATUS RtlUnicodeStringCbCopyStringN(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc,
				       size_t cbToCopy)
{
	return RtlUnicodeStringCchCopyStringN(DestinationString, pszSrc, cbToCopy / sizeof(WCHAR));
}

NTSTATUS RtlUnicodeStringCchCatStringN(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc,
				       size_t cchToAppend)
{
	if (us_validate(DestinationString, 0) || !pszSrc)
		return STATUS_INVALID_PARAMETER;
	return us_put(DestinationString, DestinationString->Length / sizeof(WCHAR), pszSrc,
		      ulen(pszSrc, sizeof(WCHAR), cchToAppend));
}

NTSTATUS RtlUnicodeStringCbCatStringN(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc,
				      size_t cbToAppend)
{
	return RtlUnicodeStringCchCatStringN(DestinationString, pszSrc, cbToAppend / sizeof(WCHAR));
}

NTSTATUS RtlUnicodeStringVPrintf(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszFormat,
				 va_list argList)
{
	size_t cap;
	int n;

	if (us_validate(DestinationString, 0) || !pszFormat)
		return STATUS_INVALID_PARAMETER;
	cap = DestinationString->MaximumLength / sizeof(WCHAR);
	/* The _fill variant may use every unit: a UNICODE_STRING needs no terminator. */
	n = fm_ms_vsnwprintf_fill((uint16_t *)DestinationString->Buffer, cap,
				  (const uint16_t *)pszFormat, argList);
	if (n < 0) {
		DestinationString->Length = 0;
		return STATUS_INVALID_PARAMETER;
	}
	if ((size_t)n > cap) {
		DestinationString->Length = (USHORT)(cap * sizeof(WCHAR));
		return STATUS_BUFFER_OVERFLOW;
	}
	DestinationString->Length = (USHORT)((size_t)n * sizeof(WCHAR));
	return STATUS_SUCCESS;
}

NTSTATUS RtlUnicodeStringPrintf(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszFormat, ...)
{
	va_list ap;
	NTSTATUS st;

	va_start(ap, pszFormat);
	st = RtlUnicodeStringVPrintf(DestinationString, pszFormat, ap);
	va_end(ap);
	return st;
}
