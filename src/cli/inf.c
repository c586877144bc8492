/* A minifilter INF reader for `fltmc install`: sections, %strings%, AddService and AddReg. */
#include "cli/inf.h"

#include "common/alloc.h"
#include "core/registry.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* AddReg flag bits (INF AddReg directive). */
#define ADDREG_BINVALUETYPE 0x00000001u
#define ADDREG_DELVAL 0x00000004u
#define ADDREG_KEYONLY 0x00000010u
#define ADDREG_TYPE_MULTI_SZ 0x00010000u
#define ADDREG_TYPE_EXPAND_SZ 0x00020000u
#define ADDREG_TYPE_DWORD 0x00010001u
#define ADDREG_TYPE_NONE 0x00020001u

/*
 * Work and memory are linear in the size of the text: sections and [Strings] keys are found
 * through hash tables, a line's fields share one buffer that is reused from line to line, and
 * what %strkey% substitution may add over the whole file is bounded.
 */
#define EXPAND_MAX (1u << 20)  /* bytes all %strkey% substitutions together may add */
#define ADDREG_SECTIONS_MAX 64 /* sections one AddReg directive may name */

struct line {
	char *text; /* comment removed, trimmed, continuation lines joined */
	unsigned int lineno;
};

struct section {
	char *name;
	struct line *lines;
	size_t n, cap;
};

/* A case-insensitive (ASCII) map from a counted string to an index, open addressing. */
struct ci_slot {
	const char *key;
	size_t len;
	size_t idx;
};

struct ci_map {
	struct ci_slot *slots;
	size_t cap, n; /* cap: 0 or a power of two */
};

/* One [Strings] entry: the value, unquoted. */
struct string {
	const char *val;
	size_t len;
};

struct inf {
	struct section *secs;
	size_t n, cap;
	struct ci_map sec_map;
	struct ci_map str_map; /* [Strings] key -> strs[] */
	struct string *strs;
	char *str_text;	 /* the unquoted values, one after the other */
	size_t expanded; /* bytes substitutions added so far */
	size_t vcap;	 /* capacity of the service's values[] */
	char *err;
	size_t errcap;
};

/* The fields of one line: v[0..n) point into buf.  Reused for line after line. */
struct fieldset {
	char *buf;
	size_t len, cap;
	size_t *off;
	char **v;
	size_t n, vcap;
};

static int fail(struct inf *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct inf *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->err, f->errcap, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static char *trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* Cut a ';' comment that is not inside quotes. */
static void strip_comment(char *s)
{
	bool q = false;

	for (; *s; s++) {
		if (*s == '"')
			q = !q;
		else if (*s == ';' && !q) {
			*s = '\0';
			return;
		}
	}
}

static unsigned char fold(char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : (unsigned char)c;
}

static bool ci_equal(const char *a, const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (fold(a[i]) != fold(b[i]))
			return false;
	return true;
}

static size_t ci_hash(const char *s, size_t len)
{
	size_t h = 14695981039346656037ull & SIZE_MAX;

	for (size_t i = 0; i < len; i++)
		h = (h ^ fold(s[i])) * (size_t)1099511628211ull;
	return h ^ (h >> 29);
}

/* The slot of `key`, or the empty slot where it would go; NULL for an empty map. */
static struct ci_slot *ci_slot(const struct ci_map *m, const char *key, size_t len)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = ci_hash(key, len) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct ci_slot *sl = &m->slots[i];

		if (!sl->key || (sl->len == len && ci_equal(sl->key, key, len)))
			return sl;
	}
}

static const struct ci_slot *ci_find(const struct ci_map *m, const char *key, size_t len)
{
	const struct ci_slot *sl = ci_slot(m, key, len);

	return sl && sl->key ? sl : NULL;
}

