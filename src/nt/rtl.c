/* Rtl: counted strings (UNICODE/ANSI, "ANSI" being UTF-8), conversions, numbers, time, memory. */
#include "nt/ke.h"

#include <ntifs.h>
#include <fm_wcrt.h>

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"

#define STRING_TAG 'grtS'

/* ---- Init, copy, append ---------------------------------------------------------------------- */

static size_t wlen(PCWSTR s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

void RtlInitUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString)
{
	size_t n = SourceString ? wlen(SourceString) * sizeof(WCHAR) : 0;

	/* Longer strings are clipped to what a UNICODE_STRING can describe. */
	if (n > UNICODE_STRING_MAX_BYTES - sizeof(WCHAR))
		n = UNICODE_STRING_MAX_BYTES - sizeof(WCHAR);
	DestinationString->Buffer = (PWCH)SourceString;
	DestinationString->Length = (USHORT)n;
	DestinationString->MaximumLength = SourceString ? (USHORT)(n + sizeof(WCHAR)) : 0;
}

NTSTATUS RtlInitUnicodeStringEx(PUNICODE_STRING DestinationString, PCWSTR SourceString)
{
	if (SourceString && wlen(SourceString) * sizeof(WCHAR) > UNICODE_STRING_MAX_BYTES - 2)
		return STATUS_NAME_TOO_LONG;
	RtlInitUnicodeString(DestinationString, SourceString);
	return STATUS_SUCCESS;
}

void RtlInitString(PSTRING DestinationString, PCSZ SourceString)
{
	size_t n = SourceString ? strlen(SourceString) : 0;

	if (n > 0xfffe)
		n = 0xfffe;
	DestinationString->Buffer = (PCHAR)SourceString;
	DestinationString->Length = (USHORT)n;
	DestinationString->MaximumLength = SourceString ? (USHORT)(n + 1) : 0;
}

void RtlInitAnsiString(PANSI_STRING DestinationString, PCSZ SourceString)
{
	RtlInitString(DestinationString, SourceString);
}

NTSTATUS RtlInitAnsiStringEx(PANSI_STRING DestinationString, PCSZ SourceString)
{
	if (SourceString && strlen(SourceString) > 0xfffe)
		return STATUS_NAME_TOO_LONG;
	RtlInitString(DestinationString, SourceString);
	return STATUS_SUCCESS;
}

void RtlInitUTF8String(PUTF8_STRING DestinationString, PCSZ SourceString)
{
	RtlInitString(DestinationString, SourceString);
}

BOOLEAN RtlCreateUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString)
{
	size_t n = (wlen(SourceString) + 1) * sizeof(WCHAR);

	if (n > UNICODE_STRING_MAX_BYTES)
		return FALSE;
	DestinationString->Buffer = ExAllocatePoolWithTag(PagedPool, n, STRING_TAG);
	if (!DestinationString->Buffer)
		return FALSE;
	memcpy(DestinationString->Buffer, SourceString, n);
	DestinationString->Length = (USHORT)(n - sizeof(WCHAR));
	DestinationString->MaximumLength = (USHORT)n;
	return TRUE;
}

NTSTATUS RtlDuplicateUnicodeString(ULONG Flags, PCUNICODE_STRING StringIn,
				   PUNICODE_STRING StringOut)
{
	size_t n, max;

	if (!StringIn || !StringOut || (Flags & ~3u) || StringIn->Length > StringIn->MaximumLength)
		return STATUS_INVALID_PARAMETER;
	n = StringIn->Length;
	max = n + ((Flags & RTL_DUPLICATE_UNICODE_STRING_NULL_TERMINATE) ? sizeof(WCHAR) : 0);
	if (max > UNICODE_STRING_MAX_BYTES)
		return STATUS_NAME_TOO_LONG;
	if (n == 0 && !(Flags & RTL_DUPLICATE_UNICODE_STRING_ALLOCATE_NULL_STRING)) {
		StringOut->Length = StringOut->MaximumLength = 0;
		StringOut->Buffer = NULL;
		return STATUS_SUCCESS;
	}
	StringOut->Buffer = ExAllocatePoolWithTag(PagedPool, max ? max : sizeof(WCHAR), STRING_TAG);
	if (!StringOut->Buffer)
		return STATUS_NO_MEMORY;
	memcpy(StringOut->Buffer, StringIn->Buffer, n);
	if (max > n)
		StringOut->Buffer[n / sizeof(WCHAR)] = 0;
	StringOut->Length = (USHORT)n;
	StringOut->MaximumLength = (USHORT)max;
	return STATUS_SUCCESS;
}

void RtlCopyUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString)
{
	USHORT n;

	if (!SourceString || !SourceString->Buffer) {
		DestinationString->Length = 0;
		return;
	}
	n = SourceString->Length < DestinationString->MaximumLength
		? SourceString->Length
		: DestinationString->MaximumLength;
	n &= (USHORT)~1u;
	memmove(DestinationString->Buffer, SourceString->Buffer, n);
	DestinationString->Length = n;
	/* Terminate when there is room, as Windows does. */
	if (n + sizeof(WCHAR) <= DestinationString->MaximumLength)
		DestinationString->Buffer[n / sizeof(WCHAR)] = 0;
}

void RtlCopyString(PSTRING DestinationString, const STRING *SourceString)
{
	USHORT n;

	if (!SourceString || !SourceString->Buffer) {
		DestinationString->Length = 0;
		return;
	}
	n = SourceString->Length < DestinationString->MaximumLength
		? SourceString->Length
		: DestinationString->MaximumLength;
	memmove(DestinationString->Buffer, SourceString->Buffer, n);
	DestinationString->Length = n;
	if (n < DestinationString->MaximumLength)
		DestinationString->Buffer[n] = 0;
}

static NTSTATUS append(PUNICODE_STRING d, const WCHAR *src, size_t bytes)
{
	if (bytes == 0)
		return STATUS_SUCCESS;
	if ((size_t)d->Length + bytes > d->MaximumLength)
		return STATUS_BUFFER_TOO_SMALL;
	memmove((PCHAR)d->Buffer + d->Length, src, bytes);
	d->Length = (USHORT)(d->Length + bytes);
	if ((size_t)d->Length + sizeof(WCHAR) <= d->MaximumLength)
		d->Buffer[d->Length / sizeof(WCHAR)] = 0;
	return STATUS_SUCCESS;
}

NTSTATUS RtlAppendUnicodeToString(PUNICODE_STRING Destination, PCWSTR Source)
{
	if (!Source)
		return STATUS_SUCCESS;
	return append(Destination, Source, wlen(Source) * sizeof(WCHAR));
}

NTSTATUS RtlAppendUnicodeStringToString(PUNICODE_STRING Destination, PCUNICODE_STRING Source)
{
	return append(Destination, Source->Buffer, Source->Length);
}

NTSTATUS RtlAppendStringToString(PSTRING Destination, const STRING *Source)
{
	if (Source->Length == 0)
		return STATUS_SUCCESS;
	if ((size_t)Destination->Length + Source->Length > Destination->MaximumLength)
		return STATUS_BUFFER_TOO_SMALL;
	memmove(Destination->Buffer + Destination->Length, Source->Buffer, Source->Length);
	Destination->Length = (USHORT)(Destination->Length + Source->Length);
	return STATUS_SUCCESS;
}

/* ---- Case and comparison ----------------------------------------------------------------------- */

WCHAR RtlUpcaseUnicodeChar(WCHAR SourceCharacter)
{
	return fm_towupper(SourceCharacter);
}

WCHAR RtlDowncaseUnicodeChar(WCHAR SourceCharacter)
{
	return fm_towlower(SourceCharacter);
}

CHAR RtlUpperChar(CHAR Character)
{
	return (Character >= 'a' && Character <= 'z') ? (CHAR)(Character - 'a' + 'A') : Character;
}

void RtlUpperString(PSTRING DestinationString, const STRING *SourceString)
{
	USHORT n = SourceString->Length < DestinationString->MaximumLength
		       ? SourceString->Length
		       : DestinationString->MaximumLength;

	for (USHORT i = 0; i < n; i++)
		DestinationString->Buffer[i] = RtlUpperChar(SourceString->Buffer[i]);
	DestinationString->Length = n;
}

LONG RtlCompareUnicodeStrings(PCWCH String1, SIZE_T String1Length, PCWCH String2,
			      SIZE_T String2Length, BOOLEAN CaseInSensitive)
{
	SIZE_T n = String1Length < String2Length ? String1Length : String2Length;

	for (SIZE_T i = 0; i < n; i++) {
		WCHAR a = String1[i], b = String2[i];
		if (CaseInSensitive) {
			a = fm_towupper(a);
			b = fm_towupper(b);
		}
		if (a != b)
			return (LONG)a - (LONG)b;
	}
	return (LONG)String1Length - (LONG)String2Length;
}

LONG RtlCompareUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
			     BOOLEAN CaseInSensitive)
{
	return RtlCompareUnicodeStrings(String1->Buffer, String1->Length / sizeof(WCHAR),
					String2->Buffer, String2->Length / sizeof(WCHAR),
					CaseInSensitive);
}

