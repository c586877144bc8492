/* Tests of the Linux <-> NT name mapping: round trips, escapes, rejections, capacity. */
#include "tap.h"

#include "common/ntname.h"

#include <errno.h>
#include <stdint.h>

/* Converts a Linux name to NT and back; checks both succeed and the bytes come back. */
static int round_trips(const char *s, size_t len, int is_path)
{
	uint16_t nt[1024];
	char back[4096];
	long n = fm_name_to_nt(s, len, nt, 1024, is_path);

	if (n < 0)
		return 0;
	long m = fm_name_from_nt(nt, (size_t)n, back, sizeof(back), is_path);
	return m == (long)len && memcmp(back, s, len) == 0;
}

static long to_nt(const char *s, uint16_t *out, int is_path)
{
	return fm_name_to_nt(s, strlen(s), out, 64, is_path);
}

static void t_ascii_and_path(void)
{
	uint16_t nt[64];
	char back[64];

	TAP_EQ_INT(to_nt("file.txt", nt, 0), 8);
	TAP_EQ_INT(nt[0], 'f');
	TAP_EQ_INT(nt[8], 0);
	TAP_EQ_INT(to_nt("/dir/a b/c", nt, 1), 10);
	TAP_EQ_INT(nt[0], '\\');
	TAP_EQ_INT(nt[4], '\\');
	TAP_EQ_INT(nt[8], '\\');
	TAP_EQ_INT(fm_name_from_nt(nt, 10, back, sizeof(back), 1), 10);
	TAP_EQ_STR(back, "/dir/a b/c");
	/* '/' cannot be inside a component, '\' in a component is an ordinary Linux byte. */
	TAP_EQ_INT(to_nt("a/b", nt, 0), -EINVAL);
	TAP_EQ_INT(to_nt("a\\b", nt, 1), 3);
	TAP_EQ_INT(nt[1], 0xF05C);
	TAP_EQ_INT(fm_name_to_nt("a\0b", 3, nt, 64, 0), -EINVAL);
	TAP_EQ_INT(fm_name_to_nt(NULL, 0, nt, 64, 0), 0);
	TAP_EQ_INT(nt[0], 0);
	TAP_EQ_INT(fm_name_to_nt(NULL, 1, nt, 64, 0), -EINVAL);
}

static void t_forbidden_characters(void)
{
	static const char forbidden[] = "\\:*?\"<>|";
	uint16_t nt[4];
	char in[2] = {0, 0}, back[8];

	for (int c = 1; c < 128; c++) {
		int bad = (c < 32) || strchr(forbidden, c) != NULL;

		if (c == '/')
			continue;
		in[0] = (char)c;
		TAP_EQ_INT(fm_name_to_nt(in, 1, nt, 4, 0), 1);
		TAP_EQ_INT(nt[0], bad ? 0xF000 + c : c);
		TAP_EQ_INT(fm_name_from_nt(nt, 1, back, sizeof(back), 0), 1);
		TAP_EQ_INT((unsigned char)back[0], c);
		/* The raw character in an NT component is not the image of any Linux name. */
		if (bad && c != '\\') {
			uint16_t raw = (uint16_t)c;
			TAP_EQ_INT(fm_name_from_nt(&raw, 1, back, sizeof(back), 0), -EINVAL);
			TAP_EQ_INT(fm_name_from_nt(&raw, 1, back, sizeof(back), 1), -EINVAL);
		}
	}
}