/* Add a key that is not in the map yet (the key's text must outlive the map). */
static int ci_add(struct ci_map *m, const char *key, size_t len, size_t idx)
{
	struct ci_slot *sl;

	if ((m->n + 1) * 2 > m->cap) {
		struct ci_map g = {.cap = m->cap ? m->cap * 2 : 16};

		g.slots = fm_calloc(g.cap, sizeof(*g.slots));
		if (!g.slots)
			return -ENOMEM;
		for (size_t i = 0; i < m->cap; i++) {
			if (m->slots[i].key) {
				sl = ci_slot(&g, m->slots[i].key, m->slots[i].len);
				*sl = m->slots[i];
			}
		}
		g.n = m->n;
		fm_free(m->slots);
		*m = g;
	}
	sl = ci_slot(m, key, len);
	sl->key = key;
	sl->len = len;
	sl->idx = idx;
	m->n++;
	return 0;
}

static struct section *find_section(struct inf *f, const char *name)
{
	const struct ci_slot *sl = ci_find(&f->sec_map, name, strlen(name));

	return sl ? &f->secs[sl->idx] : NULL;
}

static int split_sections(struct inf *f, char *text)
{
	struct section *cur = NULL;
	unsigned int lineno = 0;
	char *save = NULL, *raw;

	for (raw = text; raw; raw = save) {
		char *nl = strchr(raw, '\n'), *s;
		unsigned int first = ++lineno;
		size_t l;

		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		strip_comment(raw);
		s = trim(raw);
		l = strlen(s);
		/* A trailing backslash continues the line on the next one. */
		while (l && s[l - 1] == '\\' && save) {
			char *next = save, *nl2 = strchr(next, '\n');
			size_t nlen;

			save = nl2 ? nl2 + 1 : NULL;
			if (nl2)
				*nl2 = '\0';
			lineno++;
			strip_comment(next);
			next = trim(next);
			nlen = strlen(next);
			/* The joined text is at most as long as both pieces: move it in place. */
			memmove(s + l - 1, next, nlen + 1);
			l = l - 1 + nlen;
		}
		if (!*s)
			continue;
		if (*s == '[') {
			char *e = strchr(s, ']'), *name;

			if (!e)
				return fail(f, "line %u: unterminated section name", first);
			*e = '\0';
			name = trim(s + 1);
			cur = find_section(f, name);
			if (!cur) {
				if (f->n == f->cap) {
					size_t nc = f->cap ? f->cap * 2 : 16;
					struct section *ns = fm_realloc(f->secs, nc * sizeof(*ns));

					if (!ns)
						return -ENOMEM;
					f->secs = ns;
					f->cap = nc;
				}
				if (ci_add(&f->sec_map, name, strlen(name), f->n))
					return -ENOMEM;
				cur = &f->secs[f->n++];
				memset(cur, 0, sizeof(*cur));
				cur->name = name;
			}
			continue;
		}
		if (!cur)
			continue; /* text before the first section is ignored, as Windows does */
		if (cur->n == cur->cap) {
			size_t nc = cur->cap ? cur->cap * 2 : 16;
			struct line *nl3 = fm_realloc(cur->lines, nc * sizeof(*nl3));

			if (!nl3)
				return -ENOMEM;
			cur->lines = nl3;
			cur->cap = nc;
		}
		cur->lines[cur->n].text = s;
		cur->lines[cur->n].lineno = first;
		cur->n++;
	}
	return 0;
}

/*
 * Index [Strings] once: "key = value", the key up to the first '=', the value unquoted ("" in
 * quotes is one quote, text after the closing quote is ignored) or as written.  The first
 * definition of a key wins.
 */
