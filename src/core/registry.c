/* The service registry: an in-memory key tree with Windows value layouts, saved as a text file. */
#include "core/registry.h"

#include "common/alloc.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_NAME_MAX 255
#define VALUE_NAME_MAX 16383
#define VALUE_DATA_MAX (4u << 20)
/* Windows allows 512 levels; the bound also keeps the recursive walks' stack use small. */
#define KEY_DEPTH_MAX 512

struct value {
	char *name;
	uint32_t type;
	size_t len;
	uint8_t *data;
};

/*
 * A key is both a tree node and what a handle points to: `refs` counts open handles.  A key
 * that is deleted while handles are open is unlinked, emptied and marked dead; the last
 * fm_reg_close frees it.  All fields are guarded by reg_lock.
 */
struct fm_regkey {
	char *name;
	struct fm_regkey *parent;
	struct fm_regkey **kids; /* sorted case-insensitively, as Windows enumerates */
	size_t nkids, kcap;
	struct value *vals; /* in insertion order */
	size_t nvals, vcap;
	unsigned int refs;
	unsigned int depth; /* 0 for the root */
	bool dead;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fm_regkey *reg_root; /* guarded by reg_lock; NULL before fm_reg_init */
static char *reg_file;		   /* guarded by reg_lock */

/* ---- UTF-8 <-> UTF-16 ------------------------------------------------------------------- */

/* Decode one strict UTF-8 sequence; returns its length or -EINVAL. */
static int utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c = s[0];
	int n;
	uint32_t min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return -EINVAL;
	}
	if ((size_t)n > len)
		return -EINVAL;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -EINVAL;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -EINVAL;
	*cp = c;
	return n;
}

/*
 * UTF-8 (len bytes, no NUL inside) to UTF-16 code units.  out may be NULL to count.
 * Returns the number of units, -EINVAL for bad UTF-8 or an embedded NUL, -ENOSPC.
 */
static long utf8_to_utf16(const char *in, size_t len, uint16_t *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, n = 0;

	while (i < len) {
		uint32_t cp;
		int k = utf8_decode(s + i, len - i, &cp);

		if (k < 0 || cp == 0)
			return -EINVAL;
		i += (size_t)k;
		if (cp >= 0x10000) {
			if (out) {
				if (n + 2 > cap)
					return -ENOSPC;
				cp -= 0x10000;
				out[n] = (uint16_t)(0xd800 | (cp >> 10));
				out[n + 1] = (uint16_t)(0xdc00 | (cp & 0x3ff));
			}
			n += 2;
		} else {
			if (out) {
				if (n + 1 > cap)
					return -ENOSPC;
				out[n] = (uint16_t)cp;
			}
			n++;
		}
	}
	return (long)n;
}

/*
 * UTF-16 units (stored little-endian in `in`, n units, no NUL inside) to UTF-8 into out
 * (may be NULL to count).  Returns bytes written, -EINVAL on an unpaired surrogate, -ENOSPC.
 */