BOOLEAN RtlEqualUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
			      BOOLEAN CaseInSensitive)
{
	if (String1->Length != String2->Length)
		return FALSE;
	return RtlCompareUnicodeString(String1, String2, CaseInSensitive) == 0;
}

BOOLEAN RtlPrefixUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
			       BOOLEAN CaseInSensitive)
{
	if (String1->Length > String2->Length)
		return FALSE;
	return RtlCompareUnicodeStrings(String1->Buffer, String1->Length / sizeof(WCHAR),
					String2->Buffer, String1->Length / sizeof(WCHAR),
					CaseInSensitive) == 0;
}

BOOLEAN RtlSuffixUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
			       BOOLEAN CaseInSensitive)
{
	size_t off;

	if (String1->Length > String2->Length)
		return FALSE;
	off = (String2->Length - String1->Length) / sizeof(WCHAR);
	return RtlCompareUnicodeStrings(String1->Buffer, String1->Length / sizeof(WCHAR),
					String2->Buffer + off, String1->Length / sizeof(WCHAR),
					CaseInSensitive) == 0;
}

LONG RtlCompareString(const STRING *String1, const STRING *String2, BOOLEAN CaseInSensitive)
{
	USHORT n = String1->Length < String2->Length ? String1->Length : String2->Length;

	for (USHORT i = 0; i < n; i++) {
		UCHAR a = (UCHAR)String1->Buffer[i], b = (UCHAR)String2->Buffer[i];
		if (CaseInSensitive) {
			a = (UCHAR)RtlUpperChar((CHAR)a);
			b = (UCHAR)RtlUpperChar((CHAR)b);
		}
		if (a != b)
			return (LONG)a - (LONG)b;
	}
	return (LONG)String1->Length - (LONG)String2->Length;
}

BOOLEAN RtlEqualString(const STRING *String1, const STRING *String2, BOOLEAN CaseInSensitive)
{
	return String1->Length == String2->Length &&
	       RtlCompareString(String1, String2, CaseInSensitive) == 0;
}

BOOLEAN RtlPrefixString(const STRING *String1, const STRING *String2, BOOLEAN CaseInSensitive)
{
	STRING s2 = *String2;

	if (String1->Length > String2->Length)
		return FALSE;
	s2.Length = String1->Length;
	return RtlCompareString(String1, &s2, CaseInSensitive) == 0;
}

static NTSTATUS recase(PUNICODE_STRING d, PCUNICODE_STRING s, BOOLEAN alloc, int up)
{
	USHORT n = s->Length;

	if (alloc) {
		d->Buffer = ExAllocatePoolWithTag(PagedPool, n ? n : sizeof(WCHAR), STRING_TAG);
		if (!d->Buffer)
			return STATUS_NO_MEMORY;
		d->MaximumLength = n;
	} else if (n > d->MaximumLength) {
		return STATUS_BUFFER_OVERFLOW;
	}
	for (USHORT i = 0; i < n / sizeof(WCHAR); i++)
		d->Buffer[i] = up ? fm_towupper(s->Buffer[i]) : fm_towlower(s->Buffer[i]);
	d->Length = n;
	return STATUS_SUCCESS;
}

NTSTATUS RtlUpcaseUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString,
				BOOLEAN AllocateDestinationString)
{
	return recase(DestinationString, SourceString, AllocateDestinationString, 1);
}

NTSTATUS RtlDowncaseUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString,
				  BOOLEAN AllocateDestinationString)
{
	return recase(DestinationString, SourceString, AllocateDestinationString, 0);
}

void RtlFreeUnicodeString(PUNICODE_STRING UnicodeString)
{
	if (UnicodeString->Buffer)
		ExFreePoolWithTag(UnicodeString->Buffer, STRING_TAG);
	UnicodeString->Buffer = NULL;
	UnicodeString->Length = UnicodeString->MaximumLength = 0;
}

void RtlFreeAnsiString(PANSI_STRING AnsiString)
{
	if (AnsiString->Buffer)
		ExFreePoolWithTag(AnsiString->Buffer, STRING_TAG);
	AnsiString->Buffer = NULL;
	AnsiString->Length = AnsiString->MaximumLength = 0;
}

void RtlFreeUTF8String(PUTF8_STRING Utf8String)
{
	RtlFreeAnsiString(Utf8String);
}

/* ---- UTF-16 <-> UTF-8 ------------------------------------------------------------------------ */