static void t_valid_utf8(void)
{
	uint16_t nt[64];
	char back[64];

	/* é (2 bytes), € (3 bytes), U+1F600 (4 bytes), U+10FFFF (the last scalar value). */
	TAP_EQ_INT(to_nt("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF", nt, 0), 6);
	TAP_EQ_INT(nt[0], 0xE9);
	TAP_EQ_INT(nt[1], 0x20AC);
	TAP_EQ_INT(nt[2], 0xD83D);
	TAP_EQ_INT(nt[3], 0xDE00);
	TAP_EQ_INT(nt[4], 0xDBFF);
	TAP_EQ_INT(nt[5], 0xDFFF);
	TAP_EQ_INT(fm_name_from_nt(nt, 6, back, sizeof(back), 0), 13);
	TAP_EQ_STR(back, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF");
	/* Neighbours of the private range and of the surrogates pass as is. */
	TAP_EQ_INT(to_nt("\xEE\xBF\xBF\xEF\x84\x80\xED\x9F\xBF\xEE\x80\x80", nt, 0), 4);
	TAP_EQ_INT(nt[0], 0xEFFF);
	TAP_EQ_INT(nt[1], 0xF100);
	TAP_EQ_INT(nt[2], 0xD7FF);
	TAP_EQ_INT(nt[3], 0xE000);
}

/* Each of these byte strings is invalid UTF-8 as a whole: every byte is escaped. */
static void t_invalid_utf8_escaped_bytewise(void)
{
	static const char *const cases[] = {
	    "\x80",
	    "\xBF",
	    "\xFF",
	    "\xFE",
	    "\xC0\x80",
	    "\xC1\xBF",
	    "\xE0\x80\x80",
	    "\xE0\x9F\xBF",
	    "\xF0\x80\x80\x80",
	    "\xF0\x8F\xBF\xBF", /* overlong */
	    "\xED\xA0\x80",
	    "\xED\xBF\xBF", /* encoded surrogates */
	    "\xF4\x90\x80\x80",
	    "\xF5\x80\x80\x80", /* above U+10FFFF */
	    "\xEF\x80\x80",
	    "\xEF\x83\xBF",
	    "\xEF\x80\xBA", /* U+F000..U+F0FF */
	    "\xC3",
	    "\xE2\x82",
	    "\xF0\x9F\x98", /* truncated */
	};
	uint16_t nt[16];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i]);

		TAP_EQ_INT(fm_name_to_nt(cases[i], len, nt, 16, 0), (long)len);
		for (size_t k = 0; k < len; k++)
			TAP_EQ_INT(nt[k], 0xDC00 + (unsigned char)cases[i][k]);
		TAP_CHECK(round_trips(cases[i], len, 0));
	}
	/* An invalid byte does not swallow the valid character after it. */
	TAP_EQ_INT(to_nt("\xC3\xC3\xA9x", nt, 0), 3);
	TAP_EQ_INT(nt[0], 0xDCC3);
	TAP_EQ_INT(nt[1], 0xE9);
	TAP_EQ_INT(nt[2], 'x');
}

static void t_nt_rejections(void)
{
	static const uint16_t bad[][3] = {
	    {0x0000},		      /* NUL */
	    {'a', '/'},		      /* '/' is never in an NT name we produce */
	    {0xD800},		      /* lone high surrogate */
	    {0xD800, 'a'},	      /* high surrogate not followed by a low one */
	    {0xDC00},		      /* lone low surrogate below the escape range */
	    {0xDC7F},		      /* idem */
	    {0xDD00},		      /* above it */
	    {0xDFFF},		      /* idem */
	    {0xF000},		      /* escape of NUL */
	    {0xF041},		      /* escape of a character that needs none */
	    {0xF02F},		      /* escape of '/' */
	    {0xF0FF},		      /* idem, top of the range */
	    {0xDCC3, 0xDCA9},	      /* escapes that spell valid UTF-8 ("é") */
	    {0xDCE2, 0xDC82, 0xDCAC}, /* idem, "€" */
	    {0xDCED, 0xDCA0},	      /* a prefix of an encoded surrogate is fine ... */
	};
	static const size_t lens[] = {1, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3, 2};
	char out[32];

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]) - 1; i++) {
		long r = fm_name_from_nt(bad[i], lens[i], out, sizeof(out), 0);
		if (r != -EINVAL) {
			printf("# case %zu gave %ld\n", i, r);
			tap__case_failed = 1;
		}
	}
	/* ... because ED A0 alone is not valid UTF-8, so it is the image of those bytes. */
	TAP_EQ_INT(fm_name_from_nt(bad[14], 2, out, sizeof(out), 0), 2);
	/* Escaped bytes of U+F000 (which Linux names carry escaped) are accepted. */
	const uint16_t f000[] = {0xDCEF, 0xDC80, 0xDC80};
	TAP_EQ_INT(fm_name_from_nt(f000, 3, out, sizeof(out), 0), 3);
	TAP_EQ_STR(out, "\xEF\x80\x80");
	/* '\' separates only in path mode. */
	const uint16_t sep[] = {'a', '\\', 'b'};
	TAP_EQ_INT(fm_name_from_nt(sep, 3, out, sizeof(out), 0), -EINVAL);
	TAP_EQ_INT(fm_name_from_nt(sep, 3, out, sizeof(out), 1), 3);
	TAP_EQ_STR(out, "a/b");
	TAP_EQ_INT(fm_name_from_nt(NULL, 1, out, sizeof(out), 1), -EINVAL);
}