static long utf16le_to_utf8(const uint8_t *in, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t c = (uint32_t)in[2 * i] | ((uint32_t)in[2 * i + 1] << 8);
		unsigned char buf[4];
		size_t k;

		if (c == 0)
			return -EINVAL;
		if (c >= 0xd800 && c <= 0xdbff) {
			uint32_t lo;

			if (i + 1 >= n)
				return -EINVAL;
			lo = (uint32_t)in[2 * i + 2] | ((uint32_t)in[2 * i + 3] << 8);
			if (lo < 0xdc00 || lo > 0xdfff)
				return -EINVAL;
			c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
			i++;
		} else if (c >= 0xdc00 && c <= 0xdfff) {
			return -EINVAL;
		}
		if (c < 0x80) {
			buf[0] = (unsigned char)c;
			k = 1;
		} else if (c < 0x800) {
			buf[0] = (unsigned char)(0xc0 | (c >> 6));
			buf[1] = (unsigned char)(0x80 | (c & 0x3f));
			k = 2;
		} else if (c < 0x10000) {
			buf[0] = (unsigned char)(0xe0 | (c >> 12));
			buf[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
			buf[2] = (unsigned char)(0x80 | (c & 0x3f));
			k = 3;
		} else {
			buf[0] = (unsigned char)(0xf0 | (c >> 18));
			buf[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
			buf[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
			buf[3] = (unsigned char)(0x80 | (c & 0x3f));
			k = 4;
		}
		if (out) {
			if (o + k > cap)
				return -ENOSPC;
			memcpy(out + o, buf, k);
		}
		o += k;
	}
	return (long)o;
}

static uint16_t unit_at(const uint8_t *d, size_t i)
{
	return (uint16_t)(d[2 * i] | (d[2 * i + 1] << 8));
}

/*
 * Encode a list of UTF-8 strings as REG_SZ (one string: text + NUL) or REG_MULTI_SZ (each
 * string + NUL, then a final NUL).  The buffer is allocated with fm_malloc.
 */
static int encode_strings(const char *const *strs, size_t n, bool multi, uint8_t **out,
			  size_t *outlen)
{
	size_t units = multi ? 1 : 0;
	uint16_t *tmp;
	uint8_t *buf;
	size_t pos = 0;

	for (size_t i = 0; i < n; i++) {
		long k = utf8_to_utf16(strs[i], strlen(strs[i]), NULL, 0);

		if (k < 0)
			return (int)k;
		if (multi && k == 0)
			return -EINVAL; /* an empty string would end the list early */
		units += (size_t)k + 1;
		if (units * 2 > VALUE_DATA_MAX)
			return -E2BIG;
	}
	tmp = fm_malloc(units * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		long k = utf8_to_utf16(strs[i], strlen(strs[i]), tmp + pos, units - pos);

		pos += (size_t)k;
		tmp[pos++] = 0;
	}
	if (multi)
		tmp[pos++] = 0;
	buf = fm_malloc(units * 2);
	if (!buf) {
		fm_free(tmp);
		return -ENOMEM;
	}
	for (size_t i = 0; i < units; i++) {
		buf[2 * i] = (uint8_t)(tmp[i] & 0xff);
		buf[2 * i + 1] = (uint8_t)(tmp[i] >> 8);
	}
	fm_free(tmp);
	*out = buf;
	*outlen = units * 2;
	return 0;
}

/* ---- Names and tree ----------------------------------------------------------------------- */

static int ci_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;

	for (size_t i = 0; i < n; i++) {
		/* ASCII folding only: multi-byte UTF-8 compares byte-exact (docs/registry.md). */
		int ca = (unsigned char)a[i], cb = (unsigned char)b[i];

		if (ca >= 'a' && ca <= 'z')
			ca -= 32;
		if (cb >= 'a' && cb <= 'z')
			cb -= 32;
		if (ca != cb)
			return ca - cb;
	}
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static bool valid_component(const char *s, size_t len)
{
	if (len == 0 || len > KEY_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '\\')
			return false;
	}
	return true;
}

static bool valid_value_name(const char *name)
{
	return name && strlen(name) <= VALUE_NAME_MAX;
}

/* Index of kid `name`, or -1 with *pos = where it would be inserted. */
static long find_kid(const struct fm_regkey *k, const char *name, size_t len, size_t *pos)
{
	size_t lo = 0, hi = k->nkids;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *kn = k->kids[mid]->name;
		int c = ci_cmp(name, len, kn, strlen(kn));

		if (c == 0)
			return (long)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (pos)
		*pos = lo;
	return -1;
}

static struct fm_regkey *key_new(const char *name, size_t len)
{
	struct fm_regkey *k = fm_calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->name = fm_strndup(name, len);
	if (!k->name) {
		fm_free(k);
		return NULL;
	}
	return k;
}

static void values_free(struct fm_regkey *k)
{
	for (size_t i = 0; i < k->nvals; i++) {
		fm_free(k->vals[i].name);
		fm_free(k->vals[i].data);
	}
	fm_free(k->vals);
	k->vals = NULL;
	k->nvals = k->vcap = 0;
}

/* Empty a subtree and mark it dead; keys nobody holds are freed now, others at close. */
static void key_kill(struct fm_regkey *k)
{
	for (size_t i = 0; i < k->nkids; i++)
		key_kill(k->kids[i]);
	fm_free(k->kids);
	k->kids = NULL;
	k->nkids = k->kcap = 0;
	values_free(k);
	k->dead = true;
	k->parent = NULL;
	if (k->refs == 0) {
		fm_free(k->name);
		fm_free(k);
	}
}

static int add_kid(struct fm_regkey *p, size_t pos, struct fm_regkey *kid)
{
	if (p->nkids == p->kcap) {
		size_t ncap = p->kcap ? p->kcap * 2 : 4;
		struct fm_regkey **nk = fm_realloc(p->kids, ncap * sizeof(*nk));

		if (!nk)
			return -ENOMEM;
		p->kids = nk;
		p->kcap = ncap;
	}
	memmove(p->kids + pos + 1, p->kids + pos, (p->nkids - pos) * sizeof(*p->kids));
	p->kids[pos] = kid;
	p->nkids++;
	kid->parent = p;
	return 0;
}

/*
 * A new subkey of `k` named p[0..len), at kids[pos]; NULL with *rc set (-EINVAL past the
 * depth limit, -ENOMEM) when it cannot be made.
 */
static struct fm_regkey *make_kid(struct fm_regkey *k, size_t pos, const char *p, size_t len,
				  int *rc)
{
	struct fm_regkey *n;

	if (k->depth + 1 > KEY_DEPTH_MAX) {
		*rc = -EINVAL;
		return NULL;
	}
	n = key_new(p, len);
	if (!n) {
		*rc = -ENOMEM;
		return NULL;
	}
	n->depth = k->depth + 1;
	*rc = add_kid(k, pos, n);
	if (*rc) {
		fm_free(n->name);
		fm_free(n);
		return NULL;
	}
	return n;
}

/*
 * Walk `path` (components separated by backslashes, no empty component) from `start`.  With
 * `create`, missing keys are made.  Caller holds reg_lock.
 */
static int walk(struct fm_regkey *start, const char *path, bool create, struct fm_regkey **out)
{
	struct fm_regkey *k = start;
	const char *p = path;

	if (!k || k->dead)
		return -ENOENT;
	while (*p) {
		const char *e = strchr(p, '\\');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		size_t pos;
		long i;

		if (!valid_component(p, len))
			return -EINVAL;
		i = find_kid(k, p, len, &pos);
		if (i >= 0) {
			k = k->kids[i];
		} else if (!create) {
			return -ENOENT;
		} else {
			int rc;

			k = make_kid(k, pos, p, len, &rc);
			if (!k)
				return rc;
		}
		if (!e)
			break;
		p = e + 1;
		if (!*p)
			return -EINVAL; /* trailing backslash */
	}
	*out = k;
	return 0;
}

static struct value *find_value(struct fm_regkey *k, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < k->nvals; i++)
		if (ci_cmp(k->vals[i].name, strlen(k->vals[i].name), name, len) == 0)
			return &k->vals[i];
	return NULL;
}