/*
 * Converts n UTF-16 units; writes at most cap bytes (out may be NULL to measure).  A lone
 * surrogate becomes U+FFFD.  Returns the bytes the whole conversion needs.
 */
static size_t utf16_to_utf8(const WCHAR *in, size_t n, char *out, size_t cap, size_t *written)
{
	size_t need = 0, w = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t c = in[i];
		char tmp[4];
		size_t k;

		if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && in[i + 1] >= 0xdc00 &&
		    in[i + 1] <= 0xdfff) {
			c = 0x10000 + ((c - 0xd800) << 10) + (in[i + 1] - 0xdc00);
			i++;
		} else if (c >= 0xd800 && c <= 0xdfff) {
			c = 0xfffd;
		}
		if (c < 0x80) {
			tmp[0] = (char)c;
			k = 1;
		} else if (c < 0x800) {
			tmp[0] = (char)(0xc0 | (c >> 6));
			tmp[1] = (char)(0x80 | (c & 0x3f));
			k = 2;
		} else if (c < 0x10000) {
			tmp[0] = (char)(0xe0 | (c >> 12));
			tmp[1] = (char)(0x80 | ((c >> 6) & 0x3f));
			tmp[2] = (char)(0x80 | (c & 0x3f));
			k = 3;
		} else {
			tmp[0] = (char)(0xf0 | (c >> 18));
			tmp[1] = (char)(0x80 | ((c >> 12) & 0x3f));
			tmp[2] = (char)(0x80 | ((c >> 6) & 0x3f));
			tmp[3] = (char)(0x80 | (c & 0x3f));
			k = 4;
		}
		if (out && w + k <= cap) {
			memcpy(out + w, tmp, k);
			w += k;
		} else {
			/* Stop writing at the first character that does not fit. */
			cap = w;
		}
		need += k;
	}
	if (written)
		*written = w;
	return need;
}

/* UTF-8 -> UTF-16, invalid bytes become U+FFFD.  Returns the units needed. */
static size_t utf8_to_utf16(const char *in, size_t n, WCHAR *out, size_t cap, size_t *written)
{
	size_t need = 0, w = 0, i = 0;

	while (i < n) {
		unsigned char b = (unsigned char)in[i];
		uint32_t c;
		size_t k, units;

		if (b < 0x80) {
			c = b;
			k = 1;
		} else if ((b & 0xe0) == 0xc0) {
			c = b & 0x1f;
			k = 2;
		} else if ((b & 0xf0) == 0xe0) {
			c = b & 0x0f;
			k = 3;
		} else if ((b & 0xf8) == 0xf0) {
			c = b & 0x07;
			k = 4;
		} else {
			c = 0xfffd;
			k = 1;
		}
		if (k > 1) {
			size_t j;
			if (i + k > n) {
				c = 0xfffd;
				k = 1;
			} else {
				for (j = 1; j < k; j++) {
					unsigned char cb = (unsigned char)in[i + j];
					if ((cb & 0xc0) != 0x80)
						break;
					c = (c << 6) | (cb & 0x3f);
				}
				if (j < k || (k == 2 && c < 0x80) || (k == 3 && c < 0x800) ||
				    (k == 4 && (c < 0x10000 || c > 0x10ffff)) ||
				    (c >= 0xd800 && c <= 0xdfff)) {
					c = 0xfffd;
					k = 1;
				}
			}
		}
		i += k;
		units = c >= 0x10000 ? 2 : 1;
		if (out && w + units <= cap) {
			if (units == 2) {
				out[w++] = (WCHAR)(0xd800 + ((c - 0x10000) >> 10));
				out[w++] = (WCHAR)(0xdc00 + ((c - 0x10000) & 0x3ff));
			} else {
				out[w++] = (WCHAR)c;
			}
		} else {
			cap = w;
		}
		need += units;
	}
	if (written)
		*written = w;
	return need;
}

NTSTATUS RtlUnicodeToUTF8N(PCHAR UTF8StringDestination, ULONG UTF8StringMaxByteCount,
			   PULONG UTF8StringActualByteCount, PCWCH UnicodeStringSource,
			   ULONG UnicodeStringByteCount)
{
	size_t w, need;

	if (!UnicodeStringSource || !UTF8StringActualByteCount)
		return STATUS_INVALID_PARAMETER;
	need = utf16_to_utf8(UnicodeStringSource, UnicodeStringByteCount / sizeof(WCHAR),
			     UTF8StringDestination,
			     UTF8StringDestination ? UTF8StringMaxByteCount : 0, &w);
	*UTF8StringActualByteCount = (ULONG)(UTF8StringDestination ? w : need);
	if (UTF8StringDestination && w < need)
		return STATUS_BUFFER_TOO_SMALL;
	return STATUS_SUCCESS;
}

