/* The Microsoft-semantics printf engine behind DbgPrint, RtlStringCch*Printf and _snwprintf. */
#include "nt/format.h"

#include "common/alloc.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <ntdef.h>

/*
 * One engine serves both widths.  The format is read one unit at a time from either a char
 * or a WCHAR string, and output goes to a sink that stores bytes (UTF-8) or UTF-16 units.
 * Counting continues past the end of the buffer so the caller learns the full length.
 */

struct sink {
	bool wide;
	char *nb;
	uint16_t *wb;
	size_t cap;   /* units in the buffer */
	size_t limit; /* units of text it may hold: cap - 1, or cap when no terminator is due */
	size_t n;     /* units the output needs so far */
};

struct fmt_src {
	const char *n;
	const uint16_t *w;
	size_t i;
};

enum size_prefix {
	SZ_NONE,
	SZ_HH,
	SZ_H,
	SZ_L,	 /* 'l': 32-bit integers, wide characters and strings */
	SZ_LL,	 /* 'll', 'L' (integers), 'I64': 64-bit */
	SZ_I32,	 /* 'I32' */
	SZ_PTR,	 /* 'I': pointer-sized */
	SZ_W,	 /* 'w': wide characters and strings */
	SZ_Z,	 /* 'z': size_t */
	SZ_J,	 /* 'j': intmax_t */
	SZ_T,	 /* 't': ptrdiff_t */
	SZ_LDBL, /* 'L' before a floating-point conversion */
};

struct spec {
	bool left, plus, space, alt, zero;
	int width;     /* -1: none */
	int prec;      /* -1: none */
	bool has_prec; /* a precision was given (even if negative via '*') */
	enum size_prefix size;
	bool size_h; /* an 'h' or 'hh' was given */
	uint32_t conv;
};

static uint32_t fmt_peek(const struct fmt_src *f)
{
	return f->w ? f->w[f->i] : (unsigned char)f->n[f->i];
}

static void put_unit(struct sink *s, uint32_t u)
{
	if (s->n < s->limit) {
		if (s->wide)
			s->wb[s->n] = (uint16_t)u;
		else
			s->nb[s->n] = (char)u;
	}
	s->n++;
}

static void put_repeat(struct sink *s, uint32_t u, long count)
{
	while (count > 0 && s->n < s->limit) {
		put_unit(s, u);
		count--;
	}
	/* Past the end only the count matters: a huge width costs nothing. */
	if (count > 0)
		s->n += (size_t)count;
}

