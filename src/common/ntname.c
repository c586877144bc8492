/* Linux name bytes <-> NT UTF-16 names, WSL style, one-to-one (see docs/names.md). */
#include "common/ntname.h"

#include <errno.h>
#include <stdbool.h>

/* Characters NT forbids inside a name component, besides the controls 1..31. */
static bool nt_forbidden(unsigned c)
{
	if (c >= 1 && c <= 31)
		return true;
	switch (c) {
	case '\\':
	case ':':
	case '*':
	case '?':
	case '"':
	case '<':
	case '>':
	case '|':
		return true;
	default:
		return false;
	}
}

/*
 * Decodes one strictly valid UTF-8 sequence at s[0..len) (len > 0, s[0] >= 0x80).  Returns
 * its length and stores the code point, or returns 0 when the lead byte does not start a
 * valid, shortest-form sequence of a scalar value that the mapping may carry as is.
 */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c, min;
	size_t n;

	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		n = 2;
		c = s[0] & 0x1F;
		min = 0x80;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		n = 3;
		c = s[0] & 0x0F;
		min = 0x800;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		n = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF)
		return 0;
	/*
	 * Encoded surrogates are not scalar values, and U+F000..U+F0FF is where forbidden
	 * characters go: carrying either as is would make two Linux names map to one NT name.
	 */
	if ((c >= 0xD800 && c <= 0xDFFF) || (c >= 0xF000 && c <= 0xF0FF))
		return 0;
	*cp = c;
	return n;
}

/*
 * Converts the Linux character at s[0..len) (len > 0) to 1 or 2 UTF-16 units in u[].
 * Sets *used to the bytes consumed.  Returns the unit count, or 0 for a byte no Linux name
 * contains (NUL; '/' inside a component).
 */
static size_t to_nt_one(const unsigned char *s, size_t len, int is_path, size_t *used,
			uint16_t u[2])
{
	uint32_t cp;
	size_t n;

	*used = 1;
	if (s[0] == 0)
		return 0;
	if (s[0] == '/') {
		if (!is_path)
			return 0;
		u[0] = '\\';
		return 1;
	}
	if (s[0] < 0x80) {
		u[0] = nt_forbidden(s[0]) ? (uint16_t)(0xF000 + s[0]) : s[0];
		return 1;
	}
	n = utf8_decode(s, len, &cp);
	if (n == 0) {
		/* Not valid UTF-8: this byte alone becomes a lone low surrogate. */
		u[0] = (uint16_t)(0xDC00 + s[0]);
		return 1;
	}
	*used = n;
	if (cp < 0x10000) {
		u[0] = (uint16_t)cp;
		return 1;
	}
	cp -= 0x10000;
	u[0] = (uint16_t)(0xD800 + (cp >> 10));
	u[1] = (uint16_t)(0xDC00 + (cp & 0x3FF));
	return 2;
}

long fm_name_to_nt(const char *in, size_t len, uint16_t *out, size_t cap, int is_path)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, o = 0;

	if (!in && len)
		return -EINVAL;
	while (i < len) {
		uint16_t u[2];
		size_t used, n = to_nt_one(s + i, len - i, is_path, &used, u);

		if (n == 0)
			return -EINVAL;
		if (cap - o < n || o > cap)
			return -ENAMETOOLONG;
		for (size_t k = 0; k < n; k++)
			out[o++] = u[k];
		i += used;
	}
	if (o < cap)
		out[o] = 0;
	return (long)o;
}

/* Appends the UTF-8 form of cp (a scalar value) to out; false when it does not fit. */
static bool put_utf8(char *out, size_t cap, size_t *o, uint32_t cp)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xC0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xE0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xF0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	if (*o > cap || cap - *o < n)
		return false;
	for (size_t k = 0; k < n; k++)
		out[(*o)++] = (char)b[k];
	return true;
}

long fm_name_from_nt(const uint16_t *in, size_t len, char *out, size_t cap, int is_path)
{
	size_t i = 0, o = 0;

	if (!in && len)
		return -EINVAL;
	while (i < len) {
		uint32_t c = in[i++];

		if (c == 0 || c == '/')
			return -EINVAL;
		if (c == '\\') {
			if (!is_path)
				return -EINVAL;
			c = '/';
		} else if (c < 0x80 && nt_forbidden(c)) {
			return -EINVAL;
		} else if (c >= 0xF000 && c <= 0xF0FF) {
			/* Only the escapes of forbidden characters are images of Linux bytes. */
			if (!nt_forbidden(c - 0xF000))
				return -EINVAL;
			c -= 0xF000;
		} else if (c >= 0xD800 && c <= 0xDBFF) {
			if (i == len || in[i] < 0xDC00 || in[i] > 0xDFFF)
				return -EINVAL;
			c = 0x10000 + ((c - 0xD800) << 10) + (uint32_t)(in[i++] - 0xDC00);
		} else if (c >= 0xDC00 && c <= 0xDFFF) {
			if (c < 0xDC80 || c > 0xDCFF)
				return -EINVAL;
			/* An escaped byte is written raw; whether it was truly invalid is checked
			 * below, once the bytes around it are known. */
			if (o >= cap)
				return -ENAMETOOLONG;
			out[o++] = (char)(c - 0xDC00);
			continue;
		}
		if (!put_utf8(out, cap, &o, c))
			return -ENAMETOOLONG;
	}

	/*
	 * Escaped bytes can spell valid UTF-8 (U+DCC3 U+DCA9 gives the bytes of "é"), and then
	 * the Linux name would convert back to a different NT name.  Such an NT name is not the
	 * image of any Linux name: re-encode and compare, which is exact and needs no memory.
	 */
	const unsigned char *s = (const unsigned char *)out;
	size_t r = 0, k = 0;
	while (r < o) {
		uint16_t u[2];
		size_t used, n = to_nt_one(s + r, o - r, is_path, &used, u);

		if (n == 0 || k + n > len || u[0] != in[k] || (n == 2 && u[1] != in[k + 1]))
			return -EINVAL;
		k += n;
		r += used;
	}
	if (k != len)
		return -EINVAL;
	if (o < cap)
		out[o] = 0;
	return (long)o;
}