NTSTATUS RtlUTF8ToUnicodeN(PWSTR UnicodeStringDestination, ULONG UnicodeStringMaxByteCount,
			   PULONG UnicodeStringActualByteCount, PCCH UTF8StringSource,
			   ULONG UTF8StringByteCount)
{
	size_t w, need;

	if (!UTF8StringSource || !UnicodeStringActualByteCount)
		return STATUS_INVALID_PARAMETER;
	need = utf8_to_utf16(
	    UTF8StringSource, UTF8StringByteCount, UnicodeStringDestination,
	    UnicodeStringDestination ? UnicodeStringMaxByteCount / sizeof(WCHAR) : 0, &w);
	*UnicodeStringActualByteCount =
	    (ULONG)((UnicodeStringDestination ? w : need) * sizeof(WCHAR));
	if (UnicodeStringDestination && w < need)
		return STATUS_BUFFER_TOO_SMALL;
	return STATUS_SUCCESS;
}

ULONG RtlxUnicodeStringToAnsiSize(PCUNICODE_STRING UnicodeString)
{
	return (ULONG)utf16_to_utf8(UnicodeString->Buffer, UnicodeString->Length / sizeof(WCHAR),
				    NULL, 0, NULL) +
	       1;
}

ULONG RtlxAnsiStringToUnicodeSize(PCANSI_STRING AnsiString)
{
	return (ULONG)(utf8_to_utf16(AnsiString->Buffer, AnsiString->Length, NULL, 0, NULL) + 1) *
	       sizeof(WCHAR);
}

NTSTATUS RtlUnicodeStringToAnsiString(PANSI_STRING DestinationString, PCUNICODE_STRING SourceString,
				      BOOLEAN AllocateDestinationString)
{
	size_t need = utf16_to_utf8(SourceString->Buffer, SourceString->Length / sizeof(WCHAR),
				    NULL, 0, NULL);
	size_t w;
	NTSTATUS st = STATUS_SUCCESS;

	if (need > 0xfffe)
		return STATUS_INVALID_PARAMETER_2;
	if (AllocateDestinationString) {
		DestinationString->Buffer = ExAllocatePoolWithTag(PagedPool, need + 1, STRING_TAG);
		if (!DestinationString->Buffer)
			return STATUS_NO_MEMORY;
		DestinationString->MaximumLength = (USHORT)(need + 1);
	} else if (need >= DestinationString->MaximumLength) {
		/* Windows converts what fits and reports the overflow. */
		st = STATUS_BUFFER_OVERFLOW;
		if (DestinationString->MaximumLength == 0)
			return st;
	}
	utf16_to_utf8(SourceString->Buffer, SourceString->Length / sizeof(WCHAR),
		      DestinationString->Buffer, DestinationString->MaximumLength - 1u, &w);
	DestinationString->Buffer[w] = 0;
	DestinationString->Length = (USHORT)w;
	return st;
}

NTSTATUS RtlAnsiStringToUnicodeString(PUNICODE_STRING DestinationString, PCANSI_STRING SourceString,
				      BOOLEAN AllocateDestinationString)
{
	size_t need = utf8_to_utf16(SourceString->Buffer, SourceString->Length, NULL, 0, NULL);
	size_t w;
	NTSTATUS st = STATUS_SUCCESS;

	if ((need + 1) * sizeof(WCHAR) > UNICODE_STRING_MAX_BYTES)
		return STATUS_INVALID_PARAMETER_2;
	if (AllocateDestinationString) {
		DestinationString->Buffer =
		    ExAllocatePoolWithTag(PagedPool, (need + 1) * sizeof(WCHAR), STRING_TAG);
		if (!DestinationString->Buffer)
			return STATUS_NO_MEMORY;
		DestinationString->MaximumLength = (USHORT)((need + 1) * sizeof(WCHAR));
	} else if ((need + 1) * sizeof(WCHAR) > DestinationString->MaximumLength) {
		st = STATUS_BUFFER_OVERFLOW;
		if (DestinationString->MaximumLength < sizeof(WCHAR))
			return st;
	}
	utf8_to_utf16(SourceString->Buffer, SourceString->Length, DestinationString->Buffer,
		      DestinationString->MaximumLength / sizeof(WCHAR) - 1u, &w);
	DestinationString->Buffer[w] = 0;
	DestinationString->Length = (USHORT)(w * sizeof(WCHAR));
	return st;
}

