/* Tests of the 16-bit wide C runtime: strings, case, numbers and the MS printf family. */
#include "tap.h"

/* White-box: the test sees wcrt.c's internals (FM_TRUNCATE, the case tables). */
#include "nt/wcrt.c"

#include <locale.h>
#include <wctype.h>

static int weq(const uint16_t *a, const uint16_t *b)
{
	return fm_wcscmp(a, b) == 0;
}

static void t_length_copy_concat(void)
{
	uint16_t b[16];

	TAP_EQ_INT(fm_wcslen(u"hello"), 5);
	TAP_EQ_INT(fm_wcslen(u""), 0);
	TAP_EQ_INT(fm_wcslen(NULL), 0);
	TAP_EQ_INT(fm_wcsnlen(u"hello", 3), 3);
	TAP_EQ_INT(fm_wcsnlen(u"hi", 8), 2);
	TAP_CHECK(fm_wcscpy(b, u"abc") == b && weq(b, u"abc"));
	TAP_CHECK(fm_wcscat(b, u"de") == b && weq(b, u"abcde"));
	TAP_CHECK(fm_wcsncat(b, u"fghij", 2) == b && weq(b, u"abcdefg"));
	for (int i = 0; i < 16; i++)
		b[i] = 0x7777;
	fm_wcsncpy(b, u"xy", 5);
	TAP_CHECK(b[0] == 'x' && b[1] == 'y' && b[2] == 0 && b[4] == 0 && b[5] == 0x7777);
	fm_wcsncpy(b, u"abcdef", 3);
	TAP_CHECK(b[0] == 'a' && b[2] == 'c' && b[3] == 0);
}

static void t_compare(void)
{
	TAP_EQ_INT(fm_wcscmp(u"abc", u"abc"), 0);
	TAP_CHECK(fm_wcscmp(u"abc", u"abd") < 0);
	TAP_CHECK(fm_wcscmp(u"abc", u"ab") > 0);
	/* Units compare unsigned: U+E9 sorts after 'z', a surrogate after both. */
	TAP_CHECK(fm_wcscmp(u"\u00e9", u"z") > 0);
	TAP_CHECK(fm_wcscmp(u"\U0001F600", u"\uFFFF") < 0);
	TAP_EQ_INT(fm_wcsncmp(u"abcX", u"abcY", 3), 0);
	TAP_CHECK(fm_wcsncmp(u"abcX", u"abcY", 4) < 0);
	TAP_EQ_INT(fm_wcsicmp(u"HeLLo.TXT", u"hello.txt"), 0);
	TAP_EQ_INT(fm_wcsicmp(u"\u00c9T\u00c9", u"\u00e9t\u00e9"), 0);
	TAP_EQ_INT(fm_wcsicmp(u"\u0416\u0418\u0412", u"\u0436\u0438\u0432"), 0);
	/* Lower-case comparison: '_' (0x5F) sorts before 'a' but after 'A'..'Z'. */
	TAP_CHECK(fm_wcsicmp(u"_", u"A") < 0);
	TAP_CHECK(fm_wcsicmp(u"abc", u"ABD") < 0);
	TAP_EQ_INT(fm_wcsnicmp(u"ABCx", u"abcy", 3), 0);
	TAP_CHECK(fm_wcsnicmp(u"ABCx", u"abcy", 4) < 0);
	TAP_EQ_INT(fm_wcsnicmp(u"a", u"b", 0), 0);
}

static void t_null_arguments_do_not_crash(void)
{
	uint16_t b[4] = {'x', 0};

	TAP_CHECK(fm_wcscpy(NULL, u"a") == NULL);
	TAP_CHECK(fm_wcscpy(b, NULL) == b && b[0] == 'x');
	TAP_CHECK(fm_wcsncpy(b, NULL, 2) == b && fm_wcscat(b, NULL) == b);
	TAP_CHECK(fm_wcsncat(NULL, u"a", 1) == NULL);
	TAP_CHECK(fm_wcscmp(NULL, u"a") < 0 && fm_wcscmp(u"a", NULL) > 0);
	TAP_EQ_INT(fm_wcscmp(NULL, NULL), 0);
	TAP_CHECK(fm_wcsicmp(NULL, u"a") < 0 && fm_wcsnicmp(u"a", NULL, 1) > 0);
	TAP_CHECK(fm_wcschr(NULL, 'a') == NULL && fm_wcsrchr(NULL, 'a') == NULL);
	TAP_CHECK(fm_wcsstr(NULL, u"a") == NULL && fm_wcsstr(u"a", NULL) == NULL);
	TAP_CHECK(fm_wcsspn(NULL, u"a") == 0 && fm_wcscspn(u"a", NULL) == 0);
	TAP_CHECK(fm_wcspbrk(NULL, u"a") == NULL);
	TAP_CHECK(fm_wcsupr(NULL) == NULL);
}

