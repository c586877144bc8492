/* A minifilter INF reader for `fltmc install`: sections, %strings%, AddService and AddReg. */
#include "cli/inf.h"

#include "common/alloc.h"
#include "core/registry.h"

#include <errno.h>
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

#define MAX_FIELDS 64

struct line {
	char *text; /* comment removed, trimmed, continuation lines joined */
	unsigned int lineno;
};

struct section {
	char *name;
	struct line *lines;
	size_t n, cap;
};

struct inf {
	struct section *secs;
	size_t n, cap;
	char *err;
	size_t errcap;
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

static struct section *find_section(struct inf *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcasecmp(f->secs[i].name, name) == 0)
			return &f->secs[i];
	return NULL;
}

static int split_sections(struct inf *f, char *text)
{
	struct section *cur = NULL;
	unsigned int lineno = 0;
	char *save = NULL, *raw;

	for (raw = text; raw; raw = save) {
		char *nl = strchr(raw, '\n'), *s;
		unsigned int first = ++lineno;

		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		strip_comment(raw);
		s = trim(raw);
		/* A trailing backslash continues the line on the next one. */
		while (*s && s[strlen(s) - 1] == '\\' && save) {
			char *next = save, *nl2 = strchr(next, '\n');
			size_t l = strlen(s);

			save = nl2 ? nl2 + 1 : NULL;
			if (nl2)
				*nl2 = '\0';
			lineno++;
			strip_comment(next);
			next = trim(next);
			s[l - 1] = '\0';
			/* The joined text is at most as long as both pieces: move it in place. */
			memmove(s + l - 1, next, strlen(next) + 1);
		}
		if (!*s)
			continue;
		if (*s == '[') {
			char *e = strchr(s, ']');

			if (!e)
				return fail(f, "line %u: unterminated section name", first);
			*e = '\0';
			cur = find_section(f, trim(s + 1));
			if (!cur) {
				if (f->n == f->cap) {
					size_t nc = f->cap ? f->cap * 2 : 16;
					struct section *ns = fm_realloc(f->secs, nc * sizeof(*ns));

					if (!ns)
						return -ENOMEM;
					f->secs = ns;
					f->cap = nc;
				}
				cur = &f->secs[f->n++];
				memset(cur, 0, sizeof(*cur));
				cur->name = trim(s + 1);
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

/* "key = value" -> key (trimmed, in place) and value; NULL value if there is no '='. */
static char *split_key(char *s, char **value)
{
	bool q = false;

	for (char *p = s; *p; p++) {
		if (*p == '"')
			q = !q;
		else if (*p == '=' && !q) {
			*p = '\0';
			*value = trim(p + 1);
			return trim(s);
		}
	}
	*value = NULL;
	return s;
}

/* The [Strings] value of `key`, unquoted, or NULL. */
static const char *string_value(struct inf *f, const char *key, size_t klen, char *buf, size_t cap)
{
	struct section *s = find_section(f, "Strings");

	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		const char *t = s->lines[i].text, *eq = strchr(t, '=');
		size_t kl, o = 0;
		const char *v;

		if (!eq)
			continue;
		kl = (size_t)(eq - t);
		while (kl && (t[kl - 1] == ' ' || t[kl - 1] == '\t'))
			kl--;
		if (kl != klen || strncasecmp(t, key, klen) != 0)
			continue;
		v = eq + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v == '"') {
			/* A quoted value: "" inside stands for one quote. */
			for (v++; *v && o + 1 < cap; v++) {
				if (*v == '"' && v[1] != '"')
					break;
				if (*v == '"')
					v++;
				buf[o++] = *v;
			}
		} else {
			for (; *v && o + 1 < cap; v++)
				buf[o++] = *v;
			while (o && (buf[o - 1] == ' ' || buf[o - 1] == '\t'))
				o--;
		}
		buf[o] = '\0';
		return buf;
	}
	return NULL;
}

/*
 * Split a line's value part into comma-separated fields, unquoting ("" inside quotes is a
 * quote) and replacing %strkey% (%% is a percent sign; unknown keys such as %12% stay).
 * Fields are fm_malloc'ed into out[]; returns their count or -errno.
 */
static int fields(struct inf *f, const char *s, char **out, int max)
{
	int n = 0;

	for (;;) {
		size_t cap = strlen(s) * 4 + 512, o = 0;
		char *buf = fm_malloc(cap);
		bool q = false;

		if (!buf)
			goto nomem;
		while (*s == ' ' || *s == '\t')
			s++;
		for (; *s && (q || *s != ','); s++) {
			if (*s == '"') {
				if (q && s[1] == '"') {
					buf[o++] = '"';
					s++;
				} else {
					q = !q;
				}
				continue;
			}
			if (*s == '%') {
				const char *e = strchr(s + 1, '%');
				char val[512];
				const char *v;

				if (e == s + 1) {
					buf[o++] = '%';
					s++;
					continue;
				}
				v = e ? string_value(f, s + 1, (size_t)(e - s - 1), val,
						     sizeof(val))
				      : NULL;
				if (v && o + strlen(v) + 1 < cap) {
					memcpy(buf + o, v, strlen(v));
					o += strlen(v);
					s = e;
					continue;
				}
			}
			if (o + 1 < cap)
				buf[o++] = *s;
		}
		while (!q && o && (buf[o - 1] == ' ' || buf[o - 1] == '\t'))
			o--;
		buf[o] = '\0';
		if (n == max) {
			fm_free(buf);
			break;
		}
		out[n++] = buf;
		if (*s != ',')
			break;
		s++;
	}
	return n;
nomem:
	while (n)
		fm_free(out[--n]);
	return -ENOMEM;
}

static void free_fields(char **v, int n)
{
	while (n > 0)
		fm_free(v[--n]);
}

/* The first directive `key` of a section, its fields in out[]. */
static int directive(struct inf *f, struct section *s, const char *key, char **out, int max)
{
	for (size_t i = 0; s && i < s->n; i++) {
		char *copy = fm_strdup(s->lines[i].text), *val, *k;
		int n;

		if (!copy)
			return -ENOMEM;
		k = split_key(copy, &val);
		if (val && strcasecmp(k, key) == 0) {
			n = fields(f, val, out, max);
			fm_free(copy);
			return n;
		}
		fm_free(copy);
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

static int add_value(struct fm_inf_service *svc, const char *subkey, const char *name,
		     uint32_t type, void *data, size_t len)
{
	struct fm_inf_value *nv = fm_realloc(svc->values, (svc->nvalues + 1) * sizeof(*nv));
	struct fm_inf_value *v;

	if (!nv)
		return -ENOMEM;
	svc->values = nv;
	v = &nv[svc->nvalues];
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

/* One AddReg line: reg-root, subkey, value-entry-name, flags, value... */
static int addreg_line(struct inf *f, struct fm_inf_service *svc, const struct line *ln)
{
	char *fv[MAX_FIELDS];
	unsigned long long flags = 0, num;
	void *data = NULL;
	size_t len = 0;
	uint32_t type;
	int n = fields(f, ln->text, fv, MAX_FIELDS), rc = 0;

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
		for (size_t i = 0; rc == 0 && i < len; i++) {
			char hex[8];

			snprintf(hex, sizeof(hex), "0x%s", fv[4 + i]);
			if (parse_number(hex, 0xff, &num))
				rc = -EINVAL;
			else
				((uint8_t *)data)[i] = (uint8_t)num;
		}
	}
	if (rc == -EINVAL) {
		rc = fail(f, "line %u: bad value for %s \"%s\"", ln->lineno, fm_reg_type_name(type),
			  fv[2]);
	} else if (rc == 0) {
		rc = add_value(svc, fv[1], fv[2], type, data, len);
		if (rc == 0)
			data = NULL;
	}
out:
	fm_free(data);
	free_fields(fv, n);
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
static int service_values(struct inf *f, struct section *inst, struct fm_inf_service *out)
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
	char *fv[MAX_FIELDS];

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		void *data = NULL;
		size_t len = 0;
		int n = directive(f, inst, map[i].directive, fv, MAX_FIELDS), rc;

		if (n < 0)
			return n;
		if (n == 0)
			continue;
		rc = fm_reg_encode(map[i].type, (const char *const *)fv,
				   map[i].type == FM_REG_MULTI_SZ ? (size_t)n : 1, &data, &len);
		free_fields(fv, n);
		if (rc)
			return rc == -ENOMEM
				   ? rc
				   : fail(f, "[%s]: bad %s value", inst->name, map[i].directive);
		rc = add_value(out, "", map[i].value, map[i].type, data, len);
		if (rc) {
			fm_free(data);
			return rc;
		}
	}
	return 0;
}

int fm_inf_parse(const char *text, struct fm_inf_service *out, char *err, size_t errcap)
{
	static const char *const svc_sections[] = {
	    "DefaultInstall.NTamd64.Services", "DefaultInstall.NTarm64.Services",
	    "DefaultInstall.NT.Services", "DefaultInstall.Services"};
	struct inf f = {.err = err, .errcap = errcap};
	struct section *ss = NULL, *inst;
	char *copy = fm_strdup(text);
	char *fv[MAX_FIELDS];
	int n, rc;

	memset(out, 0, sizeof(*out));
	if (!copy)
		return -ENOMEM;
	rc = split_sections(&f, copy);
	if (rc)
		goto done;
	for (size_t i = 0; i < 4 && !ss; i++) {
		ss = find_section(&f, svc_sections[i]);
		if (ss && directive(&f, ss, "AddService", fv, 1) <= 0)
			ss = NULL;
		else if (ss)
			free_fields(fv, 1);
	}
	for (size_t i = 0; i < f.n && !ss; i++) {
		size_t l = strlen(f.secs[i].name);

		if (l > 9 && strcasecmp(f.secs[i].name + l - 9, ".Services") == 0) {
			n = directive(&f, &f.secs[i], "AddService", fv, 1);
			if (n > 0) {
				ss = &f.secs[i];
				free_fields(fv, n);
			}
		}
	}
	if (!ss) {
		rc = fail(&f, "no AddService directive in a [*.Services] section");
		goto done;
	}
	n = directive(&f, ss, "AddService", fv, MAX_FIELDS);
	if (n < 0 || n < 3 || !fv[0][0]) {
		if (n > 0)
			free_fields(fv, n);
		rc = n < 0 ? n : fail(&f, "[%s]: AddService needs name,flags,section", ss->name);
		goto done;
	}
	out->name = fm_strdup(fv[0]);
	inst = find_section(&f, fv[2]);
	if (!inst) {
		rc = fail(&f, "no service-install section [%s]", fv[2]);
		free_fields(fv, n);
		goto done;
	}
	free_fields(fv, n);
	if (!out->name) {
		rc = -ENOMEM;
		goto done;
	}
	n = directive(&f, inst, "ServiceBinary", fv, 1);
	if (n > 0) {
		out->binary = fm_strdup(fv[0]);
		free_fields(fv, n);
		if (!out->binary) {
			rc = -ENOMEM;
			goto done;
		}
	}
	rc = service_values(&f, inst, out);
	if (rc)
		goto done;
	n = directive(&f, inst, "AddReg", fv, MAX_FIELDS);
	if (n < 0) {
		rc = n;
		goto done;
	}
	for (int i = 0; i < n && rc == 0; i++) {
		struct section *ar = find_section(&f, fv[i]);

		if (!ar) {
			rc = fail(&f, "no AddReg section [%s]", fv[i]);
			break;
		}
		for (size_t j = 0; j < ar->n && rc == 0; j++)
			rc = addreg_line(&f, out, &ar->lines[j]);
	}
	free_fields(fv, n);
	if (rc == 0)
		rc = find_instances(&f, out);
done:
	for (size_t i = 0; i < f.n; i++)
		fm_free(f.secs[i].lines);
	fm_free(f.secs);
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
