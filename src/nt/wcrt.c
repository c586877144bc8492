/* The 16-bit wide C runtime minifilters call (wcslen, _wcsnicmp, _snwprintf ...), MS semantics. */
#include "nt/format.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/alloc.h"

#include <fm_wcrt.h>

/*
 * fm_wcrt.h (the WDK headers) declares these functions for minifilters and maps the CRT
 * names onto them (wcslen -> fm_wcslen, _snwprintf -> fm_snwprintf ...).  Two v-forms it
 * does not map are declared here.  Microsoft types: ULONG/LONG results have 32-bit ranges,
 * wint_t is 16-bit.
 */
int fm_vswprintf_s(WCHAR *buf, size_t size, const WCHAR *fmt, va_list ap);
int fm_vsprintf_s(char *buf, size_t size, const char *fmt, va_list ap);

#define FM_TRUNCATE ((size_t)-1)

/* ---- strings ---------------------------------------------------------------------------- */

size_t fm_wcslen(const uint16_t *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	while (s[n])
		n++;
	return n;
}

size_t fm_wcsnlen(const uint16_t *s, size_t max)
{
	size_t n = 0;

	if (!s)
		return 0;
	while (n < max && s[n])
		n++;
	return n;
}

uint16_t *fm_wcscpy(uint16_t *dst, const uint16_t *src)
{
	size_t i = 0;

	if (!dst || !src)
		return dst;
	do
		dst[i] = src[i];
	while (src[i++]);
	return dst;
}

uint16_t *fm_wcsncpy(uint16_t *dst, const uint16_t *src, size_t n)
{
	size_t i = 0;

	if (!dst || !src)
		return dst;
	for (; i < n && src[i]; i++)
		dst[i] = src[i];
	/* As in C, the rest of the n units is zero-filled (and nothing is added when full). */
	for (; i < n; i++)
		dst[i] = 0;
	return dst;
}

uint16_t *fm_wcscat(uint16_t *dst, const uint16_t *src)
{
	if (!dst || !src)
		return dst;
	fm_wcscpy(dst + fm_wcslen(dst), src);
	return dst;
}

uint16_t *fm_wcsncat(uint16_t *dst, const uint16_t *src, size_t n)
{
	uint16_t *d;
	size_t i = 0;

	if (!dst || !src)
		return dst;
	d = dst + fm_wcslen(dst);
	for (; i < n && src[i]; i++)
		d[i] = src[i];
	d[i] = 0;
	return dst;
}

int fm_wcscmp(const uint16_t *a, const uint16_t *b)
{
	return fm_wcsncmp(a, b, SIZE_MAX);
}

/* A NULL string (a filter bug) sorts before every string instead of crashing the daemon. */
static int null_order(const void *a, const void *b)
{
	return a == b ? 0 : a ? 1 : -1;
}

int fm_wcsncmp(const uint16_t *a, const uint16_t *b, size_t n)
{
	if (!a || !b)
		return null_order(a, b);
	for (size_t i = 0; i < n; i++) {
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
		if (!a[i])
			break;
	}
	return 0;
}

int fm_wcsicmp(const uint16_t *a, const uint16_t *b)
{
	return fm_wcsnicmp(a, b, SIZE_MAX);
}

int fm_wcsnicmp(const uint16_t *a, const uint16_t *b, size_t n)
{
	if (!a || !b)
		return null_order(a, b);
	/* Like Microsoft's CRT, compare the lower-case forms (this decides how '_' sorts). */
	for (size_t i = 0; i < n; i++) {
		uint16_t x = fm_towlower(a[i]), y = fm_towlower(b[i]);

		if (x != y)
			return (int)x - (int)y;
		if (!x)
			break;
	}
	return 0;
}

uint16_t *fm_wcschr(const uint16_t *s, uint16_t c)
{
	if (!s)
		return NULL;
	for (;; s++) {
		if (*s == c)
			return (uint16_t *)s;
		if (!*s)
			return NULL;
	}
}

