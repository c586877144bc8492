/* printf with Microsoft semantics (%wZ, %ws, %S, %I64x, 32-bit %l), narrow and UTF-16. */
#ifndef FM_NT_FORMAT_H
#define FM_NT_FORMAT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Formats like the Microsoft CRT / kernel runtime (DbgPrint, RtlStringCch*PrintfA/W,
 * _snprintf, _snwprintf, swprintf ...), into buf of `cap` units (bytes for the narrow engine,
 * UTF-16 units for the wide one).
 *
 * Returns the number of units the whole output needs, not counting the terminator, whether or
 * not it fitted; -1 for an invalid format (an unknown conversion, a truncated specification,
 * %n, which is refused) or an output longer than INT_MAX.  When cap > 0 the output is always
 * NUL-terminated, truncated if needed (after an error: what was produced so far).  buf may be
 * NULL when cap is 0 (size query).
 *
 * Semantics:
 *  - size prefixes hh h l (32-bit: %ld/%lu/%lx read an int-sized argument, as ULONG/LONG are
 *    32-bit) ll L I32 I64 I (pointer-sized) z j t, and w (wide);
 *  - narrow engine: %s %hs char*, %S %ls %ws WCHAR*, %c char, %C %lc %wc WCHAR;
 *    wide engine: %s %ls %ws WCHAR*, %S %hs char*, %c %lc %wc WCHAR, %C %hc char;
 *  - %Z: ANSI_STRING* in the narrow engine, UNICODE_STRING* in the wide one; %hZ always
 *    ANSI_STRING*, %wZ / %lZ always UNICODE_STRING* (counted, Length in bytes);
 *  - a NULL string, character-string structure or Buffer prints "(null)";
 *  - %p prints 16 upper-case hex digits, no prefix (with #: "0X" prefix);
 *  - wide text in narrow output is UTF-8 (a lone surrogate becomes U+FFFD); narrow text in
 *    wide output is read as UTF-8 (an invalid byte becomes U+FFFD);
 *  - width and precision count units of the argument (bytes of a char string, UTF-16 units of
 *    a WCHAR string; a surrogate pair is never split);
 *  - e E f F g G a A as in C (digits from the C library: infinity prints "inf", not the old
 *    CRT's "1.#INF"); 'L' reads a long double;
 *  - flags - + space # 0, width and precision with '*' (a negative '*' width means '-').
 * Thread-safe; any context.  Allocates only for a floating-point conversion longer than 511
 * characters (and returns -1 if that allocation fails).
 */
int fm_ms_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap);
int fm_ms_vsnwprintf(uint16_t *buf, size_t cap, const uint16_t *fmt, va_list ap);

/*
 * As above, but the text may use all `cap` units and the terminator is written only when
 * there is room left (Microsoft's _snprintf/_snwprintf contract).  Same return value.
 */
int fm_ms_vsnprintf_fill(char *buf, size_t cap, const char *fmt, va_list ap);
int fm_ms_vsnwprintf_fill(uint16_t *buf, size_t cap, const uint16_t *fmt, va_list ap);

/* Variadic forms of the two above, same contract. */
int fm_ms_snprintf(char *buf, size_t cap, const char *fmt, ...);
int fm_ms_snwprintf(uint16_t *buf, size_t cap, const uint16_t *fmt, ...);

#endif