NTSTATUS RtlUnicodeStringToUTF8String(PUTF8_STRING DestinationString, PCUNICODE_STRING SourceString,
				      BOOLEAN AllocateDestinationString)
{
	return RtlUnicodeStringToAnsiString(DestinationString, SourceString,
					    AllocateDestinationString);
}

NTSTATUS RtlUTF8StringToUnicodeString(PUNICODE_STRING DestinationString, PUTF8_STRING SourceString,
				      BOOLEAN AllocateDestinationString)
{
	return RtlAnsiStringToUnicodeString(DestinationString, SourceString,
					    AllocateDestinationString);
}

NTSTATUS RtlOemStringToUnicodeString(PUNICODE_STRING DestinationString, PCOEM_STRING SourceString,
				     BOOLEAN AllocateDestinationString)
{
	return RtlAnsiStringToUnicodeString(DestinationString, SourceString,
					    AllocateDestinationString);
}

NTSTATUS RtlUnicodeStringToOemString(POEM_STRING DestinationString, PCUNICODE_STRING SourceString,
				     BOOLEAN AllocateDestinationString)
{
	return RtlUnicodeStringToAnsiString(DestinationString, SourceString,
					    AllocateDestinationString);
}

/* ---- Numbers ------------------------------------------------------------------------------------ */

static int digit_value(unsigned c)
{
	if (c >= '0' && c <= '9')
		return (int)(c - '0');
	if (c >= 'a' && c <= 'z')
		return (int)(c - 'a' + 10);
	if (c >= 'A' && c <= 'Z')
		return (int)(c - 'A' + 10);
	return 99;
}

/* Shared parser: leading blanks, sign, 0x/0o/0b prefix when base is 0; stops at a non-digit. */
static NTSTATUS parse_ulong(const void *s, size_t n, int wide, ULONG Base, PULONG Value)
{
	size_t i = 0;
	int neg = 0;
	ULONG v = 0;

#define CH(k) (wide ? (unsigned)((const WCHAR *)s)[k] : (unsigned)((const unsigned char *)s)[k])
	if (!Value)
		return STATUS_ACCESS_VIOLATION;
	if (Base != 0 && Base != 2 && Base != 8 && Base != 10 && Base != 16)
		return STATUS_INVALID_PARAMETER;
	while (i < n && CH(i) <= ' ')
		i++;
	if (i < n && (CH(i) == '-' || CH(i) == '+'))
		neg = CH(i++) == '-';
	if (Base == 0) {
		Base = 10;
		if (i + 1 < n && CH(i) == '0') {
			unsigned p = CH(i + 1);
			if (p == 'x') {
				Base = 16;
				i += 2;
			} else if (p == 'o') {
				Base = 8;
				i += 2;
			} else if (p == 'b') {
				Base = 2;
				i += 2;
			}
		}
	}
	for (; i < n; i++) {
		int d = digit_value(CH(i));
		if (d >= (int)Base)
			break;
		v = v * Base + (ULONG)d;
	}
#undef CH
	*Value = neg ? (ULONG)(0u - v) : v;
	return STATUS_SUCCESS;
}

NTSTATUS RtlUnicodeStringToInteger(PCUNICODE_STRING String, ULONG Base, PULONG Value)
{
	return parse_ulong(String->Buffer, String->Length / sizeof(WCHAR), 1, Base, Value);
}

NTSTATUS RtlCharToInteger(PCSZ String, ULONG Base, PULONG Value)
{
	if (!String)
		return STATUS_INVALID_PARAMETER;
	return parse_ulong(String, strlen(String), 0, Base, Value);
}

static int format_ulonglong(ULONGLONG v, ULONG Base, char *out)
{
	char tmp[72];
	int n = 0, k = 0;

	if (Base == 0)
		Base = 10;
	do {
		unsigned d = (unsigned)(v % Base);
		tmp[n++] = (char)(d < 10 ? '0' + d : 'A' + d - 10);
		v /= Base;
	} while (v);
	while (n)
		out[k++] = tmp[--n];
	out[k] = 0;
	return k;
}

NTSTATUS RtlInt64ToUnicodeString(ULONGLONG Value, ULONG Base, PUNICODE_STRING String)
{
	char buf[72];
	int n;

	if (Base != 0 && Base != 2 && Base != 8 && Base != 10 && Base != 16)
		return STATUS_INVALID_PARAMETER;
	n = format_ulonglong(Value, Base, buf);
	if ((size_t)(n + 1) * sizeof(WCHAR) > String->MaximumLength)
		return STATUS_BUFFER_OVERFLOW;
	for (int i = 0; i <= n; i++)
		String->Buffer[i] = (WCHAR)(unsigned char)buf[i];
	String->Length = (USHORT)(n * sizeof(WCHAR));
	return STATUS_SUCCESS;
}