static void t_search(void)
{
	const uint16_t *s = u"a\\dir\\file.txt";

	TAP_CHECK(fm_wcschr(s, '\\') == s + 1);
	TAP_CHECK(fm_wcsrchr(s, '\\') == s + 5);
	TAP_CHECK(fm_wcschr(s, 'z') == NULL);
	TAP_CHECK(fm_wcsrchr(s, 'z') == NULL);
	TAP_CHECK(fm_wcschr(s, 0) == s + 14);
	TAP_CHECK(fm_wcsstr(s, u"file") == s + 6);
	TAP_CHECK(fm_wcsstr(s, u"") == s);
	TAP_CHECK(fm_wcsstr(s, u"txtx") == NULL);
	TAP_CHECK(fm_wcsstr(u"aaab", u"aab") != NULL);
}

static void t_span_and_dup(void)
{
	const uint16_t *s = u"abc;def";
	uint16_t *d;

	TAP_EQ_INT(fm_wcsspn(s, u"cba"), 3);
	TAP_EQ_INT(fm_wcsspn(s, u"x"), 0);
	TAP_EQ_INT(fm_wcscspn(s, u";"), 3);
	TAP_EQ_INT(fm_wcscspn(s, u"xyz"), 7);
	TAP_CHECK(fm_wcspbrk(s, u"fe") == s + 5);
	TAP_CHECK(fm_wcspbrk(s, u"xyz") == NULL);
	d = fm_wcsdup(s);
	TAP_CHECK(d && d != s && weq(d, s));
	free(d);
	TAP_CHECK(fm_wcsdup(NULL) == NULL);
	fm_alloc_fail_after(0);
	TAP_CHECK(fm_wcsdup(s) == NULL);
	fm_alloc_fail_after(-1);
}

static void t_tokens(void)
{
	uint16_t b[32], *ctx = NULL, *t;

	fm_wcscpy(b, u";;one;two;;three;");
	t = fm_wcstok(b, u";", &ctx);
	TAP_CHECK(t && weq(t, u"one"));
	t = fm_wcstok(NULL, u";", &ctx);
	TAP_CHECK(t && weq(t, u"two"));
	t = fm_wcstok(NULL, u";", &ctx);
	TAP_CHECK(t && weq(t, u"three"));
	TAP_CHECK(fm_wcstok(NULL, u";", &ctx) == NULL);
	TAP_CHECK(fm_wcstok(NULL, u";", &ctx) == NULL);
	TAP_CHECK(fm_wcstok(b, NULL, &ctx) == NULL);
	ctx = NULL;
	TAP_CHECK(fm_wcstok(NULL, u";", &ctx) == NULL);
}

static void t_case_mapping(void)
{
	uint16_t b[32];

	TAP_EQ_INT(fm_towupper('a'), 'A');
	TAP_EQ_INT(fm_towlower('Z'), 'z');
	TAP_EQ_INT(fm_towupper('1'), '1');
	TAP_EQ_INT(fm_towupper(0xE9), 0xC9);
	TAP_EQ_INT(fm_towupper(0xFF), 0x178);
	TAP_EQ_INT(fm_towlower(0x178), 0xFF);
	TAP_EQ_INT(fm_towupper(0xF7), 0xF7);
	TAP_EQ_INT(fm_towupper(0xDF), 0xDF);
	TAP_EQ_INT(fm_towupper(0x101), 0x100);
	TAP_EQ_INT(fm_towlower(0x139), 0x13A);
	TAP_EQ_INT(fm_towupper(0x3C9), 0x3A9);
	TAP_EQ_INT(fm_towupper(0x3C2), 0x3C2); /* final sigma has no simple mapping back */
	TAP_EQ_INT(fm_towlower(0x401), 0x451);
	TAP_EQ_INT(fm_towupper(0xFF41), 0xFF21);
	TAP_EQ_INT(fm_towupper(0xFFFF), 0xFFFF);
	fm_wcscpy(b, u"Mixed \u00c9t\u00e9 \u0414\u0430");
	TAP_CHECK(fm_wcsupr(b) == b && weq(b, u"MIXED \u00c9T\u00c9 \u0414\u0410"));
	TAP_CHECK(fm_wcslwr(b) == b && weq(b, u"mixed \u00e9t\u00e9 \u0434\u0430"));
	TAP_CHECK(fm_wcslwr(NULL) == NULL);
	/* The two directions are inverse on every letter they map. */
	for (unsigned c = 0; c <= 0xFFFF; c++) {
		uint16_t l = fm_towlower((uint16_t)c), u = fm_towupper((uint16_t)c);
		if (l != c)
			TAP_EQ_INT(fm_towupper(l), c);
		if (u != c)
			TAP_EQ_INT(fm_towlower(u), c);
		if (l != c && u != c)
			TAP_CHECK(!"a character is both upper and lower case");
	}
}

