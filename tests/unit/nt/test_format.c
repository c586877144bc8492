/* Tests of the Microsoft-semantics printf engine: each conversion, prefix and truncation. */
#include "tap.h"

#include "nt/format.h"

#include <ntdef.h>
#include <stdint.h>

/* Narrow: the output and the return value (its length) must match. */
#define NFMT(want, ...)                                                                            \
	do {                                                                                       \
		char b_[600];                                                                      \
		int r_ = fm_ms_snprintf(b_, sizeof(b_), __VA_ARGS__);                              \
		TAP_EQ_STR(b_, want);                                                              \
		TAP_EQ_INT(r_, (long long)strlen(want));                                           \
	} while (0)

static size_t wlen(const uint16_t *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static int weq(const uint16_t *a, const uint16_t *b)
{
	size_t n = wlen(a);

	return n == wlen(b) && memcmp(a, b, n * 2) == 0;
}

static void wdump(const char *what, const uint16_t *s)
{
	printf("# %s:", what);
	for (size_t i = 0; s[i]; i++)
		printf(" %04x", s[i]);
	printf("\n");
}

#define WFMT(want, ...)                                                                            \
	do {                                                                                       \
		uint16_t b_[256];                                                                  \
		int r_ = fm_ms_snwprintf(b_, 256, __VA_ARGS__);                                    \
		if (!weq(b_, want)) {                                                              \
			printf("# %s:%d: wide output differs\n", __FILE__, __LINE__);              \
			wdump("got ", b_);                                                         \
			wdump("want", want);                                                       \
			tap__case_failed = 1;                                                      \
		}                                                                                  \
		TAP_EQ_INT(r_, (long long)wlen(want));                                             \
	} while (0)

static void t_integers(void)
{
	NFMT("-5|42|   42|42   |-0042|+5| 5|007||0", "%d|%i|%5d|%-5d|%05d|%+d|% d|%.3d|%.0d|%d", -5,
	     42, 42, 42, -42, 5, 5, 7, 0, 0);
	NFMT("ff|FF|0xff|0XFF|0|17|010|0", "%x|%X|%#x|%#X|%#x|%o|%#o|%#o", 255, 255, 255, 255, 0,
	     15, 8, 0);
	NFMT("4294967295|-2147483648", "%u|%d", 4294967295u, (int)INT32_MIN);
	NFMT("  -007|-7    |    -7", "%6.3d|%-6d|%06.0d", -7, -7, -7);
	NFMT("-1|1|-1|255", "%hd|%hhu|%hhd|%hhu", 65535, 257, 255, 255);
	NFMT("%|%", "%%|%5%");
}

static void t_microsoft_sizes(void)
{
	/* 'l' is 32-bit: LONG/ULONG.  A 64-bit argument shows its low half (as on Windows). */
	NFMT("ffffffff|4294967295|-1", "%lx|%lu|%ld", 0x1FFFFFFFFull, 0xFFFFFFFFu, -1);
	NFMT("123456789abcdef|-1|18446744073709551615", "%I64x|%I64d|%I64u", 0x123456789abcdefull,
	     -1ll, ~0ull);
	NFMT("deadbeef|ffffffffffffffff|-3", "%I32x|%Ix|%Id", 0xdeadbeefu, (size_t)-1,
	     (intptr_t)-3);
	NFMT("18446744073709551615|-9|7|-2|12", "%llu|%lld|%zu|%td|%jd", ~0ull, -9ll, (size_t)7,
	     (ptrdiff_t)-2, (intmax_t)12);
	NFMT("ffffffffffffffff|-1", "%Lx|%Ld", ~0ull, -1ll);
	NFMT("0000000000001234|0000000000000000|0X0000000000001234", "%p|%p|%#p", (void *)0x1234,
	     (void *)0, (void *)0x1234);
	NFMT("5", "%wd", 5);
	/* Shapes minispy and friends use. */
	NFMT("0000abcd|00FF|[ab   ]|0x0000002a", "%08I64x|%04X|[%-5S]|0x%08lx", 0xabcdull, 255,
	     u"ab", 42u);
}

static void t_chars_and_strings_narrow(void)
{
	NFMT("A|  A|A  |x", "%c|%3c|%-3c|%hc", 'A', 'A', 'A', 'x');
	NFMT("\xC3\xA9|\xE2\x98\xBA|\xEF\xBF\xBD|z", "%C|%lc|%wc|%wc", 0xE9, 0x263A, 0xD800, 'z');
	NFMT("abc|ab|  abc|abc  |(null)|(nu", "%s|%.2s|%5s|%-5s|%s|%.3s", "abc", "abc", "abc",
	     "abc", (char *)NULL, (char *)NULL);
	NFMT("wide|wide|wide|narrow|(null)", "%S|%ls|%ws|%hs|%ws", u"wide", u"wide", u"wide",
	     "narrow", (uint16_t *)NULL);
	/* UTF-16 to UTF-8, a lone surrogate as U+FFFD; a precision never splits a pair. */
	NFMT("\xC3\xA9\xF0\x9F\x98\x80|\xEF\xBF\xBDx||\xC3\xA9", "%ws|%ws|%.1ws|%.2ws",
	     u"\u00e9\U0001F600", u"\xDC00x", u"\U0001F600", u"\u00e9\U0001F600");
	NFMT("  wd|wd  ", "%4ws|%-4S", u"wd", u"wd");
}

static void t_counted_strings(void)
{
	char abuf[] = "abcdef";
	uint16_t wbuf[] = u"hello";
	ANSI_STRING as = {3, 7, abuf};
	UNICODE_STRING us = {4, 12, (PWSTR)wbuf};
	UNICODE_STRING nobuf = {4, 12, NULL};

	NFMT("abc|he|(null)|(null)|(null)", "%Z|%wZ|%wZ|%Z|%wZ", &as, &us, &nobuf,
	     (ANSI_STRING *)NULL, (UNICODE_STRING *)NULL);
	NFMT("h|   he|he   |ab|he", "%.1wZ|%5wZ|%-5wZ|%.2hZ|%lZ", &us, &us, &us, &as, &us);
	/* Counted strings are not NUL-terminated: Length alone decides. */
	us.Length = 10;
	NFMT("[hello]", "[%wZ]", &us);
}

static void t_wide_engine(void)
{
	char nbuf[] = "ansi";
	uint16_t wbuf[] = u"unicode";
	ANSI_STRING as = {4, 5, nbuf};
	UNICODE_STRING us = {14, 16, (PWSTR)wbuf};

	WFMT(u"abc|abc|abc|narrow|narrow", u"%s|%ls|%ws|%S|%hs", u"abc", u"abc", u"abc", "narrow",
	     "narrow");
	WFMT(u"\u263a|\u263a|x|y", u"%c|%wc|%C|%hc", 0x263A, 0x263A, 'x', 'y');
	WFMT(u"unicode|unicode|ansi|ansi", u"%wZ|%Z|%hZ|%hZ", &us, &us, &as, &as);
	WFMT(u"(null)|(null)", u"%s|%S", (uint16_t *)NULL, (char *)NULL);
	WFMT(u"-42|0x1f|ffffffff|0000000000000010", u"%d|%#x|%lx|%p", -42, 31, 0xFFFFFFFFu,
	     (void *)16);
	/* Narrow text in wide output is UTF-8; invalid bytes read as U+FFFD. */
	WFMT(u"\u00e9\U0001F600|\uFFFDx", u"%S|%hs", "\xC3\xA9\xF0\x9F\x98\x80", "\xC3x");
	WFMT(u"  ab|ab  |1.500", u"%4s|%-4s|%.3f", u"ab", u"ab", 1.5);
	/* A surrogate pair in the format itself passes through. */
	WFMT(u"\U0001F600 1", u"\U0001F600 %d", 1);
}

static void t_floats(void)
{
	NFMT("3.14|1.500000e+00|1.5E+00|0.0001|1E-05", "%.2f|%e|%.1E|%g|%G", 3.14159, 1.5, 1.5,
	     0.0001, 0.00001);
	NFMT("   2.500|2.50    |+1.0|0x1p+0|002.0", "%8.3f|%-8.2f|%+.1f|%a|%05.1f", 2.5, 2.5, 1.0,
	     1.0, 2.0);
	NFMT("2.500000|  1.2", "%Lf|%*.*f", (long double)2.5, 5, 1, 1.25);

	/* A conversion longer than the local buffer takes the allocating path. */
	char big[600];
	int r = fm_ms_snprintf(big, sizeof(big), "%.500f", 1.0);
	TAP_EQ_INT(r, 502);
	TAP_EQ_INT(strlen(big), 502);
	TAP_CHECK(strncmp(big, "1.000", 5) == 0);
}

static void t_star_width_and_precision(void)
{
	NFMT("   7|7   |ab|abc", "%*d|%*d|%.*s|%.*s", 4, 7, -4, 7, 2, "abc", -1, "abc");
	NFMT("  -3", "%*.*d", 4, 1, -3);
}

static void t_invalid_formats(void)
{
	char b[32];
	int n = 0;

	TAP_EQ_INT(fm_ms_snprintf(b, sizeof(b), "ab%y", 1), -1);
	TAP_EQ_STR(b, "ab");
	TAP_EQ_INT(fm_ms_snprintf(b, sizeof(b), "abc%"), -1);
	TAP_EQ_STR(b, "abc");
	TAP_EQ_INT(fm_ms_snprintf(b, sizeof(b), "%5"), -1);
	TAP_EQ_INT(fm_ms_snprintf(b, sizeof(b), "x%n", &n), -1);
	TAP_EQ_INT(n, 0);
	TAP_EQ_INT(fm_ms_snprintf(b, sizeof(b), "%I64"), -1);
	TAP_EQ_INT(fm_ms_snprintf(b, sizeof(b), NULL), -1);
	TAP_EQ_STR(b, "");
	uint16_t w[8];
	TAP_EQ_INT(fm_ms_snwprintf(w, 8, u"%k"), -1);
	TAP_EQ_INT(w[0], 0);
	TAP_EQ_INT(fm_ms_snwprintf(w, 8, u"%n", &n), -1);
	TAP_EQ_INT(fm_ms_snprintf(b, sizeof(b), "%99999999999d", 1), -1);
}

static void t_truncation(void)
{
	char b[8];
	uint16_t w[8];

	memset(b, 'Z', sizeof(b));
	TAP_EQ_INT(fm_ms_snprintf(b, 4, "%s", "abcdef"), 6);
	TAP_EQ_STR(b, "abc");
	TAP_EQ_INT(b[4], 'Z');
	TAP_EQ_INT(fm_ms_snprintf(b, 1, "%d", 12345), 5);
	TAP_EQ_STR(b, "");
	TAP_EQ_INT(fm_ms_snprintf(NULL, 0, "%d-%s", 12345, "xy"), 8);
	TAP_EQ_INT(fm_ms_snprintf(b, 0, "abc"), 3);
	TAP_EQ_INT(fm_ms_snprintf(b, 7, "%s", "abcdefg"), 7);
	TAP_EQ_STR(b, "abcdef");
	TAP_EQ_INT(fm_ms_snprintf(b, 8, "%s", "abcdefg"), 7);
	TAP_EQ_STR(b, "abcdefg");

	for (int i = 0; i < 8; i++)
		w[i] = 0x5A5A;
	TAP_EQ_INT(fm_ms_snwprintf(w, 3, u"%s", u"abcdef"), 6);
	TAP_CHECK(weq(w, u"ab"));
	TAP_EQ_INT(w[3], 0x5A5A);
	TAP_EQ_INT(fm_ms_snwprintf(NULL, 0, u"%5d", 1), 5);
	/* The count goes on far beyond the buffer. */
	TAP_EQ_INT(fm_ms_snprintf(b, sizeof(b), "%*d", 1000000, 1), 1000000);
	TAP_EQ_STR(b, "       ");
}

int main(void)
{
	TAP_RUN(t_integers);
	TAP_RUN(t_microsoft_sizes);
	TAP_RUN(t_chars_and_strings_narrow);
	TAP_RUN(t_counted_strings);
	TAP_RUN(t_wide_engine);
	TAP_RUN(t_floats);
	TAP_RUN(t_star_width_and_precision);
	TAP_RUN(t_invalid_formats);
	TAP_RUN(t_truncation);
	return tap_done();
}