static int index_strings(struct inf *f)
{
	struct section *s = find_section(f, "Strings");
	size_t total = 0, o = 0;

	if (!s || !s->n)
		return 0;
	for (size_t i = 0; i < s->n; i++)
		total += strlen(s->lines[i].text) + 1;
	f->str_text = fm_malloc(total);
	f->strs = fm_calloc(s->n, sizeof(*f->strs));
	if (!f->str_text || !f->strs)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		const char *t = s->lines[i].text, *eq = strchr(t, '='), *v;
		char *out = f->str_text + o;
		size_t kl, n = 0;

		if (!eq)
			continue;
		kl = (size_t)(eq - t);
		while (kl && (t[kl - 1] == ' ' || t[kl - 1] == '\t'))
			kl--;
		if (ci_find(&f->str_map, t, kl))
			continue;
		v = eq + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v == '"') {
			for (v++; *v; v++) {
				if (*v == '"' && v[1] != '"')
					break;
				if (*v == '"')
					v++;
				out[n++] = *v;
			}
		} else {
			for (; *v; v++)
				out[n++] = *v;
			while (n && (out[n - 1] == ' ' || out[n - 1] == '\t'))
				n--;
		}
		f->strs[i].val = out;
		f->strs[i].len = n;
		o += n;
		if (ci_add(&f->str_map, t, kl, i))
			return -ENOMEM;
	}
	return 0;
}

/* The [Strings] value of `key`, or NULL. */
static const struct string *string_value(struct inf *f, const char *key, size_t klen)
{
	const struct ci_slot *sl = ci_find(&f->str_map, key, klen);

	return sl ? &f->strs[sl->idx] : NULL;
}

static void fieldset_free(struct fieldset *fs)
{
	fm_free(fs->buf);
	fm_free(fs->off);
	fm_free(fs->v);
	memset(fs, 0, sizeof(*fs));
}

/* Room for `more` bytes in the field buffer. */
static int fs_reserve(struct fieldset *fs, size_t more)
{
	size_t nc = fs->cap ? fs->cap : 256;
	char *nb;

	if (fs->len + more <= fs->cap)
		return 0;
	while (nc < fs->len + more)
		nc *= 2;
	nb = fm_realloc(fs->buf, nc);
	if (!nb)
		return -ENOMEM;
	fs->buf = nb;
	fs->cap = nc;
	return 0;
}

static int fs_put(struct fieldset *fs, const char *p, size_t n)
{
	if (!n)
		return 0;
	if (fs_reserve(fs, n))
		return -ENOMEM;
	memcpy(fs->buf + fs->len, p, n);
	fs->len += n;
	return 0;
}

static int fs_begin_field(struct fieldset *fs)
{
	if (fs->n >= INT_MAX)
		return -ENOMEM;
	if (fs->n == fs->vcap) {
		size_t nc = fs->vcap ? fs->vcap * 2 : 16;
		size_t *no = fm_realloc(fs->off, nc * sizeof(*no));

		if (!no)
			return -ENOMEM;
		fs->off = no;
		fs->vcap = nc;
	}
	fs->off[fs->n++] = fs->len;
	return 0;
}

/*
 * Split a line's value part into comma-separated fields, unquoting ("" inside quotes is a
 * quote) and replacing %strkey% (%% is a percent sign; unknown keys such as %12% stay), into
 * fs (at most `max` fields, 0: all).  Returns the number of fields or -errno.
 */