/* Every mapping we make agrees with the C library's Unicode data (C.UTF-8). */
static void t_case_agrees_with_libc(void)
{
	locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	unsigned agree = 0;

	if (!loc) {
		printf("# no C.UTF-8 locale: nothing to compare against\n");
		return;
	}
	for (unsigned c = 0; c <= 0xFFFF; c++) {
		uint16_t l = fm_towlower((uint16_t)c), u = fm_towupper((uint16_t)c);
		if (l != c && (unsigned)towlower_l((wint_t)c, loc) != l) {
			printf("# towlower(%04x) = %04x, libc %04x\n", c, l,
			       (unsigned)towlower_l((wint_t)c, loc));
			tap__case_failed = 1;
		}
		if (u != c && (unsigned)towupper_l((wint_t)c, loc) != u) {
			printf("# towupper(%04x) = %04x, libc %04x\n", c, u,
			       (unsigned)towupper_l((wint_t)c, loc));
			tap__case_failed = 1;
		}
		agree += l != c || u != c;
	}
	freelocale(loc);
	TAP_CHECK(agree > 1000);
}

static void t_classes(void)
{
	TAP_CHECK(fm_iswspace(' ') && fm_iswspace('\t') && fm_iswspace('\n') &&
		  fm_iswspace(0x3000));
	TAP_CHECK(!fm_iswspace('a') && !fm_iswspace(0xA0) && !fm_iswspace(0));
	TAP_CHECK(fm_iswdigit('0') && fm_iswdigit('9') && !fm_iswdigit('a') && !fm_iswdigit(0x660));
	TAP_CHECK(fm_iswalpha('a') && fm_iswalpha('Z') && fm_iswalpha(0xE9) && fm_iswalpha(0x436) &&
		  fm_iswalpha(0x4E2D) && fm_iswalpha(0xAC00));
	TAP_CHECK(fm_iswalnum('7') && fm_iswalnum(0x436) && !fm_iswalnum('-'));
	TAP_CHECK(fm_iswupper('Q') && fm_iswupper(0x416) && !fm_iswupper('q') && !fm_iswupper('1'));
	TAP_CHECK(fm_iswlower('q') && fm_iswlower(0x436) && fm_iswlower(0xDF) && !fm_iswlower('Q'));
	TAP_CHECK(fm_iswxdigit('f') && fm_iswxdigit('A') && fm_iswxdigit('0') &&
		  !fm_iswxdigit('g'));
	TAP_CHECK(!fm_iswalpha('1') && !fm_iswalpha('_') && !fm_iswalpha(0xD7) &&
		  !fm_iswalpha(0x2000) && !fm_iswalpha(0xD800));
}

static void t_numbers(void)
{
	uint16_t *end;
	const uint16_t *s;

	s = u"  42abc";
	TAP_EQ_INT(fm_wcstoul(s, &end, 10), 42);
	TAP_CHECK(end == s + 4);
	TAP_EQ_INT(fm_wcstoul(u"0x1F", NULL, 0), 31);
	TAP_EQ_INT(fm_wcstoul(u"0X1f", NULL, 16), 31);
	TAP_EQ_INT(fm_wcstoul(u"017", NULL, 0), 15);
	TAP_EQ_INT(fm_wcstoul(u"z", NULL, 36), 35);
	TAP_EQ_INT(fm_wcstoul(u"4294967295", NULL, 10), 4294967295u);
	errno = 0;
	TAP_EQ_INT(fm_wcstoul(u"4294967296", NULL, 10), 4294967295u);
	TAP_EQ_INT(errno, ERANGE);
	TAP_EQ_INT(fm_wcstoul(u"-1", NULL, 10), 4294967295u);
	s = u"  xyz";
	TAP_EQ_INT(fm_wcstoul(s, &end, 10), 0);
	TAP_CHECK(end == s);
	s = u"0x";
	TAP_EQ_INT(fm_wcstoul(s, &end, 16), 0);
	TAP_CHECK(end == s + 1);
	TAP_EQ_INT(fm_wcstol(u"-2147483648", NULL, 10), INT32_MIN);
	TAP_EQ_INT(fm_wcstol(u"2147483647", NULL, 10), INT32_MAX);
	errno = 0;
	TAP_EQ_INT(fm_wcstol(u"2147483648", NULL, 10), INT32_MAX);
	TAP_EQ_INT(errno, ERANGE);
	errno = 0;
	TAP_EQ_INT(fm_wcstol(u"-99999999999", NULL, 10), INT32_MIN);
	TAP_EQ_INT(errno, ERANGE);
	TAP_EQ_INT(fm_wcstol(u"+7", NULL, 10), 7);
	TAP_EQ_INT(fm_wcstol(u"12", NULL, 1), 0);
	TAP_EQ_INT(fm_wtoi(u" -385250x"), -385250);
	TAP_EQ_INT(fm_wtoi(u"320000"), 320000);
	TAP_EQ_INT(fm_wtoi(NULL), 0);
}