static void t_capacity(void)
{
	uint16_t nt[8];
	char out[8];

	for (size_t i = 0; i < 8; i++)
		nt[i] = 0x1234;
	/* Exactly the units fit: no terminator, no error. */
	TAP_EQ_INT(fm_name_to_nt("abc", 3, nt, 3, 0), 3);
	TAP_EQ_INT(nt[3], 0x1234);
	TAP_EQ_INT(fm_name_to_nt("abc", 3, nt, 2, 0), -ENAMETOOLONG);
	TAP_EQ_INT(fm_name_to_nt("abc", 3, NULL, 0, 0), -ENAMETOOLONG);
	/* A surrogate pair never splits. */
	TAP_EQ_INT(fm_name_to_nt("\xF0\x9F\x98\x80", 4, nt, 1, 0), -ENAMETOOLONG);
	TAP_EQ_INT(fm_name_to_nt("\xF0\x9F\x98\x80", 4, nt, 2, 0), 2);

	const uint16_t euro[] = {0x20AC, 'x'};
	memset(out, 'Z', sizeof(out));
	TAP_EQ_INT(fm_name_from_nt(euro, 2, out, 4, 0), 4);
	TAP_EQ_INT(out[4], 'Z');
	TAP_EQ_INT(fm_name_from_nt(euro, 2, out, 3, 0), -ENAMETOOLONG);
	TAP_EQ_INT(fm_name_from_nt(euro, 1, out, 2, 0), -ENAMETOOLONG);
	TAP_EQ_INT(fm_name_from_nt(euro, 2, out, 5, 0), 4);
	TAP_EQ_INT(out[4], 0);
	const uint16_t esc[] = {0xDCFF};
	TAP_EQ_INT(fm_name_from_nt(esc, 1, out, 0, 0), -ENAMETOOLONG);
	TAP_EQ_INT(fm_name_from_nt(euro, 0, out, 0, 0), 0);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

/* Random names, biased towards UTF-8 lead and continuation bytes and forbidden characters. */
static size_t random_name(char *buf, size_t max, int is_path)
{
	static const unsigned char interesting[] = {0x80, 0xBF, 0xC0, 0xC2, 0xC3, 0xDF, 0xE0, 0xED,
						    0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0xA0, 0x83, '\\',
						    ':',  '*',	1,    31,   '.',  'a'};
	size_t len = rng() % max;

	for (size_t i = 0; i < len; i++) {
		unsigned char b;

		switch (rng() % 4) {
		case 0:
			b = interesting[rng() % sizeof(interesting)];
			break;
		case 1:
			b = (unsigned char)(0x80 + rng() % 0x40);
			break;
		default:
			b = (unsigned char)(1 + rng() % 255);
		}
		if (b == '/' && !is_path)
			b = 'x';
		buf[i] = (char)b;
	}
	return len;
}

static void t_random_round_trip(void)
{
	char buf[64];
	int failures = 0;

	for (int iter = 0; iter < 200000 && failures < 5; iter++) {
		int is_path = iter & 1;
		size_t len = random_name(buf, sizeof(buf), is_path);

		if (!round_trips(buf, len, is_path)) {
			printf("# no round trip for a %zu-byte name (path %d):", len, is_path);
			for (size_t k = 0; k < len; k++)
				printf(" %02x", (unsigned char)buf[k]);
			printf("\n");
			tap__case_failed = 1;
			failures++;
		}
	}
}

/* NT -> Linux -> NT is the identity whenever the first step accepts. */
static void t_random_nt_one_to_one(void)
{
	static const uint16_t interesting[] = {0xDC80, 0xDCC3, 0xDCA9, 0xDCEF, 0xDCFF, 0xD83D,
					       0xDE00, 0xF03A, 0xF041, 0xE9,   'a',    '\\',
					       ':',    0xD800, 0xDFFF, 0xF000, 0xFFFF, 0x20AC};
	uint16_t nt[16], again[64];
	char lx[128];
	int accepted = 0;

	for (int iter = 0; iter < 200000; iter++) {
		size_t len = rng() % 8;
		int is_path = iter & 1;

		for (size_t i = 0; i < len; i++)
			nt[i] = interesting[rng() % (sizeof(interesting) / sizeof(interesting[0]))];
		long m = fm_name_from_nt(nt, len, lx, sizeof(lx), is_path);
		if (m < 0)
			continue;
		accepted++;
		long n = fm_name_to_nt(lx, (size_t)m, again, 64, is_path);
		if (n != (long)len || memcmp(again, nt, len * 2) != 0) {
			tap__case_failed = 1;
			break;
		}
	}
	TAP_CHECK(accepted > 1000);
}

int main(void)
{
	TAP_RUN(t_ascii_and_path);
	TAP_RUN(t_forbidden_characters);
	TAP_RUN(t_valid_utf8);
	TAP_RUN(t_invalid_utf8_escaped_bytewise);
	TAP_RUN(t_nt_rejections);
	TAP_RUN(t_capacity);
	TAP_RUN(t_random_round_trip);
	TAP_RUN(t_random_nt_one_to_one);
	return tap_done();
}