/* Add a value that is not there yet, taking ownership of `data` on success. */
static int append_value(struct fm_regkey *k, const char *name, uint32_t type, uint8_t *data,
			size_t len)
{
	struct value *v;

	if (k->nvals == k->vcap) {
		size_t ncap = k->vcap ? k->vcap * 2 : 4;
		struct value *nv = fm_realloc(k->vals, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		k->vals = nv;
		k->vcap = ncap;
	}
	v = &k->vals[k->nvals];
	v->name = fm_strdup(name);
	if (!v->name)
		return -ENOMEM;
	v->type = type;
	v->data = data;
	v->len = len;
	k->nvals++;
	return 0;
}

/* Store a value, taking ownership of `data` (fm_malloc'ed) on success.  Caller holds reg_lock. */
static int put_value(struct fm_regkey *k, const char *name, uint32_t type, uint8_t *data,
		     size_t len)
{
	struct value *v = find_value(k, name);

	if (v) {
		fm_free(v->data);
		v->type = type;
		v->data = data;
		v->len = len;
		return 0;
	}
	return append_value(k, name, type, data, len);
}

/* ---- Public API: keys -------------------------------------------------------------------- */

int fm_reg_open(const char *path, int create, struct fm_regkey **out)
{
	struct fm_regkey *k;
	int rc;

	if (!path || !out || path[0] != '\\')
		return -EINVAL;
	pthread_mutex_lock(&reg_lock);
	if (!reg_root) {
		rc = -ENODEV;
	} else {
		rc = walk(reg_root, path + 1, create != 0, &k);
		if (rc == 0) {
			k->refs++;
			*out = k;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

int fm_reg_open_sub(struct fm_regkey *parent, const char *rel, int create, struct fm_regkey **out)
{
	struct fm_regkey *k;
	int rc;

	if (!parent || !rel || !out || rel[0] == '\\')
		return -EINVAL;
	pthread_mutex_lock(&reg_lock);
	rc = walk(parent, rel, create != 0, &k);
	if (rc == 0) {
		k->refs++;
		*out = k;
	}
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

void fm_reg_close(struct fm_regkey *key)
{
	if (!key)
		return;
	pthread_mutex_lock(&reg_lock);
	if (key->refs > 0)
		key->refs--;
	if (key->dead && key->refs == 0) {
		fm_free(key->name);
		fm_free(key);
	}
	pthread_mutex_unlock(&reg_lock);
}

int fm_reg_delete_key(struct fm_regkey *key)
{
	struct fm_regkey *p;
	long i;
	int rc = 0;

	if (!key)
		return -EINVAL;
	pthread_mutex_lock(&reg_lock);
	p = key->parent;
	if (key->dead) {
		rc = -ENOENT;
	} else if (!p) {
		rc = -EINVAL; /* the root cannot be deleted */
	} else {
		i = find_kid(p, key->name, strlen(key->name), NULL);
		if (i >= 0) {
			memmove(p->kids + i, p->kids + i + 1,
				(p->nkids - (size_t)i - 1) * sizeof(*p->kids));
			p->nkids--;
		}
		/* The caller's handle keeps the key allocated until fm_reg_close. */
		key_kill(key);
	}
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

int fm_reg_key_name(struct fm_regkey *key, char *buf, size_t cap)
{
	int rc = 0;

	if (!key || !buf)
		return -EINVAL;
	pthread_mutex_lock(&reg_lock);
	if (key->dead)
		rc = -ENOENT;
	else if (strlen(key->name) + 1 > cap)
		rc = -ENOSPC;
	else
		strcpy(buf, key->name);
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

/* Full path of k into buf; returns the length or -ENOSPC.  Caller holds reg_lock. */
static long key_path_locked(const struct fm_regkey *k, char *buf, size_t cap)
{
	size_t len = 0, pos;
	const struct fm_regkey *i;

	if (!k->parent) {
		if (cap < 2)
			return -ENOSPC;
		strcpy(buf, "\\");
		return 1;
	}
	for (i = k; i->parent; i = i->parent)
		len += 1 + strlen(i->name);
	if (len + 1 > cap)
		return -ENOSPC;
	pos = len;
	buf[pos] = '\0';
	for (i = k; i->parent; i = i->parent) {
		size_t n = strlen(i->name);

		pos -= n;
		memcpy(buf + pos, i->name, n);
		buf[--pos] = '\\';
	}
	return (long)len;
}

int fm_reg_key_path(struct fm_regkey *key, char *buf, size_t cap)
{
	long rc;

	if (!key || !buf)
		return -EINVAL;
	pthread_mutex_lock(&reg_lock);
	rc = key->dead ? -ENOENT : key_path_locked(key, buf, cap);
	pthread_mutex_unlock(&reg_lock);
	return rc < 0 ? (int)rc : 0;
}

/* ---- Public API: values ------------------------------------------------------------------ */

int fm_reg_get_value(struct fm_regkey *key, const char *name, uint32_t *type, void *buf,
		     size_t *len)
{
	struct value *v;
	int rc = 0;

	if (!key || !name || !len)
		return -EINVAL;
	pthread_mutex_lock(&reg_lock);
	v = key->dead ? NULL : find_value(key, name);
	if (!v) {
		rc = -ENOENT;
		goto out;
	}
	if (type)
		*type = v->type;
	if (*len < v->len || (!buf && v->len)) {
		*len = v->len;
		rc = -ENOSPC;
		goto out;
	}
	if (v->len)
		memcpy(buf, v->data, v->len);
	*len = v->len;
out:
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

int fm_reg_set_value(struct fm_regkey *key, const char *name, uint32_t type, const void *data,
		     size_t len)
{
	uint8_t *copy = NULL;
	int rc;

	if (!key || !valid_value_name(name) || (len && !data))
		return -EINVAL;
	if (len > VALUE_DATA_MAX)
		return -E2BIG;
	if (len) {
		copy = fm_malloc(len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, data, len);
	}
	pthread_mutex_lock(&reg_lock);
	rc = key->dead ? -ENOENT : put_value(key, name, type, copy, len);
	pthread_mutex_unlock(&reg_lock);
	if (rc)
		fm_free(copy);
	return rc;
}

int fm_reg_delete_value(struct fm_regkey *key, const char *name)
{
	struct value *v;
	int rc = 0;

	if (!key || !name)
		return -EINVAL;
	pthread_mutex_lock(&reg_lock);
	v = key->dead ? NULL : find_value(key, name);
	if (!v) {
		rc = -ENOENT;
	} else {
		size_t i = (size_t)(v - key->vals);

		fm_free(v->name);
		fm_free(v->data);
		memmove(key->vals + i, key->vals + i + 1, (key->nvals - i - 1) * sizeof(*v));
		key->nvals--;
	}
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

int fm_reg_enum_key(struct fm_regkey *key, unsigned int index, char *name, size_t cap)
{
	int rc = 0;

	if (!key || !name)
		return -EINVAL;
	pthread_mutex_lock(&reg_lock);
	if (key->dead || index >= key->nkids)
		rc = -ENOENT;
	else if (strlen(key->kids[index]->name) + 1 > cap)
		rc = -ENOSPC;
	else
		strcpy(name, key->kids[index]->name);
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

int fm_reg_enum_value(struct fm_regkey *key, unsigned int index, char *name, size_t cap,
		      uint32_t *type, void *buf, size_t *len)
{
	struct value *v;
	int rc = 0;

	if (!key || !name)
		return -EINVAL;
	pthread_mutex_lock(&reg_lock);
	if (key->dead || index >= key->nvals) {
		rc = -ENOENT;
		goto out;
	}
	v = &key->vals[index];
	if (strlen(v->name) + 1 > cap) {
		rc = -ENOSPC;
		goto out;
	}
	strcpy(name, v->name);
	if (type)
		*type = v->type;
	if (len) {
		if (*len < v->len || (!buf && v->len)) {
			*len = v->len;
			rc = -ENOSPC;
			goto out;
		}
		if (v->len)
			memcpy(buf, v->data, v->len);
		*len = v->len;
	}
out:
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

/* ---- Conveniences ------------------------------------------------------------------------ */

/* Copy a value's data out under the lock; *data is fm_malloc'ed (NULL when empty). */
static int fetch(struct fm_regkey *key, const char *name, uint32_t *type, uint8_t **data,
		 size_t *len)
{
	struct value *v;
	int rc = 0;

	if (!key || !name)
		return -EINVAL;
	*data = NULL;
	pthread_mutex_lock(&reg_lock);
	v = key->dead ? NULL : find_value(key, name);
	if (!v) {
		rc = -ENOENT;
	} else {
		*type = v->type;
		*len = v->len;
		if (v->len) {
			*data = fm_malloc(v->len);
			if (!*data)
				rc = -ENOMEM;
			else
				memcpy(*data, v->data, v->len);
		}
	}
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

int fm_reg_get_string(struct fm_regkey *key, const char *name, char *buf, size_t cap)
{
	uint32_t type;
	uint8_t *d;
	size_t len, units;
	long n;
	int rc;

	if (!buf)
		return -EINVAL;
	rc = fetch(key, name, &type, &d, &len);
	if (rc)
		return rc;
	if ((type != FM_REG_SZ && type != FM_REG_EXPAND_SZ) || (len & 1)) {
		rc = -EINVAL;
		goto out;
	}
	/* As Windows readers do, the string ends at its first NUL (or at the end of the data). */
	for (units = 0; units < len / 2 && unit_at(d, units) != 0; units++)
		;
	n = utf16le_to_utf8(d, units, buf, cap ? cap - 1 : 0);
	if (n < 0 || cap == 0) {
		rc = cap == 0 ? -ENOSPC : (int)n;
		goto out;
	}
	buf[n] = '\0';
out:
	fm_free(d);
	return rc;
}

int fm_reg_set_string_type(struct fm_regkey *key, const char *name, uint32_t type, const char *utf8)
{
	uint8_t *data;
	size_t len;
	int rc;

	if (!key || !utf8 || (type != FM_REG_SZ && type != FM_REG_EXPAND_SZ) ||
	    !valid_value_name(name))
		return -EINVAL;
	rc = encode_strings(&utf8, 1, false, &data, &len);
	if (rc)
		return rc;
	pthread_mutex_lock(&reg_lock);
	rc = key->dead ? -ENOENT : put_value(key, name, type, data, len);
	pthread_mutex_unlock(&reg_lock);
	if (rc)
		fm_free(data);
	return rc;
}

int fm_reg_set_string(struct fm_regkey *key, const char *name, const char *utf8)
{
	return fm_reg_set_string_type(key, name, FM_REG_SZ, utf8);
}

int fm_reg_get_multi_sz(struct fm_regkey *key, const char *name, char *buf, size_t cap)
{
	uint32_t type;
	uint8_t *d;
	size_t len, i = 0, o = 0, units;
	int rc;

	if (!buf)
		return -EINVAL;
	rc = fetch(key, name, &type, &d, &len);
	if (rc)
		return rc;
	if (type != FM_REG_MULTI_SZ || (len & 1)) {
		rc = -EINVAL;
		goto out;
	}
	units = len / 2;
	while (i < units && unit_at(d, i) != 0) {
		size_t s = i;
		long n;

		while (i < units && unit_at(d, i) != 0)
			i++;
		n = utf16le_to_utf8(d + 2 * s, i - s, cap > o ? buf + o : NULL,
				    cap > o ? cap - o : 0);
		if (n < 0 || o + (size_t)n + 1 > cap) {
			rc = n < 0 && n != -ENOSPC ? (int)n : -ENOSPC;
			goto out;
		}
		o += (size_t)n;
		buf[o++] = '\0';
		i++; /* the string's terminator */
	}
	if (o + 1 > cap) {
		rc = -ENOSPC;
		goto out;
	}
	buf[o] = '\0';
out:
	fm_free(d);
	return rc;
}

int fm_reg_set_multi_sz(struct fm_regkey *key, const char *name, const char *const *strs, size_t n)
{
	uint8_t *data;
	size_t len;
	int rc;

	if (!key || (n && !strs) || !valid_value_name(name))
		return -EINVAL;
	rc = encode_strings(strs, n, true, &data, &len);
	if (rc)
		return rc;
	pthread_mutex_lock(&reg_lock);
	rc = key->dead ? -ENOENT : put_value(key, name, FM_REG_MULTI_SZ, data, len);
	pthread_mutex_unlock(&reg_lock);
	if (rc)
		fm_free(data);
	return rc;
}

static int get_le(struct fm_regkey *key, const char *name, uint32_t want, size_t size,
		  uint64_t *out)
{
	uint8_t d[8];
	size_t len = sizeof(d);
	uint32_t type;
	int rc = fm_reg_get_value(key, name, &type, d, &len);

	if (rc == -ENOSPC || (rc == 0 && (type != want || len != size)))
		return -EINVAL;
	if (rc)
		return rc;
	*out = 0;
	for (size_t i = 0; i < size; i++)
		*out |= (uint64_t)d[i] << (8 * i);
	return 0;
}

int fm_reg_get_dword(struct fm_regkey *key, const char *name, uint32_t *out)
{
	uint64_t v;
	int rc;

	if (!out)
		return -EINVAL;
	rc = get_le(key, name, FM_REG_DWORD, 4, &v);
	if (rc == 0)
		*out = (uint32_t)v;
	return rc;
}

int fm_reg_get_qword(struct fm_regkey *key, const char *name, uint64_t *out)
{
	if (!out)
		return -EINVAL;
	return get_le(key, name, FM_REG_QWORD, 8, out);
}

static int set_le(struct fm_regkey *key, const char *name, uint32_t type, size_t size, uint64_t v)
{
	uint8_t d[8];

	for (size_t i = 0; i < size; i++)
		d[i] = (uint8_t)(v >> (8 * i));
	return fm_reg_set_value(key, name, type, d, size);
}

int fm_reg_set_dword(struct fm_regkey *key, const char *name, uint32_t v)
{
	return set_le(key, name, FM_REG_DWORD, 4, v);
}

int fm_reg_set_qword(struct fm_regkey *key, const char *name, uint64_t v)
{
	return set_le(key, name, FM_REG_QWORD, 8, v);
}

/* ---- Text forms of types and values ----------------------------------------------------- */

static const struct {
	const char *name;
	uint32_t type;
} type_names[] = {
    {"sz", FM_REG_SZ},	       {"expand_sz", FM_REG_EXPAND_SZ}, {"multi_sz", FM_REG_MULTI_SZ},
    {"dword", FM_REG_DWORD},   {"qword", FM_REG_QWORD},		{"hex", FM_REG_BINARY},
    {"binary", FM_REG_BINARY},
};

int fm_reg_type_from_name(const char *name, uint32_t *type)
{
	if (!name || !type)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (strcmp(type_names[i].name, name) == 0) {
			*type = type_names[i].type;
			return 0;
		}
	}
	return -EINVAL;
}

const char *fm_reg_type_name(uint32_t type)
{
	switch (type) {
	case FM_REG_SZ:
		return "REG_SZ";
	case FM_REG_EXPAND_SZ:
		return "REG_EXPAND_SZ";
	case FM_REG_BINARY:
		return "REG_BINARY";
	case FM_REG_DWORD:
		return "REG_DWORD";
	case FM_REG_MULTI_SZ:
		return "REG_MULTI_SZ";
	case FM_REG_QWORD:
		return "REG_QWORD";
	case 0:
		return "REG_NONE";
	default:
		return "REG_?";
	}
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "01,02,ff" (commas optional between byte pairs) -> bytes.  *out is fm_malloc'ed. */
static int parse_hex_bytes(const char *s, size_t slen, uint8_t **out, size_t *outlen)
{
	uint8_t *buf;
	size_t n = 0;

	*out = NULL;
	*outlen = 0;
	if (slen == 0)
		return 0;
	if (slen / 2 > VALUE_DATA_MAX)
		return -E2BIG;
	buf = fm_malloc(slen / 2 + 1);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < slen;) {
		int hi, lo;

		if (i + 1 >= slen || (hi = hexval(s[i])) < 0 || (lo = hexval(s[i + 1])) < 0) {
			fm_free(buf);
			return -EINVAL;
		}
		buf[n++] = (uint8_t)(hi << 4 | lo);
		i += 2;
		if (i < slen && s[i] == ',') {
			i++;
			if (i == slen) {
				fm_free(buf);
				return -EINVAL;
			}
		}
	}
	*out = buf;
	*outlen = n;
	return 0;
}

static int parse_number(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int fm_reg_encode(uint32_t type, const char *const *argv, size_t argc, void **out, size_t *len)
{
	uint64_t v;
	uint8_t *buf;
	int rc;

	if (!out || !len || (argc && !argv))
		return -EINVAL;
	switch (type) {
	case FM_REG_SZ:
	case FM_REG_EXPAND_SZ:
		if (argc != 1)
			return -EINVAL;
		rc = encode_strings(argv, 1, false, &buf, len);
		break;
	case FM_REG_MULTI_SZ:
		rc = encode_strings(argv, argc, true, &buf, len);
		break;
	case FM_REG_DWORD:
	case FM_REG_QWORD:
		if (argc != 1)
			return -EINVAL;
		rc = parse_number(argv[0], type == FM_REG_DWORD ? UINT32_MAX : UINT64_MAX, &v);
		if (rc)
			return rc;
		*len = type == FM_REG_DWORD ? 4 : 8;
		buf = fm_malloc(*len);
		if (!buf)
			return -ENOMEM;
		for (size_t i = 0; i < *len; i++)
			buf[i] = (uint8_t)(v >> (8 * i));
		break;
	case FM_REG_BINARY:
		if (argc != 1)
			return -EINVAL;
		rc = parse_hex_bytes(argv[0], strlen(argv[0]), &buf, len);
		break;
	default:
		return -EINVAL;
	}
	if (rc == 0)
		*out = buf;
	return rc;
}

/* ---- Saving ---------------------------------------------------------------------------------- */

static void put_escaped(FILE *f, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\' || c == '"')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

/* Write units [s, e) of d (no NUL inside) as a quoted string; false if not valid UTF-16. */
static bool put_utf16_quoted(FILE *f, const uint8_t *d, size_t s, size_t e)
{
	long n = utf16le_to_utf8(d + 2 * s, e - s, NULL, 0);
	char *tmp;

	if (n < 0)
		return false;
	tmp = fm_malloc((size_t)n + 1);
	if (!tmp)
		return false;
	utf16le_to_utf8(d + 2 * s, e - s, tmp, (size_t)n);
	fputc('"', f);
	put_escaped(f, tmp, (size_t)n);
	fputc('"', f);
	fm_free(tmp);
	return true;
}

/* Exactly one trailing NUL, none inside, valid UTF-16: the canonical REG_SZ form. */
static bool sz_canonical(const uint8_t *d, size_t len)
{
	size_t units = len / 2;

	if ((len & 1) || units == 0 || unit_at(d, units - 1) != 0)
		return false;
	for (size_t i = 0; i + 1 < units; i++)
		if (unit_at(d, i) == 0)
			return false;
	return utf16le_to_utf8(d, units - 1, NULL, 0) >= 0;
}

/* Non-empty strings each NUL-terminated plus a final NUL (a lone NUL for an empty list). */
static bool multi_canonical(const uint8_t *d, size_t len)
{
	size_t units = len / 2, i = 0;

	if ((len & 1) || units == 0 || unit_at(d, units - 1) != 0)
		return false;
	while (i < units - 1) {
		size_t s = i;

		while (i < units - 1 && unit_at(d, i) != 0)
			i++;
		if (i == s || i == units - 1)
			return false;
		if (utf16le_to_utf8(d + 2 * s, i - s, NULL, 0) < 0)
			return false;
		i++;
	}
	return true;
}

static void put_value_line(FILE *f, const struct value *v)
{
	const uint8_t *d = v->data;
	size_t units = v->len / 2;

	fputc('"', f);
	put_escaped(f, v->name, strlen(v->name));
	fputs("\"=", f);
	if ((v->type == FM_REG_SZ || v->type == FM_REG_EXPAND_SZ) && sz_canonical(d, v->len)) {
		fputs(v->type == FM_REG_SZ ? "sz:" : "expand_sz:", f);
		put_utf16_quoted(f, d, 0, units - 1);
	} else if (v->type == FM_REG_MULTI_SZ && multi_canonical(d, v->len)) {
		size_t i = 0;

		fputs("multi_sz:", f);
		while (i < units - 1) {
			size_t s = i;

			while (unit_at(d, i) != 0)
				i++;
			if (s)
				fputc(',', f);
			put_utf16_quoted(f, d, s, i);
			i++;
		}
	} else if (v->type == FM_REG_DWORD && v->len == 4) {
		fprintf(f, "dword:0x%08" PRIx32,
			(uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 |
			    (uint32_t)d[3] << 24);
	} else if (v->type == FM_REG_QWORD && v->len == 8) {
		uint64_t q = 0;

		for (int i = 0; i < 8; i++)
			q |= (uint64_t)d[i] << (8 * i);
		fprintf(f, "qword:0x%016" PRIx64, q);
	} else {
		/* Anything else, including malformed strings, keeps its exact bytes. */
		if (v->type == FM_REG_BINARY)
			fputs("hex:", f);
		else
			fprintf(f, "hex(%" PRIx32 "):", v->type);
		for (size_t i = 0; i < v->len; i++)
			fprintf(f, i ? ",%02x" : "%02x", d[i]);
	}
	fputc('\n', f);
}

static void put_key(FILE *f, const struct fm_regkey *k, char *path, size_t plen)
{
	size_t n = strlen(k->name);

	/* path has room: components are at most KEY_NAME_MAX and depth is bounded by the caller. */
	path[plen] = '\\';
	memcpy(path + plen + 1, k->name, n);
	plen += 1 + n;
	path[plen] = '\0';
	/* A key with subkeys but no values is implied by its subkeys' sections. */
	if (k->nvals || !k->nkids)
		fprintf(f, "\n[%s]\n", path);
	for (size_t i = 0; i < k->nvals; i++)
		put_value_line(f, &k->vals[i]);
	for (size_t i = 0; i < k->nkids; i++)
		put_key(f, k->kids[i], path, plen);
	path[plen - 1 - n] = '\0';
}

static size_t tree_depth(const struct fm_regkey *k)
{
	size_t d = 0;

	for (size_t i = 0; i < k->nkids; i++) {
		size_t s = tree_depth(k->kids[i]);

		if (s > d)
			d = s;
	}
	return d + 1;
}

static int fsync_dir_of(const char *file)
{
	char *dir = fm_strdup(file);
	char *slash;
	int fd, rc = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	fm_free(dir);
	return rc;
}

int fm_reg_flush(void)
{
	char *tmp = NULL, *path = NULL;
	FILE *f = NULL;
	int fd = -1, rc = 0;

	pthread_mutex_lock(&reg_lock);
	if (!reg_root) {
		rc = -ENODEV;
		goto out;
	}
	if (!reg_file)
		goto out; /* in-memory registry */
	tmp = fm_malloc(strlen(reg_file) + 16);
	path = fm_malloc(tree_depth(reg_root) * (KEY_NAME_MAX + 1) + 2);
	if (!tmp || !path) {
		rc = -ENOMEM;
		goto out;
	}
	sprintf(tmp, "%s.tmp.XXXXXX", reg_file);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		fm_err("registry: cannot create %s: %s", tmp, strerror(-rc));
		goto out;
	}
	fchmod(fd, 0600);
	f = fdopen(fd, "w");
	if (!f) {
		rc = -errno;
		goto out_unlink;
	}
	fd = -1;
	fputs("# fltmgr registry (docs/registry.md). Written by fltmgrd; edit only while it is "
	      "stopped.\n",
	      f);
	for (size_t i = 0; i < reg_root->nkids; i++) {
		path[0] = '\0';
		put_key(f, reg_root->kids[i], path, 0);
	}
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) < 0) {
		rc = errno ? -errno : -EIO;
		goto out_unlink;
	}
	if (fclose(f) != 0) {
		f = NULL;
		rc = -errno;
		goto out_unlink;
	}
	f = NULL;
	if (rename(tmp, reg_file) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	rc = fsync_dir_of(reg_file);
	goto out;

out_unlink:
	fm_err("registry: cannot write %s: %s (the previous file is unchanged)", reg_file,
	       strerror(-rc));
	if (f)
		fclose(f);
	f = NULL;
	unlink(tmp);
out:
	if (fd >= 0)
		close(fd);
	pthread_mutex_unlock(&reg_lock);
	fm_free(tmp);
	fm_free(path);
	return rc;
}

/* ---- Loading --------------------------------------------------------------------------------- */

/*
 * Parse a quoted, escaped string at *p (which points at the opening quote) into an
 * fm_malloc'ed UTF-8 string, advancing *p past the closing quote.  NULL with *why set on error.
 */
static char *parse_quoted(const char **p, const char **why)
{
	const char *s = *p + 1;
	size_t cap = 1, n = 0;
	char *out;

	/* Room for the string up to its closing quote (an escape never yields more bytes). */
	for (const char *t = s; *t && *t != '"'; t++, cap++)
		if (*t == '\\' && t[1])
			t++;
	out = fm_malloc(cap);

	if (!out) {
		*why = "out of memory";
		return NULL;
	}
	for (;;) {
		char c = *s++;

		if (c == '\0') {
			*why = "unterminated string";
			goto fail;
		}
		if (c == '"')
			break;
		if (c == '\\') {
			char e = *s++;
			int hi, lo;

			switch (e) {
			case '\\':
			case '"':
				c = e;
				break;
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case 'r':
				c = '\r';
				break;
			case 'x':
				hi = hexval(s[0]);
				lo = hi < 0 ? -1 : hexval(s[1]);
				if (lo < 0 || (hi == 0 && lo == 0)) {
					*why = "bad \\x escape";
					goto fail;
				}
				c = (char)(hi << 4 | lo);
				s += 2;
				break;
			default:
				*why = "unknown escape";
				goto fail;
			}
		}
		out[n++] = c;
	}
	out[n] = '\0';
	*p = s;
	return out;
fail:
	fm_free(out);
	return NULL;
}

/*
 * While a file loads: the subkeys and values already read under each key, found by hash, so a
 * key with many subkeys or values (in any order) loads in linear time.  Subkeys are appended
 * as they come and each key's list is sorted once at the end.
 */
struct seen_slot {
	const struct fm_regkey *owner; /* NULL: free slot */
	const char *name;
	size_t len;
	struct fm_regkey *kid; /* NULL for a value */
};

struct seen {
	struct seen_slot *slots;
	size_t cap, n; /* cap: 0 or a power of two */
};

static size_t seen_hash(const struct fm_regkey *owner, bool value, const char *name, size_t len)
{
	uint64_t h = 14695981039346656037ull ^ (uint64_t)(uintptr_t)owner ^ value;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		h = (h ^ (c >= 'a' && c <= 'z' ? c - 32u : c)) * 1099511628211ull;
	}
	return (size_t)(h ^ (h >> 31));
}

/* The slot of (owner, kind, name), or the free slot where it would go. */
static struct seen_slot *seen_slot(const struct seen *t, const struct fm_regkey *owner, bool value,
				   const char *name, size_t len)
{
	size_t i = seen_hash(owner, value, name, len) & (t->cap - 1);

	for (;; i = (i + 1) & (t->cap - 1)) {
		struct seen_slot *sl = &t->slots[i];

		if (!sl->owner || (sl->owner == owner && (sl->kid == NULL) == value &&
				   ci_cmp(sl->name, sl->len, name, len) == 0))
			return sl;
	}
}

/* Make room for one more entry (before seen_slot for an insertion). */
static int seen_reserve(struct seen *t)
{
	struct seen g;

	if ((t->n + 1) * 2 <= t->cap)
		return 0;
	g.cap = t->cap ? t->cap * 2 : 64;
	g.n = t->n;
	g.slots = fm_calloc(g.cap, sizeof(*g.slots));
	if (!g.slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		const struct seen_slot *o = &t->slots[i];

		if (o->owner)
			*seen_slot(&g, o->owner, o->kid == NULL, o->name, o->len) = *o;
	}
	fm_free(t->slots);
	*t = g;
	return 0;
}

/* walk() with creation, for loading: new subkeys are appended (sorted by sort_kids later). */
static int load_walk(struct seen *t, struct fm_regkey *root, const char *path,
		     struct fm_regkey **out)
{
	struct fm_regkey *k = root;
	const char *p = path;

	while (*p) {
		const char *e = strchr(p, '\\');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		struct seen_slot *sl;

		if (!valid_component(p, len))
			return -EINVAL;
		if (seen_reserve(t))
			return -ENOMEM;
		sl = seen_slot(t, k, false, p, len);
		if (sl->owner) {
			k = sl->kid;
		} else {
			int rc;
			struct fm_regkey *n = make_kid(k, k->nkids, p, len, &rc);

			if (!n)
				return rc;
			sl->owner = k;
			sl->name = n->name;
			sl->len = len;
			sl->kid = n;
			t->n++;
			k = n;
		}
		if (!e)
			break;
		p = e + 1;
		if (!*p)
			return -EINVAL; /* trailing backslash */
	}
	*out = k;
	return 0;
}

static int kid_order(const void *a, const void *b)
{
	const struct fm_regkey *x = *(struct fm_regkey *const *)a,
			       *y = *(struct fm_regkey *const *)b;

	return ci_cmp(x->name, strlen(x->name), y->name, strlen(y->name));
}

/* Sort every key's subkeys, as enumeration and fm_reg_flush expect. */
static void sort_kids(struct fm_regkey *k)
{
	if (k->nkids > 1)
		qsort(k->kids, k->nkids, sizeof(*k->kids), kid_order);
	for (size_t i = 0; i < k->nkids; i++)
		sort_kids(k->kids[i]);
}

/* Parse the part after "type:" of a value line. */
static int parse_data(const char *tname, const char *s, uint32_t *type, uint8_t **data, size_t *len,
		      const char **why)
{
	char *strs[1];
	int rc;

	*data = NULL;
	*len = 0;
	if (strcmp(tname, "sz") == 0 || strcmp(tname, "expand_sz") == 0) {
		*type = tname[0] == 's' ? FM_REG_SZ : FM_REG_EXPAND_SZ;
		if (*s != '"') {
			*why = "expected a quoted string";
			return -EINVAL;
		}
		strs[0] = parse_quoted(&s, why);
		if (!strs[0])
			return -EINVAL;
		if (*s) {
			*why = "junk after string";
			fm_free(strs[0]);
			return -EINVAL;
		}
		rc = encode_strings((const char *const *)strs, 1, false, data, len);
		fm_free(strs[0]);
		if (rc)
			*why = "string is not valid UTF-8";
		return rc;
	}
	if (strcmp(tname, "multi_sz") == 0) {
		char **list = NULL;
		size_t n = 0, lcap = 0;

		*type = FM_REG_MULTI_SZ;
		rc = 0;
		while (*s) {
			char **nl;

			if (n && *s++ != ',') {
				*why = "expected ',' between strings";
				rc = -EINVAL;
				break;
			}
			if (*s != '"') {
				*why = "expected a quoted string";
				rc = -EINVAL;
				break;
			}
			if (n == lcap) {
				lcap = lcap ? lcap * 2 : 8;
				nl = fm_realloc(list, lcap * sizeof(*list));
				if (!nl) {
					*why = "out of memory";
					rc = -ENOMEM;
					break;
				}
				list = nl;
			}
			list[n] = parse_quoted(&s, why);
			if (!list[n]) {
				rc = -EINVAL;
				break;
			}
			n++;
		}
		if (rc == 0) {
			rc = encode_strings((const char *const *)list, n, true, data, len);
			if (rc)
				*why = "strings must be non-empty valid UTF-8";
		}
		for (size_t i = 0; i < n; i++)
			fm_free(list[i]);
		fm_free(list);
		return rc;
	}
	if (strcmp(tname, "dword") == 0 || strcmp(tname, "qword") == 0) {
		uint64_t v;
		bool dw = tname[0] == 'd';

		*type = dw ? FM_REG_DWORD : FM_REG_QWORD;
		if (parse_number(s, dw ? UINT32_MAX : UINT64_MAX, &v)) {
			*why = "bad number";
			return -EINVAL;
		}
		*len = dw ? 4 : 8;
		*data = fm_malloc(*len);
		if (!*data)
			return -ENOMEM;
		for (size_t i = 0; i < *len; i++)
			(*data)[i] = (uint8_t)(v >> (8 * i));
		return 0;
	}
	if (strcmp(tname, "hex") == 0) {
		*type = FM_REG_BINARY;
	} else if (strncmp(tname, "hex(", 4) == 0 && tname[strlen(tname) - 1] == ')') {
		char *end;
		unsigned long t;

		errno = 0;
		t = strtoul(tname + 4, &end, 16);
		if (errno || end == tname + 4 || *end != ')' || t > UINT32_MAX) {
			*why = "bad hex(type)";
			return -EINVAL;
		}
		*type = (uint32_t)t;
	} else {
		*why = "unknown type";
		return -EINVAL;
	}
	rc = parse_hex_bytes(s, strlen(s), data, len);
	if (rc)
		*why = "bad hex bytes";
	return rc;
}

static int parse_value_line(struct seen *t, struct fm_regkey *k, const char *line, const char **why)
{
	struct seen_slot *sl;
	const char *p = line;
	char *name, tname[32];
	const char *colon;
	uint32_t type;
	uint8_t *data;
	size_t len, tlen;
	int rc;

	name = parse_quoted(&p, why);
	if (!name)
		return -EINVAL;
	if (*p++ != '=') {
		*why = "expected '=' after the value name";
		rc = -EINVAL;
		goto out;
	}
	colon = strchr(p, ':');
	tlen = colon ? (size_t)(colon - p) : 0;
	if (!colon || tlen == 0 || tlen >= sizeof(tname)) {
		*why = "expected type: before the data";
		rc = -EINVAL;
		goto out;
	}
	memcpy(tname, p, tlen);
	tname[tlen] = '\0';
	if (!valid_value_name(name)) {
		*why = "value name too long";
		rc = -EINVAL;
		goto out;
	}
	if (seen_reserve(t)) {
		*why = "out of memory";
		rc = -ENOMEM;
		goto out;
	}
	sl = seen_slot(t, k, true, name, strlen(name));
	if (sl->owner) {
		*why = "duplicate value name";
		rc = -EINVAL;
		goto out;
	}
	rc = parse_data(tname, colon + 1, &type, &data, &len, why);
	if (rc)
		goto out;
	rc = append_value(k, name, type, data, len);
	if (rc) {
		*why = "out of memory";
		fm_free(data);
		goto out;
	}
	sl->owner = k;
	sl->name = k->vals[k->nvals - 1].name;
	sl->len = strlen(name);
	sl->kid = NULL;
	t->n++;
out:
	fm_free(name);
	return rc;
}

/* Parse a whole file into the tree under `root`.  -EINVAL with a logged line number. */
static int parse_file(FILE *f, const char *file, struct fm_regkey *root)
{
	struct seen seen = {0};
	struct fm_regkey *cur = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned int lineno = 0;
	int rc = 0;
	const char *why = NULL;

	while ((n = getline(&line, &cap, f)) >= 0) {
		char *p = line;

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if ((size_t)n != strlen(line)) {
			why = "NUL byte in line";
			rc = -EINVAL;
			break;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#' || *p == ';')
			continue;
		if (*p == '[') {
			size_t l = strlen(p);

			if (l < 3 || p[l - 1] != ']' || p[1] != '\\') {
				why = "bad key header (expected [\\PATH])";
				rc = -EINVAL;
				break;
			}
			p[l - 1] = '\0';
			rc = load_walk(&seen, root, p + 2, &cur);
			if (rc) {
				why = rc == -ENOMEM ? "out of memory" : "bad key path";
				break;
			}
			continue;
		}
		if (*p != '"') {
			why = "expected [key] or \"value\"=type:data";
			rc = -EINVAL;
			break;
		}
		if (!cur) {
			why = "value before any [key]";
			rc = -EINVAL;
			break;
		}
		rc = parse_value_line(&seen, cur, p, &why);
		if (rc)
			break;
	}
	if (rc == 0 && ferror(f)) {
		rc = -EIO;
		why = "read error";
	}
	if (rc)
		fm_err("registry: %s:%u: %s", file, lineno, why ? why : strerror(-rc));
	else
		sort_kids(root);
	fm_free(seen.slots);
	free(line); /* getline's buffer comes from libc */
	return rc == -ENOMEM ? rc : rc ? -EINVAL : 0;
}

int fm_reg_init(const char *file)
{
	struct fm_regkey *root;
	char *fcopy = NULL;
	FILE *f;
	int rc = 0;

	root = key_new("", 0);
	if (!root)
		return -ENOMEM;
	if (file) {
		fcopy = fm_strdup(file);
		if (!fcopy) {
			rc = -ENOMEM;
			goto fail;
		}
		f = fopen(file, "re");
		if (!f && errno != ENOENT) {
			rc = -errno;
			fm_err("registry: cannot open %s: %s", file, strerror(-rc));
			goto fail;
		}
		if (f) {
			rc = parse_file(f, file, root);
			fclose(f);
			if (rc)
				goto fail;
		}
	}
	pthread_mutex_lock(&reg_lock);
	if (reg_root) {
		pthread_mutex_unlock(&reg_lock);
		rc = -EBUSY;
		goto fail;
	}
	reg_root = root;
	reg_file = fcopy;
	pthread_mutex_unlock(&reg_lock);
	return 0;
fail:
	pthread_mutex_lock(&reg_lock);
	key_kill(root);
	pthread_mutex_unlock(&reg_lock);
	fm_free(fcopy);
	return rc;
}

void fm_reg_fini(void)
{
	pthread_mutex_lock(&reg_lock);
	if (reg_root)
		key_kill(reg_root);
	reg_root = NULL;
	fm_free(reg_file);
	reg_file = NULL;
	pthread_mutex_unlock(&reg_lock);
}