static void t_snwprintf_legacy(void)
{
	uint16_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = 0x7777;
	TAP_EQ_INT(fm_snwprintf(b, 8, u"%d", 123), 3);
	TAP_CHECK(weq(b, u"123"));
	/* Exactly full: no terminator. */
	for (int i = 0; i < 8; i++)
		b[i] = 0x7777;
	TAP_EQ_INT(fm_snwprintf(b, 4, u"%ws", u"abcd"), 4);
	TAP_CHECK(b[3] == 'd' && b[4] == 0x7777);
	/* Too long: count units, no terminator, -1. */
	TAP_EQ_INT(fm_snwprintf(b, 4, u"%ws", u"vwxyz"), -1);
	TAP_CHECK(b[0] == 'v' && b[3] == 'y' && b[4] == 0x7777);
	TAP_EQ_INT(fm_snwprintf(b, 8, u"%q"), -1);

	char n[8];
	memset(n, 'Z', sizeof(n));
	TAP_EQ_INT(fm_snprintf_ms(n, 3, "%s", "abc"), 3);
	TAP_CHECK(memcmp(n, "abcZ", 4) == 0);
	TAP_EQ_INT(fm_snprintf_ms(n, 3, "%s", "abcd"), -1);
	TAP_EQ_INT(fm_snprintf_ms(n, 8, "%S", u"wide"), 4);
	TAP_EQ_STR(n, "wide");
}

static void t_swprintf_iso(void)
{
	uint16_t b[8];

	TAP_EQ_INT(fm_swprintf(b, 8, u"%s=%d", u"k", 5), 3);
	TAP_CHECK(weq(b, u"k=5"));
	TAP_EQ_INT(fm_swprintf(b, 4, u"%s", u"abcd"), -1);
	TAP_CHECK(weq(b, u"abc"));
	TAP_EQ_INT(fm_swprintf(b, 0, u"x"), -1);
}

static void t_secure_forms(void)
{
	uint16_t b[8];
	char n[16];

	TAP_EQ_INT(fm_swprintf_s(b, 8, u"%I64x", 0xabcull), 3);
	TAP_CHECK(weq(b, u"abc"));
	errno = 0;
	TAP_EQ_INT(fm_swprintf_s(b, 4, u"%s", u"abcd"), -1);
	TAP_EQ_INT(b[0], 0);
	TAP_EQ_INT(errno, ERANGE);
	TAP_EQ_INT(fm_swprintf_s(NULL, 4, u"x"), -1);

	TAP_EQ_INT(fm_snwprintf_s(b, 8, 3, u"%s", u"abcdef"), -1);
	TAP_CHECK(weq(b, u"abc"));
	TAP_EQ_INT(fm_snwprintf_s(b, 8, 3, u"%s", u"ab"), 2);
	TAP_EQ_INT(fm_snwprintf_s(b, 4, FM_TRUNCATE, u"%s", u"abcdef"), -1);
	TAP_CHECK(weq(b, u"abc"));
	TAP_EQ_INT(fm_snwprintf_s(b, 4, FM_TRUNCATE, u"%s", u"ab"), 2);
	TAP_EQ_INT(fm_snwprintf_s(b, 4, 10, u"%s", u"abcdef"), -1);
	TAP_EQ_INT(b[0], 0);

	TAP_EQ_INT(fm_sprintf_s(n, 8, "%lu-%wZ", 7u, (void *)NULL), -1);
	TAP_EQ_STR(n, "");
	TAP_EQ_INT(fm_sprintf_s(n, 9, "%lu-%wZ", 7u, (void *)NULL), 8);
	TAP_EQ_STR(n, "7-(null)");
	TAP_EQ_INT(fm_sprintf_s(n, 8, "%lu-%s", 7u, "ab"), 4);
	TAP_EQ_STR(n, "7-ab");
	TAP_EQ_INT(fm_sprintf_s(n, 4, "%s", "abcd"), -1);
	TAP_EQ_STR(n, "");
}

int main(void)
{
	TAP_RUN(t_length_copy_concat);
	TAP_RUN(t_compare);
	TAP_RUN(t_search);
	TAP_RUN(t_null_arguments_do_not_crash);
	TAP_RUN(t_span_and_dup);
	TAP_RUN(t_tokens);
	TAP_RUN(t_case_mapping);
	TAP_RUN(t_case_agrees_with_libc);
	TAP_RUN(t_classes);
	TAP_RUN(t_numbers);
	TAP_RUN(t_snwprintf_legacy);
	TAP_RUN(t_swprintf_iso);
	TAP_RUN(t_secure_forms);
	return tap_done();
}