static int fields(struct inf *f, const char *s, unsigned int lineno, struct fieldset *fs,
		  size_t max)
{
	char **nv;

	fs->len = 0;
	fs->n = 0;
	for (;;) {
		bool q = false;
		size_t start;

		if (fs_begin_field(fs))
			return -ENOMEM;
		start = fs->len;
		while (*s == ' ' || *s == '\t')
			s++;
		for (; *s && (q || *s != ','); s++) {
			if (*s == '"') {
				if (q && s[1] == '"') {
					s++;
				} else {
					q = !q;
					continue;
				}
			} else if (*s == '%') {
				const char *e = strchr(s + 1, '%');
				const struct string *v;

				if (e == s + 1) {
					s++; /* %% */
				} else if (e && (v = string_value(f, s + 1, (size_t)(e - s - 1)))) {
					if (v->len > EXPAND_MAX - f->expanded)
						return fail(f,
							    "line %u: %%strkey%% substitutions "
							    "add more than %u bytes",
							    lineno, EXPAND_MAX);
					f->expanded += v->len;
					if (fs_put(fs, v->val, v->len))
						return -ENOMEM;
					s = e;
					continue;
				}
			}
			if (fs_put(fs, s, 1))
				return -ENOMEM;
		}
		while (!q && fs->len > start &&
		       (fs->buf[fs->len - 1] == ' ' || fs->buf[fs->len - 1] == '\t'))
			fs->len--;
		if (fs_put(fs, "", 1))
			return -ENOMEM;
		if ((max && fs->n == max) || *s != ',')
			break;
		s++;
	}
	nv = fm_realloc(fs->v, fs->vcap * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	fs->v = nv;
	for (size_t i = 0; i < fs->n; i++)
		fs->v[i] = fs->buf + fs->off[i];
	return (int)fs->n;
}

/* Whether a line is the directive `key` ("key = value"); *value is then its value part. */
static bool is_directive(const char *s, const char *key, const char **value)
{
	size_t klen = strlen(key), kl;
	bool q = false;
	const char *p;

	for (p = s; *p; p++) {
		if (*p == '"')
			q = !q;
		else if (*p == '=' && !q)
			break;
	}
	if (!*p)
		return false;
	kl = (size_t)(p - s);
	while (kl && (s[kl - 1] == ' ' || s[kl - 1] == '\t' || s[kl - 1] == '\r'))
		kl--;
	if (kl != klen || !ci_equal(s, key, klen))
		return false;
	*value = p + 1;
	return true;
}

/* The first directive `key` of a section, its fields in fs; 0 if there is none. */
static int directive(struct inf *f, struct section *s, const char *key, struct fieldset *fs,
		     size_t max)
{
	for (size_t i = 0; s && i < s->n; i++) {
		const char *val;

		if (is_directive(s->lines[i].text, key, &val))
			return fields(f, val, s->lines[i].lineno, fs, max);
	}
	return 0;
}

static int parse_number(const char *s, unsigned long long max, unsigned long long *v)
{
	char *end;

	if (!*s)
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || *end || *v > max ? -EINVAL : 0;
}

static int add_value(struct inf *f, struct fm_inf_service *svc, const char *subkey,
		     const char *name, uint32_t type, void *data, size_t len)
{
	struct fm_inf_value *v;

	if (svc->nvalues == f->vcap) {
		size_t nc = f->vcap ? f->vcap * 2 : 16;
		struct fm_inf_value *nv = fm_realloc(svc->values, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		svc->values = nv;
		f->vcap = nc;
	}
	v = &svc->values[svc->nvalues];
	v->subkey = fm_strdup(subkey);
	v->name = fm_strdup(name);
	if (!v->subkey || !v->name) {
		fm_free(v->subkey);
		fm_free(v->name);
		return -ENOMEM;
	}
	v->type = type;
	v->data = data;
	v->len = len;
	svc->nvalues++;
	return 0;
}

/* One byte of a binary AddReg value: hex digits (no 0x), at most 0xff. */
static int parse_hex_byte(const char *s, uint8_t *out)
{
	unsigned int v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		unsigned int d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned int)(*s - '0');
		else if (fold(*s) >= 'a' && fold(*s) <= 'f')
			d = fold(*s) - 'a' + 10u;
		else
			return -EINVAL;
		v = v * 16 + d;
		if (v > 0xff)
			return -EINVAL;
	}
	*out = (uint8_t)v;
	return 0;
}

/* One AddReg line: reg-root, subkey, value-entry-name, flags, value... */
static int addreg_line(struct inf *f, struct fm_inf_service *svc, const struct line *ln,
		       struct fieldset *fs)
{
	unsigned long long flags = 0;
	void *data = NULL;
	size_t len = 0;
	uint32_t type;
	int n = fields(f, ln->text, ln->lineno, fs, 0), rc = 0;
	char **fv = fs->v;