uint16_t *fm_wcsrchr(const uint16_t *s, uint16_t c)
{
	const uint16_t *last = NULL;

	if (!s)
		return NULL;
	for (;; s++) {
		if (*s == c)
			last = s;
		if (!*s)
			return (uint16_t *)last;
	}
}

uint16_t *fm_wcsstr(const uint16_t *haystack, const uint16_t *needle)
{
	size_t n = fm_wcslen(needle);

	if (!haystack || !needle)
		return NULL;
	for (const uint16_t *h = haystack;; h++) {
		if (fm_wcsncmp(h, needle, n) == 0)
			return (uint16_t *)h;
		if (!*h)
			return NULL;
	}
}

uint16_t *fm_wcstok(uint16_t *str, const uint16_t *delim, uint16_t **context)
{
	if (!delim || !context || (!str && !*context)) {
		errno = EINVAL;
		return NULL;
	}
	uint16_t *p = str ? str : *context;
	while (*p && fm_wcschr(delim, *p))
		p++;
	if (!*p) {
		*context = p;
		return NULL;
	}
	uint16_t *tok = p;
	while (*p && !fm_wcschr(delim, *p))
		p++;
	if (*p)
		*p++ = 0;
	*context = p;
	return tok;
}

size_t fm_wcsspn(const uint16_t *s, const uint16_t *accept)
{
	size_t n = 0;

	if (!s || !accept)
		return 0;
	while (s[n] && fm_wcschr(accept, s[n]))
		n++;
	return n;
}

size_t fm_wcscspn(const uint16_t *s, const uint16_t *reject)
{
	size_t n = 0;

	if (!s || !reject)
		return 0;
	while (s[n] && !fm_wcschr(reject, s[n]))
		n++;
	return n;
}

uint16_t *fm_wcspbrk(const uint16_t *s, const uint16_t *accept)
{
	if (!s || !accept)
		return NULL;
	s += fm_wcscspn(s, accept);
	return *s ? (uint16_t *)s : NULL;
}

/* The copy is released with free() (as _wcsdup's is) or fm_free(); NULL if out of memory. */
uint16_t *fm_wcsdup(const uint16_t *s)
{
	size_t n;
	uint16_t *d;

	if (!s)
		return NULL;
	n = fm_wcslen(s) + 1;
	d = fm_malloc(n * sizeof(*d));
	if (d)
		memcpy(d, s, n * sizeof(*d));
	return d;
}

/* ---- character classes and case ---------------------------------------------------------- */

/*
 * Simple case mapping for the scripts file names commonly use, written from the structure of
 * the Unicode blocks (see docs/names.md, "Case"): contiguous blocks where lower = upper +
 * delta, and blocks where upper- and lower-case letters alternate.  Mappings that are not
 * one-to-one (U+0130, U+0131, U+017F, U+00B5, title-case digraphs) are left out so that
 * towupper and towlower stay inverse of each other.
 */
struct case_range {
	uint16_t lo, hi; /* upper-case letters */
	int16_t delta;	 /* lower = upper + delta */
};

static const struct case_range shifted[] = {
    {0x0041, 0x005A, 32}, {0x00C0, 0x00D6, 32}, {0x00D8, 0x00DE, 32}, {0x0178, 0x0178, -121},
    {0x0386, 0x0386, 38}, {0x0388, 0x038A, 37}, {0x038C, 0x038C, 64}, {0x038E, 0x038F, 63},
    {0x0391, 0x03A1, 32}, {0x03A3, 0x03AB, 32}, {0x0400, 0x040F, 80}, {0x0410, 0x042F, 32},
    {0x0531, 0x0556, 48}, {0x2160, 0x216F, 16}, {0x24B6, 0x24CF, 26}, {0xFF21, 0xFF3A, 32},
};

struct pair_range {
	uint16_t lo, hi;       /* first and last code point of the block */
	uint16_t upper_parity; /* 0: upper-case letters are even, lower-case odd; 1: the reverse */
};