/* Writes one Unicode scalar value in the sink's encoding. */
static void put_cp(struct sink *s, uint32_t cp)
{
	if (s->wide) {
		if (cp >= 0x10000) {
			cp -= 0x10000;
			put_unit(s, 0xD800 + (cp >> 10));
			put_unit(s, 0xDC00 + (cp & 0x3FF));
		} else {
			put_unit(s, cp);
		}
		return;
	}
	if (cp < 0x80) {
		put_unit(s, cp);
	} else if (cp < 0x800) {
		put_unit(s, 0xC0 | (cp >> 6));
		put_unit(s, 0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		put_unit(s, 0xE0 | (cp >> 12));
		put_unit(s, 0x80 | ((cp >> 6) & 0x3F));
		put_unit(s, 0x80 | (cp & 0x3F));
	} else {
		put_unit(s, 0xF0 | (cp >> 18));
		put_unit(s, 0x80 | ((cp >> 12) & 0x3F));
		put_unit(s, 0x80 | ((cp >> 6) & 0x3F));
		put_unit(s, 0x80 | (cp & 0x3F));
	}
}

/* Lenient UTF-8 decoding of one character: an invalid byte reads as U+FFFD and is skipped. */
static size_t utf8_lenient(const unsigned char *p, size_t len, uint32_t *cp)
{
	uint32_t c, min;
	size_t n;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	*cp = 0xFFFD;
	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		n = 2;
		c = p[0] & 0x1F;
		min = 0x80;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		n = 3;
		c = p[0] & 0x0F;
		min = 0x800;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		n = 4;
		c = p[0] & 0x07;
		min = 0x10000;
	} else {
		return 1;
	}
	if (len < n)
		return 1;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 1;
		c = (c << 6) | (p[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 1;
	*cp = c;
	return n;
}

/* Emits `len` bytes of a char string (UTF-8 when the sink is wide). */
static void put_narrow_text(struct sink *s, const char *p, size_t len)
{
	if (!s->wide) {
		for (size_t i = 0; i < len; i++)
			put_unit(s, (unsigned char)p[i]);
		return;
	}
	for (size_t i = 0; i < len;) {
		uint32_t cp;

		i += utf8_lenient((const unsigned char *)p + i, len - i, &cp);
		put_cp(s, cp);
	}
}

/* Emits `len` UTF-16 units (UTF-8 when the sink is narrow; lone surrogates -> U+FFFD). */
static void put_wide_text(struct sink *s, const uint16_t *p, size_t len)
{
	if (s->wide) {
		for (size_t i = 0; i < len; i++)
			put_unit(s, p[i]);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		uint32_t c = p[i];

		if (c >= 0xD800 && c <= 0xDBFF && i + 1 < len && p[i + 1] >= 0xDC00 &&
		    p[i + 1] <= 0xDFFF) {
			c = 0x10000 + ((c - 0xD800) << 10) + (uint32_t)(p[i + 1] - 0xDC00);
			i++;
		} else if (c >= 0xD800 && c <= 0xDFFF) {
			c = 0xFFFD;
		}
		put_cp(s, c);
	}
}

static void pad_before(struct sink *s, const struct spec *sp, size_t len)
{
	if (!sp->left && sp->width > 0 && (size_t)sp->width > len)
		put_repeat(s, ' ', (long)((size_t)sp->width - len));
}

static void pad_after(struct sink *s, const struct spec *sp, size_t len)
{
	if (sp->left && sp->width > 0 && (size_t)sp->width > len)
		put_repeat(s, ' ', (long)((size_t)sp->width - len));
}

static size_t bounded_strlen(const char *p, const struct spec *sp)
{
	return sp->prec >= 0 ? strnlen(p, (size_t)sp->prec) : strlen(p);
}

static size_t bounded_wcslen(const uint16_t *p, const struct spec *sp)
{
	size_t n = 0;

	while (p[n] && (sp->prec < 0 || n < (size_t)sp->prec))
		n++;
	return n;
}

/* A precision must not cut a surrogate pair in two. */
static size_t trim_pair(const uint16_t *p, size_t len, size_t full)
{
	if (len > 0 && len < full && p[len - 1] >= 0xD800 && p[len - 1] <= 0xDBFF &&
	    p[len] >= 0xDC00 && p[len] <= 0xDFFF)
		return len - 1;
	return len;
}

static void emit_narrow(struct sink *s, const struct spec *sp, const char *p, size_t len)
{
	pad_before(s, sp, len);
	put_narrow_text(s, p, len);
	pad_after(s, sp, len);
}

static void emit_wide(struct sink *s, const struct spec *sp, const uint16_t *p, size_t len)
{
	pad_before(s, sp, len);
	put_wide_text(s, p, len);
	pad_after(s, sp, len);
}

static void emit_null(struct sink *s, const struct spec *sp)
{
	static const char null_text[] = "(null)";
	size_t len = sizeof(null_text) - 1;

	if (sp->prec >= 0 && (size_t)sp->prec < len)
		len = (size_t)sp->prec;
	emit_narrow(s, sp, null_text, len);
}

/* Whether a string, character or counted-string conversion takes the wide form. */
static bool wants_wide(const struct spec *sp, bool engine_wide)
{
	if (sp->size_h)
		return false;
	if (sp->size == SZ_L || sp->size == SZ_W)
		return true;
	/* Lower-case conversions take the engine's own width, upper-case ones the other. */
	bool upper = sp->conv == 'S' || sp->conv == 'C';
	return engine_wide != upper;
}

static void conv_string(struct sink *s, const struct spec *sp, va_list *ap)
{
	if (wants_wide(sp, s->wide)) {
		const uint16_t *p = va_arg(*ap, const uint16_t *);
		if (!p) {
			emit_null(s, sp);
			return;
		}
		size_t len = bounded_wcslen(p, sp);
		emit_wide(s, sp, p, trim_pair(p, len, len + (p[len] != 0)));
	} else {
		const char *p = va_arg(*ap, const char *);
		if (!p) {
			emit_null(s, sp);
			return;
		}
		emit_narrow(s, sp, p, bounded_strlen(p, sp));
	}
}

static void conv_counted(struct sink *s, struct spec *sp, va_list *ap)
{
	/* 'Z' follows the rules of 's', with UNICODE_STRING for WCHAR and ANSI_STRING for char. */
	bool wide = sp->size_h ? false : (sp->size == SZ_L || sp->size == SZ_W) ? true : s->wide;

	if (wide) {
		const UNICODE_STRING *us = va_arg(*ap, const UNICODE_STRING *);
		if (!us || !us->Buffer) {
			emit_null(s, sp);
			return;
		}
		size_t full = us->Length / sizeof(WCHAR), len = full;
		if (sp->prec >= 0 && (size_t)sp->prec < len)
			len = trim_pair((const uint16_t *)us->Buffer, (size_t)sp->prec, full);
		emit_wide(s, sp, (const uint16_t *)us->Buffer, len);
	} else {
		const ANSI_STRING *as = va_arg(*ap, const ANSI_STRING *);
		if (!as || !as->Buffer) {
			emit_null(s, sp);
			return;
		}
		size_t len = as->Length;
		if (sp->prec >= 0 && (size_t)sp->prec < len)
			len = (size_t)sp->prec;
		emit_narrow(s, sp, as->Buffer, len);
	}
}

static void conv_char(struct sink *s, const struct spec *sp, va_list *ap)
{
	int v = va_arg(*ap, int);

	pad_before(s, sp, 1);
	if (wants_wide(sp, s->wide)) {
		uint16_t u = (uint16_t)v;
		put_wide_text(s, &u, 1);
	} else {
		char c = (char)v;
		put_narrow_text(s, &c, 1);
	}
	pad_after(s, sp, 1);
}

/* Reads an integer argument of the size the prefix names; *neg tells its sign. */
static uint64_t read_int(const struct spec *sp, bool is_signed, bool *neg, va_list *ap)
{
	int64_t v;
	uint64_t u;

	*neg = false;
	switch (sp->size) {
	case SZ_LL:
		if (is_signed)
			v = va_arg(*ap, long long);
		else
			u = va_arg(*ap, unsigned long long);
		break;
	case SZ_PTR:
		if (is_signed)
			v = va_arg(*ap, intptr_t);
		else
			u = va_arg(*ap, uintptr_t);
		break;
	case SZ_Z:
		if (is_signed)
			v = va_arg(*ap, ssize_t);
		else
			u = va_arg(*ap, size_t);
		break;
	case SZ_J:
		if (is_signed)
			v = va_arg(*ap, intmax_t);
		else
			u = va_arg(*ap, uintmax_t);
		break;
	case SZ_T:
		if (is_signed)
			v = va_arg(*ap, ptrdiff_t);
		else
			u = (uint64_t)va_arg(*ap, ptrdiff_t);
		break;
	default:
		/* No prefix, 'l' (LONG/ULONG are 32-bit), 'I32', 'w', 'h', 'hh': int-sized. */
		if (is_signed) {
			int i = va_arg(*ap, int);
			v = sp->size == SZ_HH ? (signed char)i : sp->size == SZ_H ? (short)i : i;
		} else {
			unsigned i = va_arg(*ap, unsigned);
			u = sp->size == SZ_HH  ? (unsigned char)i
			    : sp->size == SZ_H ? (unsigned short)i
					       : i;
		}
		break;
	}
	if (!is_signed)
		return u;
	if (v < 0) {
		*neg = true;
		return (uint64_t)0 - (uint64_t)v;
	}
	return (uint64_t)v;
}

static void conv_int(struct sink *s, const struct spec *sp, uint64_t mag, bool neg, bool is_signed)
{
	char digits[72], prefix[3];
	size_t nd = 0, np = 0;
	unsigned base = 10;
	const char *set = "0123456789abcdef";

	switch (sp->conv) {
	case 'o':
		base = 8;
		break;
	case 'x':
		base = 16;
		break;
	case 'X':
	case 'p':
		base = 16;
		set = "0123456789ABCDEF";
		break;
	}
	for (uint64_t m = mag; m; m /= base)
		digits[nd++] = set[m % base];
	/* Precision is the minimum digit count; 0 with a zero value prints no digit. */
	size_t min_digits = sp->prec >= 0 ? (size_t)sp->prec : 1;
	if (sp->conv == 'o' && sp->alt && min_digits <= nd)
		min_digits = nd + (nd == 0 || digits[nd - 1] != '0');
	size_t zeros = min_digits > nd ? min_digits - nd : 0;

	if (is_signed) {
		if (neg)
			prefix[np++] = '-';
		else if (sp->plus)
			prefix[np++] = '+';
		else if (sp->space)
			prefix[np++] = ' ';
	}
	if (sp->alt && mag != 0 && (sp->conv == 'x' || sp->conv == 'X' || sp->conv == 'p')) {
		prefix[np++] = '0';
		prefix[np++] = sp->conv == 'x' ? 'x' : 'X';
	}
	size_t len = np + zeros + nd;
	if (sp->zero && !sp->left && sp->prec < 0 && sp->width > 0 && (size_t)sp->width > len) {
		zeros += (size_t)sp->width - len;
		len = (size_t)sp->width;
	}
	pad_before(s, sp, len);
	for (size_t i = 0; i < np; i++)
		put_unit(s, (unsigned char)prefix[i]);
	put_repeat(s, '0', (long)zeros);
	while (nd)
		put_unit(s, (unsigned char)digits[--nd]);
	pad_after(s, sp, len);
}

/*
 * Floating point goes through the C library, which formats the digits exactly; only the
 * format string is ours, built from flags this parser validated.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static int conv_float(struct sink *s, const struct spec *sp, va_list *ap)
{
	char f[16], local[512], *buf = local;
	size_t k = 0;
	int n;

	f[k++] = '%';
	if (sp->left)
		f[k++] = '-';
	if (sp->plus)
		f[k++] = '+';
	if (sp->space)
		f[k++] = ' ';
	if (sp->alt)
		f[k++] = '#';
	if (sp->zero)
		f[k++] = '0';
	f[k++] = '*';
	f[k++] = '.';
	f[k++] = '*';
	if (sp->size == SZ_LDBL)
		f[k++] = 'L';
	f[k++] = (char)sp->conv;
	f[k] = 0;

	int width = sp->width > 0 ? sp->width : 0;
	int prec = sp->prec;
	if (sp->size == SZ_LDBL) {
		long double v = va_arg(*ap, long double);
		n = snprintf(local, sizeof(local), f, width, prec, v);
		if (n >= (int)sizeof(local)) {
			buf = fm_malloc((size_t)n + 1);
			if (buf)
				snprintf(buf, (size_t)n + 1, f, width, prec, v);
		}
	} else {
		double v = va_arg(*ap, double);
		n = snprintf(local, sizeof(local), f, width, prec, v);
		if (n >= (int)sizeof(local)) {
			buf = fm_malloc((size_t)n + 1);
			if (buf)
				snprintf(buf, (size_t)n + 1, f, width, prec, v);
		}
	}
	if (n < 0 || !buf)
		return -1;
	for (int i = 0; i < n; i++)
		put_unit(s, (unsigned char)buf[i]);
	if (buf != local)
		fm_free(buf);
	return 0;
}
#pragma GCC diagnostic pop

/* Reads a decimal number or '*' for width or precision; returns false on overflow. */
static bool read_number(struct fmt_src *f, va_list *ap, int *out, bool *from_star)
{
	*from_star = false;
	if (fmt_peek(f) == '*') {
		f->i++;
		*out = va_arg(*ap, int);
		*from_star = true;
		return true;
	}
	long v = 0;
	while (fmt_peek(f) >= '0' && fmt_peek(f) <= '9') {
		v = v * 10 + (long)(fmt_peek(f) - '0');
		if (v > INT_MAX)
			return false;
		f->i++;
	}
	*out = (int)v;
	return true;
}

/* Parses flags, width, precision and size after a '%'; returns false if malformed. */
static bool parse_spec(struct fmt_src *f, struct spec *sp, va_list *ap)
{
	bool star;

	memset(sp, 0, sizeof(*sp));
	sp->width = -1;
	sp->prec = -1;
	for (;;) {
		uint32_t c = fmt_peek(f);
		if (c == '-')
			sp->left = true;
		else if (c == '+')
			sp->plus = true;
		else if (c == ' ')
			sp->space = true;
		else if (c == '#')
			sp->alt = true;
		else if (c == '0')
			sp->zero = true;
		else
			break;
		f->i++;
	}
	if (fmt_peek(f) == '*' || (fmt_peek(f) >= '1' && fmt_peek(f) <= '9')) {
		if (!read_number(f, ap, &sp->width, &star))
			return false;
		if (star && sp->width < 0) {
			/* A negative '*' width is a '-' flag, as in C. */
			sp->left = true;
			sp->width = sp->width == INT_MIN ? INT_MAX : -sp->width;
		}
	}
	if (fmt_peek(f) == '.') {
		f->i++;
		sp->has_prec = true;
		if (!read_number(f, ap, &sp->prec, &star))
			return false;
		if (sp->prec < 0)
			sp->prec = -1; /* a negative '*' precision counts as none */
	}
	switch (fmt_peek(f)) {
	case 'h':
		f->i++;
		sp->size_h = true;
		sp->size = SZ_H;
		if (fmt_peek(f) == 'h') {
			f->i++;
			sp->size = SZ_HH;
		}
		break;
	case 'l':
		f->i++;
		sp->size = SZ_L;
		if (fmt_peek(f) == 'l') {
			f->i++;
			sp->size = SZ_LL;
		}
		break;
	case 'L':
		f->i++;
		sp->size = SZ_LDBL;
		break;
	case 'w':
		f->i++;
		sp->size = SZ_W;
		break;
	case 'z':
		f->i++;
		sp->size = SZ_Z;
		break;
	case 'j':
		f->i++;
		sp->size = SZ_J;
		break;
	case 't':
		f->i++;
		sp->size = SZ_T;
		break;
	case 'I':
		f->i++;
		sp->size = SZ_PTR;
		if (fmt_peek(f) == '6' && (f->w ? f->w[f->i + 1] : f->n[f->i + 1]) == '4') {
			f->i += 2;
			sp->size = SZ_LL;
		} else if (fmt_peek(f) == '3' && (f->w ? f->w[f->i + 1] : f->n[f->i + 1]) == '2') {
			f->i += 2;
			sp->size = SZ_I32;
		}
		break;
	}
	sp->conv = fmt_peek(f);
	if (sp->conv == 0)
		return false;
	f->i++;
	return true;
}

/* Runs one conversion; returns false for an invalid or refused one. */
static bool convert(struct sink *s, struct spec *sp, va_list *ap)
{
	bool neg;
	uint64_t mag;

	switch (sp->conv) {
	case '%':
		put_unit(s, '%');
		return true;
	case 'd':
	case 'i':
		if (sp->size == SZ_LDBL)
			sp->size = SZ_LL;
		mag = read_int(sp, true, &neg, ap);
		conv_int(s, sp, mag, neg, true);
		return true;
	case 'u':
	case 'o':
	case 'x':
	case 'X':
		if (sp->size == SZ_LDBL)
			sp->size = SZ_LL;
		mag = read_int(sp, false, &neg, ap);
		conv_int(s, sp, mag, false, false);
		return true;
	case 'p': {
		struct spec p = *sp;
		/* Microsoft prints every digit of the pointer, upper case, no "0x". */
		p.plus = p.space = false;
		if (p.prec < 0)
			p.prec = (int)(2 * sizeof(void *));
		conv_int(s, &p, (uintptr_t)va_arg(*ap, void *), false, false);
		return true;
	}
	case 'c':
	case 'C':
		conv_char(s, sp, ap);
		return true;
	case 's':
	case 'S':
		conv_string(s, sp, ap);
		return true;
	case 'Z':
		conv_counted(s, sp, ap);
		return true;
	case 'e':
	case 'E':
	case 'f':
	case 'F':
	case 'g':
	case 'G':
	case 'a':
	case 'A':
		return conv_float(s, sp, ap) == 0;
	default:
		/* Unknown conversions and %n, which writes through a pointer: refused. */
		return false;
	}
}

static int run(struct sink *s, struct fmt_src *f, va_list ap_in)
{
	va_list ap;
	int ret = 0;

	va_copy(ap, ap_in);
	for (;;) {
		uint32_t c = fmt_peek(f);

		if (c == 0)
			break;
		f->i++;
		if (c != '%') {
			put_unit(s, c);
			continue;
		}
		struct spec sp;
		if (!parse_spec(f, &sp, &ap) || !convert(s, &sp, &ap)) {
			ret = -1;
			break;
		}
	}
	va_end(ap);
	if (s->cap > 0 && (s->n < s->cap || s->limit < s->cap)) {
		size_t end = s->n < s->limit ? s->n : s->limit;
		if (s->wide)
			s->wb[end] = 0;
		else
			s->nb[end] = 0;
	}
	if (ret == 0 && s->n > INT_MAX)
		ret = -1;
	return ret < 0 ? -1 : (int)s->n;
}

static int run_narrow(char *buf, size_t cap, bool terminate, const char *fmt, va_list ap)
{
	struct sink s = {.wide = false, .nb = buf, .cap = buf ? cap : 0};
	struct fmt_src f = {.n = fmt};

	s.limit = terminate && s.cap ? s.cap - 1 : s.cap;
	if (!fmt) {
		if (s.cap)
			buf[0] = 0;
		return -1;
	}
	return run(&s, &f, ap);
}

static int run_wide(uint16_t *buf, size_t cap, bool terminate, const uint16_t *fmt, va_list ap)
{
	struct sink s = {.wide = true, .wb = buf, .cap = buf ? cap : 0};
	struct fmt_src f = {.w = fmt};

	s.limit = terminate && s.cap ? s.cap - 1 : s.cap;
	if (!fmt) {
		if (s.cap)
			buf[0] = 0;
		return -1;
	}
	return run(&s, &f, ap);
}

int fm_ms_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
{
	return run_narrow(buf, cap, true, fmt, ap);
}

int fm_ms_vsnwprintf(uint16_t *buf, size_t cap, const uint16_t *fmt, va_list ap)
{
	return run_wide(buf, cap, true, fmt, ap);
}

int fm_ms_vsnprintf_fill(char *buf, size_t cap, const char *fmt, va_list ap)
{
	return run_narrow(buf, cap, false, fmt, ap);
}

int fm_ms_vsnwprintf_fill(uint16_t *buf, size_t cap, const uint16_t *fmt, va_list ap)
{
	return run_wide(buf, cap, false, fmt, ap);
}

int fm_ms_snprintf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = fm_ms_vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return r;
}

int fm_ms_snwprintf(uint16_t *buf, size_t cap, const uint16_t *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = fm_ms_vsnwprintf(buf, cap, fmt, ap);
	va_end(ap);
	return r;
}