	if (n < 0)
		return n;
	if (n < 1 || strcasecmp(fv[0], "HKR") != 0) {
		svc->skipped++; /* only the service key itself is ours to write */
		goto out;
	}
	if (n >= 4 && fv[3][0] && parse_number(fv[3], UINT32_MAX, &flags)) {
		rc = fail(f, "line %u: bad AddReg flags \"%s\"", ln->lineno, fv[3]);
		goto out;
	}
	if (flags & (ADDREG_DELVAL | ADDREG_KEYONLY) || n < 3) {
		svc->skipped++;
		goto out;
	}
	if (flags == ADDREG_TYPE_DWORD) {
		type = FM_REG_DWORD;
	} else if (flags == ADDREG_TYPE_NONE) {
		type = 0;
	} else if (flags & ADDREG_BINVALUETYPE) {
		type = (uint32_t)(flags >> 16) ? (uint32_t)(flags >> 16) : FM_REG_BINARY;
	} else if ((flags & 0xffff0000u) == ADDREG_TYPE_MULTI_SZ) {
		type = FM_REG_MULTI_SZ;
	} else if ((flags & 0xffff0000u) == ADDREG_TYPE_EXPAND_SZ) {
		type = FM_REG_EXPAND_SZ;
	} else {
		type = FM_REG_SZ;
	}
	if (type == FM_REG_SZ || type == FM_REG_EXPAND_SZ) {
		const char *s = n >= 5 ? fv[4] : "";

		rc = fm_reg_encode(type, &s, 1, &data, &len);
	} else if (type == FM_REG_MULTI_SZ) {
		rc = fm_reg_encode(type, (const char *const *)fv + 4, n > 4 ? (size_t)n - 4 : 0,
				   &data, &len);
	} else if (type == FM_REG_DWORD) {
		const char *s = n >= 5 ? fv[4] : "0";

		rc = fm_reg_encode(type, &s, 1, &data, &len);
	} else {
		/* Binary-valued: each remaining field is one byte in hex. */
		len = n > 4 ? (size_t)n - 4 : 0;
		data = len ? fm_malloc(len) : NULL;
		if (len && !data)
			rc = -ENOMEM;
		for (size_t i = 0; rc == 0 && i < len; i++)
			rc = parse_hex_byte(fv[4 + i], (uint8_t *)data + i);
	}
	if (rc == -EINVAL || rc == -E2BIG) {
		rc = fail(f, "line %u: bad value for %s \"%s\"", ln->lineno, fm_reg_type_name(type),
			  fv[2]);
	} else if (rc == 0) {
		rc = add_value(f, svc, fv[1], fv[2], type, data, len);
		if (rc == 0)
			data = NULL;
	}
out:
	fm_free(data);
	return rc;
}

/* The subkey holding the instances: "Instances" or, Windows 11 24H2 style, "Parameters\Instances". */
static const struct fm_inf_value *find_value(const struct fm_inf_service *svc, const char *subkey,
					     const char *name)
{
	const struct fm_inf_value *hit = NULL;

	/* The last write of a value wins, as when the lines are applied in order. */
	for (size_t i = 0; i < svc->nvalues; i++)
		if (strcasecmp(svc->values[i].subkey, subkey) == 0 &&
		    strcasecmp(svc->values[i].name, name) == 0)
			hit = &svc->values[i];
	return hit;
}

static char *utf16_value_to_utf8(const struct fm_inf_value *v)
{
	char *s = fm_malloc(v->len + 1);
	size_t o = 0;

	/* INF strings we produced from UTF-8; the instance names and altitudes are ASCII. */
	if (!s)
		return NULL;
	for (size_t i = 0; i + 1 < v->len; i += 2) {
		unsigned int c = v->data[i] | (unsigned int)v->data[i + 1] << 8;

		if (!c)
			break;
		s[o++] = c < 0x80 ? (char)c : '?';
	}
	s[o] = '\0';
	return s;
}