static const struct pair_range paired[] = {
    {0x0100, 0x012F, 0}, {0x0132, 0x0137, 0}, {0x0139, 0x0148, 1}, {0x014A, 0x0177, 0},
    {0x0179, 0x017E, 1}, {0x01CD, 0x01DC, 1}, {0x01DE, 0x01EF, 0}, {0x01F8, 0x021F, 0},
    {0x0222, 0x0233, 0}, {0x0246, 0x024F, 0}, {0x03D8, 0x03EF, 0}, {0x0460, 0x0481, 0},
    {0x048A, 0x04BF, 0}, {0x04C1, 0x04CE, 1}, {0x04D0, 0x052F, 0}, {0x1E00, 0x1E95, 0},
    {0x1EA0, 0x1EFF, 0},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

uint16_t fm_towlower(uint16_t c)
{
	if (c < 0x80)
		return (c >= 'A' && c <= 'Z') ? (uint16_t)(c + 32) : c;
	for (size_t i = 0; i < COUNT(shifted); i++) {
		if (c >= shifted[i].lo && c <= shifted[i].hi)
			return (uint16_t)(c + shifted[i].delta);
	}
	for (size_t i = 0; i < COUNT(paired); i++) {
		if (c >= paired[i].lo && c <= paired[i].hi && (c & 1) == paired[i].upper_parity)
			return (uint16_t)(c + 1);
	}
	return c;
}

uint16_t fm_towupper(uint16_t c)
{
	if (c < 0x80)
		return (c >= 'a' && c <= 'z') ? (uint16_t)(c - 32) : c;
	for (size_t i = 0; i < COUNT(shifted); i++) {
		int lo = shifted[i].lo + shifted[i].delta, hi = shifted[i].hi + shifted[i].delta;
		if (c >= lo && c <= hi)
			return (uint16_t)(c - shifted[i].delta);
	}
	for (size_t i = 0; i < COUNT(paired); i++) {
		if (c > paired[i].lo && c <= paired[i].hi && (c & 1) != paired[i].upper_parity)
			return (uint16_t)(c - 1);
	}
	return c;
}

int fm_iswspace(uint16_t c)
{
	/* ASCII white space and the Unicode spaces that break (no U+00A0, U+2007, U+202F). */
	return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x2006) || (c >= 0x2008 && c <= 0x200A) || c == 0x2028 ||
	       c == 0x2029 || c == 0x205F || c == 0x3000;
}

int fm_iswdigit(uint16_t c)
{
	return c >= '0' && c <= '9';
}

int fm_iswalpha(uint16_t c)
{
	if (c < 0x80)
		return (c | 32) >= 'a' && (c | 32) <= 'z';
	if (c == 0xAA || c == 0xB5 || c == 0xBA ||
	    (c >= 0xC0 && c <= 0xFF && c != 0xD7 && c != 0xF7))
		return 1;
	if (fm_towlower(c) != c || fm_towupper(c) != c)
		return 1;
	/* Blocks made of letters (approximate: a few marks inside them count as letters). */
	return (c >= 0x0100 && c <= 0x024F) ||
	       (c >= 0x0370 && c <= 0x03FF && c != 0x037E && c != 0x0387) ||
	       (c >= 0x0400 && c <= 0x0481) || (c >= 0x048A && c <= 0x052F) ||
	       (c >= 0x0561 && c <= 0x0587) || (c >= 0x05D0 && c <= 0x05EA) ||
	       (c >= 0x0620 && c <= 0x064A) || (c >= 0x1E00 && c <= 0x1EFF) ||
	       (c >= 0x3041 && c <= 0x3096) || (c >= 0x30A1 && c <= 0x30FA) ||
	       (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
	       (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xFF41 && c <= 0xFF5A);
}

int fm_iswalnum(uint16_t c)
{
	return fm_iswalpha(c) || fm_iswdigit(c);
}

int fm_iswupper(uint16_t c)
{
	return fm_towlower(c) != c;
}

int fm_iswlower(uint16_t c)
{
	/* Letters with no upper-case form (U+00DF, U+0138 ...) are lower case too. */
	if (fm_towupper(c) != c)
		return 1;
	return c == 0xB5 || c == 0xDF || c == 0x138 || c == 0x149 || c == 0x17F || c == 0x3C2;
}

int fm_iswxdigit(uint16_t c)
{
	return fm_iswdigit(c) || ((c | 32) >= 'a' && (c | 32) <= 'f');
}

uint16_t *fm_wcslwr(uint16_t *s)
{
	for (uint16_t *p = s; p && *p; p++)
		*p = fm_towlower(*p);
	return s;
}

uint16_t *fm_wcsupr(uint16_t *s)
{
	for (uint16_t *p = s; p && *p; p++)
		*p = fm_towupper(*p);
	return s;
}

/* ---- numbers ---------------------------------------------------------------------------- */

static int digit_value(uint16_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 32) >= 'a' && (c | 32) <= 'z')
		return (c | 32) - 'a' + 10;
	return 99;
}