NTSTATUS RtlIntegerToUnicodeString(ULONG Value, ULONG Base, PUNICODE_STRING String)
{
	return RtlInt64ToUnicodeString(Value, Base, String);
}

NTSTATUS RtlIntegerToChar(ULONG Value, ULONG Base, LONG OutputLength, PSZ String)
{
	char buf[72];
	int n;

	if (Base != 0 && Base != 2 && Base != 8 && Base != 10 && Base != 16)
		return STATUS_INVALID_PARAMETER;
	n = format_ulonglong(Value, Base, buf);
	if (OutputLength < 0)
		OutputLength = -OutputLength;
	if (n > OutputLength)
		return STATUS_BUFFER_OVERFLOW;
	memcpy(String, buf, (size_t)n + (n < OutputLength ? 1 : 0));
	return STATUS_SUCCESS;
}

NTSTATUS RtlStringFromGUID(REFGUID Guid, PUNICODE_STRING GuidString)
{
	char buf[40];
	int n;

	n = snprintf(buf, sizeof(buf), "{%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}",
		     Guid->Data1, Guid->Data2, Guid->Data3, Guid->Data4[0], Guid->Data4[1],
		     Guid->Data4[2], Guid->Data4[3], Guid->Data4[4], Guid->Data4[5], Guid->Data4[6],
		     Guid->Data4[7]);
	GuidString->Buffer =
	    ExAllocatePoolWithTag(PagedPool, (size_t)(n + 1) * sizeof(WCHAR), STRING_TAG);
	if (!GuidString->Buffer)
		return STATUS_NO_MEMORY;
	for (int i = 0; i <= n; i++)
		GuidString->Buffer[i] = (WCHAR)(unsigned char)buf[i];
	GuidString->Length = (USHORT)(n * sizeof(WCHAR));
	GuidString->MaximumLength = (USHORT)((n + 1) * sizeof(WCHAR));
	return STATUS_SUCCESS;
}

NTSTATUS RtlGUIDFromString(PCUNICODE_STRING GuidString, GUID *Guid)
{
	static const int pos[16] = {1, 3, 5, 7, 10, 12, 15, 17, 20, 22, 25, 27, 29, 31, 33, 35};
	unsigned char b[16];
	const WCHAR *s = GuidString->Buffer;

	if (GuidString->Length != 38 * sizeof(WCHAR) || s[0] != '{' || s[9] != '-' ||
	    s[14] != '-' || s[19] != '-' || s[24] != '-' || s[37] != '}')
		return STATUS_INVALID_PARAMETER;
	for (int i = 0; i < 16; i++) {
		int hi = digit_value(s[pos[i]]), lo = digit_value(s[pos[i] + 1]);
		if (hi > 15 || lo > 15)
			return STATUS_INVALID_PARAMETER;
		b[i] = (unsigned char)(hi * 16 + lo);
	}
	Guid->Data1 = ((ULONG)b[0] << 24) | ((ULONG)b[1] << 16) | ((ULONG)b[2] << 8) | b[3];
	Guid->Data2 = (USHORT)((b[4] << 8) | b[5]);
	Guid->Data3 = (USHORT)((b[6] << 8) | b[7]);
	memcpy(Guid->Data4, b + 8, 8);
	return STATUS_SUCCESS;
}

NTSTATUS RtlHashUnicodeString(PCUNICODE_STRING String, BOOLEAN CaseInSensitive, ULONG HashAlgorithm,
			      PULONG HashValue)
{
	ULONG h = 0;

	if (!String || !HashValue ||
	    (HashAlgorithm != HASH_STRING_ALGORITHM_DEFAULT &&
	     HashAlgorithm != HASH_STRING_ALGORITHM_X65599))
		return STATUS_INVALID_PARAMETER;
	for (USHORT i = 0; i < String->Length / sizeof(WCHAR); i++) {
		WCHAR c = CaseInSensitive ? fm_towupper(String->Buffer[i]) : String->Buffer[i];
		h = h * 65599u + c;
	}
	*HashValue = h;
	return STATUS_SUCCESS;
}

/* ---- Memory ----------------------------------------------------------------------------------- */

SIZE_T RtlCompareMemory(const void *Source1, const void *Source2, SIZE_T Length)
{
	const unsigned char *a = Source1, *b = Source2;
	SIZE_T i = 0;

	while (i < Length && a[i] == b[i])
		i++;
	return i;
}