static int find_instances(struct inf *f, struct fm_inf_service *svc)
{
	static const char *const roots[] = {"Instances", "Parameters\\Instances"};

	for (size_t r = 0; r < 2; r++) {
		const struct fm_inf_value *d = find_value(svc, roots[r], "DefaultInstance");
		const struct fm_inf_value *a, *fl;
		char sub[512];

		if (!d || (d->type != FM_REG_SZ && d->type != FM_REG_EXPAND_SZ))
			continue;
		svc->default_instance = utf16_value_to_utf8(d);
		if (!svc->default_instance)
			return -ENOMEM;
		snprintf(sub, sizeof(sub), "%s\\%s", roots[r], svc->default_instance);
		a = find_value(svc, sub, "Altitude");
		if (!a || (a->type != FM_REG_SZ && a->type != FM_REG_EXPAND_SZ))
			return fail(f, "the default instance \"%s\" has no Altitude",
				    svc->default_instance);
		svc->altitude = utf16_value_to_utf8(a);
		if (!svc->altitude)
			return -ENOMEM;
		fl = find_value(svc, sub, "Flags");
		if (fl && fl->type == FM_REG_DWORD && fl->len == 4)
			svc->flags = fl->data[0] | (uint32_t)fl->data[1] << 8 |
				     (uint32_t)fl->data[2] << 16 | (uint32_t)fl->data[3] << 24;
		return 0;
	}
	return fail(f, "no HKR Instances\\DefaultInstance value: the INF defines no default "
		       "instance");
}

/*
 * The service-install section's own directives become values of the service key, as the
 * service control manager stores them (StartType -> Start, LoadOrderGroup -> Group, ...).
 */
static int service_values(struct inf *f, struct section *inst, struct fm_inf_service *out,
			  struct fieldset *fs)
{
	static const struct {
		const char *directive, *value;
		uint32_t type;
	} map[] = {
	    {"ServiceType", "Type", FM_REG_DWORD},
	    {"StartType", "Start", FM_REG_DWORD},
	    {"ErrorControl", "ErrorControl", FM_REG_DWORD},
	    {"LoadOrderGroup", "Group", FM_REG_SZ},
	    {"Dependencies", "DependOnService", FM_REG_MULTI_SZ},
	    {"DisplayName", "DisplayName", FM_REG_SZ},
	    {"Description", "Description", FM_REG_SZ},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		void *data = NULL;
		size_t len = 0;
		int n = directive(f, inst, map[i].directive, fs, 0), rc;

		if (n < 0)
			return n;
		if (n == 0)
			continue;
		rc = fm_reg_encode(map[i].type, (const char *const *)fs->v,
				   map[i].type == FM_REG_MULTI_SZ ? (size_t)n : 1, &data, &len);
		if (rc)
			return rc == -ENOMEM
				   ? rc
				   : fail(f, "[%s]: bad %s value", inst->name, map[i].directive);
		rc = add_value(f, out, "", map[i].value, map[i].type, data, len);
		if (rc) {
			fm_free(data);
			return rc;
		}
	}
	return 0;
}

/* The section holding the AddService directive, NULL if none (-errno in *rc). */
static struct section *services_section(struct inf *f, struct fieldset *fs, int *rc)
{
	static const char *const svc_sections[] = {
	    "DefaultInstall.NTamd64.Services", "DefaultInstall.NTarm64.Services",
	    "DefaultInstall.NT.Services", "DefaultInstall.Services"};

