/* The 16-bit wide C runtime for minifilters: wcs* names mapped to UTF-16 implementations. */
#ifndef FM_WDK_FM_WCRT_H
#define FM_WDK_FM_WCRT_H

/*
 * Minifilters are compiled with -fshort-wchar, so their wchar_t strings are UTF-16, but
 * glibc's wcs* functions assume a 4-byte wchar_t.  When wchar_t is 2 bytes (or when
 * FM_WCRT_MACROS is defined), every wide CRT name a filter may use is redirected by macro to
 * a 16-bit implementation in libfltmgr (src/nt/wcrt.c); glibc's own declarations are pulled
 * in first so that the macros cannot rename them.  The fm_ functions themselves are always
 * declared and take WCHAR, so libfltmgr code (4-byte wchar_t) may call them directly.
 *
 * The printf-like ones follow Microsoft's format semantics (%s is a wide string in a wide
 * format, %S narrow, %wZ a PUNICODE_STRING, %I64d, ...).  Return values follow the
 * Microsoft CRT: _snwprintf/_vsnwprintf return the count written, or -1 when the output was
 * truncated (then the buffer is not guaranteed to be terminated); swprintf (the ISO form with
 * a count) returns -1 on truncation and always terminates; the _s forms return -1 and
 * terminate (truncating when count is _TRUNCATE).
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wchar.h>
#include <wctype.h>

#include <ntdef.h>

#ifndef _TRUNCATE
#define _TRUNCATE ((size_t)-1)
#endif

size_t fm_wcslen(const WCHAR *s);
size_t fm_wcsnlen(const WCHAR *s, size_t maxlen);
WCHAR *fm_wcscpy(WCHAR *dst, const WCHAR *src);
WCHAR *fm_wcsncpy(WCHAR *dst, const WCHAR *src, size_t n);
WCHAR *fm_wcscat(WCHAR *dst, const WCHAR *src);
WCHAR *fm_wcsncat(WCHAR *dst, const WCHAR *src, size_t n);
int fm_wcscmp(const WCHAR *a, const WCHAR *b);
int fm_wcsncmp(const WCHAR *a, const WCHAR *b, size_t n);
int fm_wcsicmp(const WCHAR *a, const WCHAR *b);
int fm_wcsnicmp(const WCHAR *a, const WCHAR *b, size_t n);
WCHAR *fm_wcschr(const WCHAR *s, WCHAR c);
WCHAR *fm_wcsrchr(const WCHAR *s, WCHAR c);
WCHAR *fm_wcsstr(const WCHAR *haystack, const WCHAR *needle);
size_t fm_wcsspn(const WCHAR *s, const WCHAR *accept);
size_t fm_wcscspn(const WCHAR *s, const WCHAR *reject);
WCHAR *fm_wcspbrk(const WCHAR *s, const WCHAR *accept);
WCHAR *fm_wcstok(WCHAR *s, const WCHAR *delim, WCHAR **save);
WCHAR *fm_wcsdup(const WCHAR *s);
WCHAR *fm_wcslwr(WCHAR *s);
WCHAR *fm_wcsupr(WCHAR *s);
unsigned long fm_wcstoul(const WCHAR *s, WCHAR **end, int base);
long fm_wcstol(const WCHAR *s, WCHAR **end, int base);
int fm_wtoi(const WCHAR *s);
WCHAR fm_towupper(WCHAR c);
WCHAR fm_towlower(WCHAR c);
int fm_iswspace(WCHAR c);
int fm_iswdigit(WCHAR c);
int fm_iswalpha(WCHAR c);
int fm_iswalnum(WCHAR c);
int fm_iswupper(WCHAR c);
int fm_iswlower(WCHAR c);
int fm_iswxdigit(WCHAR c);
int fm_swprintf(WCHAR *buf, size_t count, const WCHAR *fmt, ...);
int fm_vswprintf(WCHAR *buf, size_t count, const WCHAR *fmt, va_list ap);
int fm_snwprintf(WCHAR *buf, size_t count, const WCHAR *fmt, ...);
int fm_vsnwprintf(WCHAR *buf, size_t count, const WCHAR *fmt, va_list ap);
int fm_swprintf_s(WCHAR *buf, size_t size, const WCHAR *fmt, ...);
int fm_snwprintf_s(WCHAR *buf, size_t size, size_t count, const WCHAR *fmt, ...);
int fm_vsnwprintf_s(WCHAR *buf, size_t size, size_t count, const WCHAR *fmt, va_list ap);
/* Narrow Microsoft-format printf: _snprintf semantics (-1 on truncation). */
int fm_snprintf_ms(char *buf, size_t count, const char *fmt, ...);
int fm_vsnprintf_ms(char *buf, size_t count, const char *fmt, va_list ap);
int fm_sprintf_s(char *buf, size_t size, const char *fmt, ...);

#if (defined(__SIZEOF_WCHAR_T__) && __SIZEOF_WCHAR_T__ == 2) || defined(FM_WCRT_MACROS)
#define wcslen fm_wcslen
#define wcsnlen fm_wcsnlen
#define wcscpy fm_wcscpy
#define wcsncpy fm_wcsncpy
#define wcscat fm_wcscat
#define wcsncat fm_wcsncat
#define wcscmp fm_wcscmp
#define wcsncmp fm_wcsncmp
#define _wcsicmp fm_wcsicmp
#define _wcsnicmp fm_wcsnicmp
#define wcsicmp fm_wcsicmp
#define wcsnicmp fm_wcsnicmp
#define wcscasecmp fm_wcsicmp
#define wcsncasecmp fm_wcsnicmp
#define wcschr fm_wcschr
#define wcsrchr fm_wcsrchr
#define wcsstr fm_wcsstr
#define wcsspn fm_wcsspn
#define wcscspn fm_wcscspn
#define wcspbrk fm_wcspbrk
#define wcstok fm_wcstok
#define wcstok_s fm_wcstok
#define wcsdup fm_wcsdup
#define _wcsdup fm_wcsdup
#define _wcslwr fm_wcslwr
#define _wcsupr fm_wcsupr
#define wcstoul fm_wcstoul
#define wcstol fm_wcstol
#define _wtoi fm_wtoi

#define towupper fm_towupper
#define towlower fm_towlower
#define iswspace fm_iswspace
#define iswdigit fm_iswdigit
#define iswalpha fm_iswalpha
#define iswalnum fm_iswalnum
#define iswupper fm_iswupper
#define iswlower fm_iswlower
#define iswxdigit fm_iswxdigit
#define swprintf fm_swprintf
#define vswprintf fm_vswprintf
#define _snwprintf fm_snwprintf
#define _vsnwprintf fm_vsnwprintf
#define swprintf_s fm_swprintf_s
#define _snwprintf_s fm_snwprintf_s
#define _vsnwprintf_s fm_vsnwprintf_s
#endif

/* Narrow Microsoft CRT names, always available. */
#ifndef FM_NO_MSCRT_MACROS
#define _stricmp strcasecmp
#define _strnicmp strncasecmp
#define _strdup strdup
#define _snprintf fm_snprintf_ms
#define _vsnprintf fm_vsnprintf_ms
#define sprintf_s fm_sprintf_s
#endif

#endif