/*
 * The common part of wcstoul and wcstol: skips blanks, reads a sign, a base prefix and the
 * digits.  Returns the magnitude clamped to `limit` (setting *overflow), and where parsing
 * stopped (the start of the string when there were no digits).
 */
static uint64_t parse_number(const uint16_t *s, uint16_t **end, int base, uint64_t limit, bool *neg,
			     bool *overflow)
{
	const uint16_t *p = s, *digits;
	uint64_t v = 0;

	*neg = false;
	*overflow = false;
	if (!s || base < 0 || base == 1 || base > 36) {
		if (end)
			*end = (uint16_t *)s;
		errno = EINVAL;
		return 0;
	}
	while (fm_iswspace(*p))
		p++;
	if (*p == '+' || *p == '-')
		*neg = *p++ == '-';
	if ((base == 0 || base == 16) && p[0] == '0' && (p[1] | 32) == 'x' &&
	    digit_value(p[2]) < 16) {
		p += 2;
		base = 16;
	} else if (base == 0) {
		base = p[0] == '0' ? 8 : 10;
	}
	digits = p;
	for (; digit_value(*p) < base; p++) {
		v = v * (uint64_t)base + (uint64_t)digit_value(*p);
		if (v > limit) {
			*overflow = true;
			v = limit;
		}
	}
	if (end)
		*end = (uint16_t *)(p == digits ? s : p);
	return v;
}

/* Microsoft's unsigned long is 32-bit: the range (and the overflow value) is ULONG's. */
unsigned long fm_wcstoul(const uint16_t *s, uint16_t **end, int base)
{
	bool neg, overflow;
	uint64_t v = parse_number(s, end, base, UINT32_MAX, &neg, &overflow);

	if (overflow) {
		errno = ERANGE;
		return UINT32_MAX;
	}
	/* As in C, a minus sign negates the unsigned result. */
	return neg ? (uint32_t)(0u - (uint32_t)v) : (uint32_t)v;
}

/* Likewise, the range is LONG's (32-bit). */
long fm_wcstol(const uint16_t *s, uint16_t **end, int base)
{
	bool neg, overflow;
	/* One more than INT32_MAX is allowed through for the negative limit. */
	uint64_t v = parse_number(s, end, base, (uint64_t)INT32_MAX + 1, &neg, &overflow);

	if (overflow || (!neg && v > INT32_MAX)) {
		errno = ERANGE;
		return neg ? INT32_MIN : INT32_MAX;
	}
	return neg ? (int32_t)(-(int64_t)v) : (int32_t)v;
}

int fm_wtoi(const WCHAR *s)
{
	return (int)fm_wcstol(s, NULL, 10);
}

/* ---- formatted output -------------------------------------------------------------------- */

/*
 * Microsoft's legacy _snprintf/_snwprintf: the text may fill the whole buffer and is
 * terminated only if there is room; -1 when it did not fit (or the format is invalid).
 */
int fm_vsnwprintf(uint16_t *buf, size_t count, const uint16_t *fmt, va_list ap)
{
	int n = fm_ms_vsnwprintf_fill(buf, count, fmt, ap);

	return (n < 0 || (size_t)n > count) ? -1 : n;
}

int fm_snwprintf(uint16_t *buf, size_t count, const uint16_t *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = fm_vsnwprintf(buf, count, fmt, ap);
	va_end(ap);
	return r;
}