	*rc = 0;
	for (size_t i = 0; i < 4; i++) {
		struct section *ss = find_section(f, svc_sections[i]);

		if (ss && (*rc = directive(f, ss, "AddService", fs, 1)) != 0)
			return *rc > 0 ? ss : NULL;
	}
	for (size_t i = 0; i < f->n; i++) {
		size_t l = strlen(f->secs[i].name);

		if (l > 9 && strcasecmp(f->secs[i].name + l - 9, ".Services") == 0 &&
		    (*rc = directive(f, &f->secs[i], "AddService", fs, 1)) != 0)
			return *rc > 0 ? &f->secs[i] : NULL;
	}
	return NULL;
}

int fm_inf_parse(const char *text, struct fm_inf_service *out, char *err, size_t errcap)
{
	struct inf f = {.err = err, .errcap = errcap};
	struct fieldset fs = {0}, lfs = {0};
	struct section *ss, *inst;
	char *copy = fm_strdup(text);
	int n, rc;

	memset(out, 0, sizeof(*out));
	if (!copy)
		return -ENOMEM;
	rc = split_sections(&f, copy);
	if (rc == 0)
		rc = index_strings(&f);
	if (rc)
		goto done;
	ss = services_section(&f, &fs, &rc);
	if (!ss) {
		if (rc == 0)
			rc = fail(&f, "no AddService directive in a [*.Services] section");
		goto done;
	}
	n = directive(&f, ss, "AddService", &fs, 3);
	if (n < 0 || n < 3 || !fs.v[0][0]) {
		rc = n < 0 ? n : fail(&f, "[%s]: AddService needs name,flags,section", ss->name);
		goto done;
	}
	inst = find_section(&f, fs.v[2]);
	if (!inst) {
		rc = fail(&f, "no service-install section [%s]", fs.v[2]);
		goto done;
	}
	out->name = fm_strdup(fs.v[0]);
	if (!out->name) {
		rc = -ENOMEM;
		goto done;
	}
	n = directive(&f, inst, "ServiceBinary", &fs, 1);
	if (n > 0) {
		out->binary = fm_strdup(fs.v[0]);
		if (!out->binary) {
			rc = -ENOMEM;
			goto done;
		}
	} else if (n < 0) {
		rc = n;
		goto done;
	}
	rc = service_values(&f, inst, out, &fs);
	if (rc)
		goto done;
	n = directive(&f, inst, "AddReg", &fs, 0);
	if (n < 0) {
		rc = n;
		goto done;
	}
	if (n > ADDREG_SECTIONS_MAX) {
		rc = fail(&f, "[%s]: AddReg names more than %d sections", inst->name,
			  ADDREG_SECTIONS_MAX);
		goto done;
	}
	for (int i = 0; i < n && rc == 0; i++) {
		struct section *ar = find_section(&f, fs.v[i]);

		if (!ar) {
			rc = fail(&f, "no AddReg section [%s]", fs.v[i]);
			break;
		}
		for (size_t j = 0; j < ar->n && rc == 0; j++)
			rc = addreg_line(&f, out, &ar->lines[j], &lfs);
	}
	if (rc == 0)
		rc = find_instances(&f, out);
done:
	fieldset_free(&fs);
	fieldset_free(&lfs);
	for (size_t i = 0; i < f.n; i++)
		fm_free(f.secs[i].lines);
	fm_free(f.secs);
	fm_free(f.sec_map.slots);
	fm_free(f.str_map.slots);
	fm_free(f.strs);
	fm_free(f.str_text);
	fm_free(copy);
	if (rc)
		fm_inf_free(out);
	return rc;
}

void fm_inf_free(struct fm_inf_service *s)
{
	for (size_t i = 0; i < s->nvalues; i++) {
		fm_free(s->values[i].subkey);
		fm_free(s->values[i].name);
		fm_free(s->values[i].data);
	}
	fm_free(s->values);
	fm_free(s->name);
	fm_free(s->binary);
	fm_free(s->default_instance);
	fm_free(s->altitude);
	memset(s, 0, sizeof(*s));
}