SIZE_T RtlCompareMemoryUlong(PVOID Source, SIZE_T Length, ULONG Pattern)
{
	const ULONG *p = Source;
	SIZE_T i = 0;

	while (i + sizeof(ULONG) <= Length && p[i / sizeof(ULONG)] == Pattern)
		i += sizeof(ULONG);
	return i;
}

/* ---- Time fields ------------------------------------------------------------------------------- */

#define TICKS_PER_SEC 10000000LL
#define DAYS_1601_TO_1970 134774LL

/* Days since 1970-01-01 to a civil date (proleptic Gregorian), and back. */
static LONGLONG days_from_civil(LONGLONG y, unsigned m, unsigned d)
{
	y -= m <= 2;
	LONGLONG era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (LONGLONG)doe - 719468;
}

static void civil_from_days(LONGLONG z, LONGLONG *y, unsigned *m, unsigned *d)
{
	z += 719468;
	LONGLONG era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (LONGLONG)yoe + era * 400 + (*m <= 2);
}

void RtlTimeToTimeFields(PLARGE_INTEGER Time, PTIME_FIELDS TimeFields)
{
	LONGLONG t = Time->QuadPart, days, secs, y;
	unsigned m, d;

	days = t / (TICKS_PER_SEC * 86400);
	secs = (t / TICKS_PER_SEC) % 86400;
	TimeFields->Milliseconds = (CSHORT)((t % TICKS_PER_SEC) / 10000);
	TimeFields->Hour = (CSHORT)(secs / 3600);
	TimeFields->Minute = (CSHORT)((secs / 60) % 60);
	TimeFields->Second = (CSHORT)(secs % 60);
	/* 1601-01-01 was a Monday. */
	TimeFields->Weekday = (CSHORT)((days + 1) % 7);
	civil_from_days(days - DAYS_1601_TO_1970, &y, &m, &d);
	TimeFields->Year = (CSHORT)y;
	TimeFields->Month = (CSHORT)m;
	TimeFields->Day = (CSHORT)d;
}

BOOLEAN RtlTimeFieldsToTime(PTIME_FIELDS TimeFields, PLARGE_INTEGER Time)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	LONGLONG days;
	int y = TimeFields->Year;

	if (y < 1601 || TimeFields->Month < 1 || TimeFields->Month > 12 || TimeFields->Day < 1 ||
	    TimeFields->Day > mdays[TimeFields->Month - 1] || TimeFields->Hour < 0 ||
	    TimeFields->Hour > 23 || TimeFields->Minute < 0 || TimeFields->Minute > 59 ||
	    TimeFields->Second < 0 || TimeFields->Second > 59 || TimeFields->Milliseconds < 0 ||
	    TimeFields->Milliseconds > 999)
		return FALSE;
	if (TimeFields->Month == 2 && TimeFields->Day == 29 &&
	    !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return FALSE;
	days = days_from_civil(y, (unsigned)TimeFields->Month, (unsigned)TimeFields->Day) +
	       DAYS_1601_TO_1970;
	Time->QuadPart = ((days * 86400 + TimeFields->Hour * 3600LL + TimeFields->Minute * 60LL +
			   TimeFields->Second) *
			  TICKS_PER_SEC) +
			 TimeFields->Milliseconds * 10000LL;
	return TRUE;
}

BOOLEAN RtlTimeToSecondsSince1970(PLARGE_INTEGER Time, PULONG ElapsedSeconds)
{
	LONGLONG s = Time->QuadPart / TICKS_PER_SEC - DAYS_1601_TO_1970 * 86400;

	if (s < 0 || s > 0xffffffffLL)
		return FALSE;
	*ElapsedSeconds = (ULONG)s;
	return TRUE;
}

void RtlSecondsSince1970ToTime(ULONG ElapsedSeconds, PLARGE_INTEGER Time)
{
	Time->QuadPart = ((LONGLONG)ElapsedSeconds + DAYS_1601_TO_1970 * 86400) * TICKS_PER_SEC;
}

/* ---- Random numbers (the documented linear congruential generators) ----------------------------- */

ULONG RtlUniform(PULONG Seed)
{
	/* Park-Miller style LCG modulo 2^31 - 1, as the runtime documents for RtlUniform. */
	*Seed = (ULONG)(((ULONGLONG)*Seed * 0x7fffffedULL + 0x7fffffc3ULL) % 0x7fffffffULL);
	return *Seed;
}

ULONG RtlRandom(PULONG Seed)
{
	return RtlUniform(Seed);
}

ULONG RtlRandomEx(PULONG Seed)
{
	return RtlUniform(Seed);
}