int fm_vsnprintf_ms(char *buf, size_t count, const char *fmt, va_list ap)
{
	int n = fm_ms_vsnprintf_fill(buf, count, fmt, ap);

	return (n < 0 || (size_t)n > count) ? -1 : n;
}

int fm_snprintf_ms(char *buf, size_t count, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = fm_vsnprintf_ms(buf, count, fmt, ap);
	va_end(ap);
	return r;
}

/*
 * swprintf(buf, count, fmt, ...), the ISO form Microsoft's CRT provides: always terminated,
 * truncated if needed, and -1 when the output did not fit.
 */
int fm_vswprintf(uint16_t *buf, size_t count, const uint16_t *fmt, va_list ap)
{
	int n;

	if (!buf || count == 0)
		return -1;
	n = fm_ms_vsnwprintf(buf, count, fmt, ap);
	return (n < 0 || (size_t)n >= count) ? -1 : n;
}

int fm_swprintf(uint16_t *buf, size_t count, const uint16_t *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = fm_vswprintf(buf, count, fmt, ap);
	va_end(ap);
	return r;
}

/*
 * The secure forms.  Where Microsoft's CRT would call the invalid-parameter handler (which
 * ends the process by default) these set errno, empty the buffer and return -1: a filter
 * must not be able to take the daemon down with a long name.
 */
int fm_vswprintf_s(uint16_t *buf, size_t size, const uint16_t *fmt, va_list ap)
{
	int n;

	if (!buf || size == 0 || !fmt) {
		if (buf && size)
			buf[0] = 0;
		errno = EINVAL;
		return -1;
	}
	n = fm_ms_vsnwprintf(buf, size, fmt, ap);
	if (n < 0 || (size_t)n >= size) {
		buf[0] = 0;
		errno = n < 0 ? EINVAL : ERANGE;
		return -1;
	}
	return n;
}

int fm_swprintf_s(uint16_t *buf, size_t size, const uint16_t *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = fm_vswprintf_s(buf, size, fmt, ap);
	va_end(ap);
	return r;
}

int fm_vsprintf_s(char *buf, size_t size, const char *fmt, va_list ap)
{
	int n;

	if (!buf || size == 0 || !fmt) {
		if (buf && size)
			buf[0] = 0;
		errno = EINVAL;
		return -1;
	}
	n = fm_ms_vsnprintf(buf, size, fmt, ap);
	if (n < 0 || (size_t)n >= size) {
		buf[0] = 0;
		errno = n < 0 ? EINVAL : ERANGE;
		return -1;
	}
	return n;
}

int fm_sprintf_s(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = fm_vsprintf_s(buf, size, fmt, ap);
	va_end(ap);
	return r;
}

/*
 * _snwprintf_s(buf, size, count, fmt): at most `count` units (or as many as fit when count
 * is _TRUNCATE), always terminated.  Truncation to `count` or with _TRUNCATE returns -1 and
 * keeps the truncated text; output that overflows `size` otherwise empties the buffer.
 */
int fm_vsnwprintf_s(uint16_t *buf, size_t size, size_t count, const uint16_t *fmt, va_list ap)
{
	int n;

	if (!buf || size == 0 || !fmt) {
		if (buf && size)
			buf[0] = 0;
		errno = EINVAL;
		return -1;
	}
	if (count != FM_TRUNCATE && count < size) {
		n = fm_ms_vsnwprintf(buf, count + 1, fmt, ap);
		return (n < 0 || (size_t)n > count) ? -1 : n;
	}
	n = fm_ms_vsnwprintf(buf, size, fmt, ap);
	if (n >= 0 && (size_t)n < size)
		return n;
	if (n >= 0 && count == FM_TRUNCATE)
		return -1;
	buf[0] = 0;
	errno = n < 0 ? EINVAL : ERANGE;
	return -1;
}

int fm_snwprintf_s(uint16_t *buf, size_t size, size_t count, const uint16_t *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = fm_vsnwprintf_s(buf, size, count, fmt, ap);
	va_end(ap);
	return r;
}
