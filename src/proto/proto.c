/* The fltmgrd control protocol: one encoder and one decoder shared by the daemon and fltmc. */
#include "proto/proto.h"

#include "common/alloc.h"
#include "common/status.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/*
 * Each request type's fields in order: 'S' a string member, 'U' a u32 member, 'B' the data
 * blob.  The offsets name the struct fm_request member each field maps to.
 */
#define OFF(m) offsetof(struct fm_request, m)
#define MAX_FIELDS 5

static const struct layout {
	uint16_t type;
	const char *name;
	const char *fields;
	size_t off[MAX_FIELDS];
} layouts[] = {
    {FM_MSG_PING, "ping", "", {0}},
    {FM_MSG_REGISTER,
     "register",
     "SSSSU",
     {OFF(service), OFF(image), OFF(altitude), OFF(instance), OFF(flags)}},
    {FM_MSG_SET_VALUE,
     "set-value",
     "SSSUB",
     {OFF(service), OFF(key), OFF(name), OFF(vtype), OFF(data)}},
    {FM_MSG_LOAD, "load", "S", {OFF(service)}},
    {FM_MSG_UNLOAD, "unload", "SU", {OFF(service), OFF(flags)}},
    {FM_MSG_LIST_FILTERS, "filters", "", {0}},
    {FM_MSG_LIST_INSTANCES, "instances", "SS", {OFF(filter), OFF(volume)}},
    {FM_MSG_LIST_VOLUMES, "volumes", "", {0}},
    {FM_MSG_MOUNT, "mount", "SSS", {OFF(backing), OFF(mount_point), OFF(fs_type)}},
    {FM_MSG_UNMOUNT, "unmount", "S", {OFF(target)}},
    {FM_MSG_ATTACH, "attach", "SSSS", {OFF(filter), OFF(volume), OFF(instance), OFF(altitude)}},
    {FM_MSG_DETACH, "detach", "SSS", {OFF(filter), OFF(volume), OFF(instance)}},
    {FM_MSG_UNINSTALL, "uninstall", "S", {OFF(service)}},
};

static const struct layout *find_layout(uint16_t type)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].type == type)
			return &layouts[i];
	return NULL;
}

const char *fm_proto_type_name(uint16_t type)
{
	const struct layout *l = find_layout(type);

	if (type == FM_MSG_REPLY)
		return "reply";
	return l ? l->name : "?";
}

int fm_proto_mount_type(char *buf, size_t cap, const char *type, const char *cache,
			const char *transport)
{
	bool c = cache && *cache, t = transport && *transport;

	return snprintf(buf, cap, "%s%s%s%s%s", type ? type : "", c ? ",cache=" : "",
			c ? cache : "", t ? ",transport=" : "", t ? transport : "");
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- Encoding ------------------------------------------------------------------------------ */

/* A growing message buffer; `err` latches the first failure so callers check once. */
struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int err;
};

static void wb_reserve(struct wbuf *w, size_t more)
{
	uint8_t *np;
	size_t ncap;

	if (w->err)
		return;
	if (more > FM_PROTO_HDR_SIZE + FM_PROTO_MAX_PAYLOAD ||
	    w->len + more > FM_PROTO_HDR_SIZE + FM_PROTO_MAX_PAYLOAD) {
		w->err = -EMSGSIZE;
		return;
	}
	if (w->len + more <= w->cap)
		return;
	ncap = w->cap ? w->cap : 256;
	while (ncap < w->len + more)
		ncap *= 2;
	np = fm_realloc(w->p, ncap);
	if (!np) {
		w->err = -ENOMEM;
		return;
	}
	w->p = np;
	w->cap = ncap;
}

static void wb_field(struct wbuf *w, const void *data, size_t len)
{
	wb_reserve(w, 4 + len);
	if (w->err)
		return;
	put32(w->p + w->len, (uint32_t)len);
	if (len)
		memcpy(w->p + w->len + 4, data, len);
	w->len += 4 + len;
}

static void wb_str(struct wbuf *w, const char *s)
{
	if (!s) {
		if (!w->err)
			w->err = -EINVAL;
		return;
	}
	wb_field(w, s, strlen(s));
}

static void wb_u32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4];

	put32(b, v);
	wb_field(w, b, 4);
}

static void wb_begin(struct wbuf *w, uint16_t type)
{
	memset(w, 0, sizeof(*w));
	wb_reserve(w, FM_PROTO_HDR_SIZE);
	if (w->err)
		return;
	put32(w->p, FM_PROTO_MAGIC);
	w->p[4] = (uint8_t)FM_PROTO_VERSION;
	w->p[5] = (uint8_t)(FM_PROTO_VERSION >> 8);
	w->p[6] = (uint8_t)type;
	w->p[7] = (uint8_t)(type >> 8);
	w->len = FM_PROTO_HDR_SIZE;
}

static int wb_end(struct wbuf *w, uint8_t **out, size_t *len)
{
	if (w->err) {
		fm_free(w->p);
		return w->err;
	}
	put32(w->p + 8, (uint32_t)(w->len - FM_PROTO_HDR_SIZE));
	*out = w->p;
	*len = w->len;
	return 0;
}

int fm_proto_encode_request(const struct fm_request *req, uint8_t **out, size_t *len)
{
	const struct layout *l;
	struct wbuf w;

	if (!req || !out || !len)
		return -EINVAL;
	l = find_layout(req->type);
	if (!l)
		return -EINVAL;
	wb_begin(&w, req->type);
	for (size_t i = 0; l->fields[i]; i++) {
		const char *base = (const char *)req;

		switch (l->fields[i]) {
		case 'S':
			wb_str(&w, *(const char *const *)(base + l->off[i]));
			break;
		case 'U':
			wb_u32(&w, *(const uint32_t *)(base + l->off[i]));
			break;
		case 'B':
			if (req->data_len && !req->data)
				w.err = w.err ? w.err : -EINVAL;
			else
				wb_field(&w, req->data, req->data_len);
			break;
		}
	}
	return wb_end(&w, out, len);
}

int fm_proto_encode_reply(const struct fm_reply *rep, uint8_t **out, size_t *len)
{
	struct wbuf w;
	size_t cells;

	if (!rep || !out || !len || rep->ncols > FM_PROTO_MAX_COLS ||
	    (rep->nrows && (!rep->ncols || !rep->cells)))
		return -EINVAL;
	cells = (size_t)rep->ncols * rep->nrows;
	wb_begin(&w, FM_MSG_REPLY);
	wb_u32(&w, rep->kind);
	wb_u32(&w, (uint32_t)rep->status);
	wb_str(&w, rep->message ? rep->message : "");
	wb_u32(&w, rep->ncols);
	wb_u32(&w, rep->nrows);
	for (size_t i = 0; i < cells && !w.err; i++)
		wb_str(&w, rep->cells[i] ? rep->cells[i] : "");
	return wb_end(&w, out, len);
}

/* ---- Decoding ------------------------------------------------------------------------------ */

int fm_proto_decode_header(const uint8_t *hdr, uint16_t *type, uint32_t *len)
{
	uint16_t version = (uint16_t)(hdr[4] | hdr[5] << 8);

	if (get32(hdr) != FM_PROTO_MAGIC || version != FM_PROTO_VERSION)
		return -EPROTO;
	*type = (uint16_t)(hdr[6] | hdr[7] << 8);
	*len = get32(hdr + 8);
	if (*len > FM_PROTO_MAX_PAYLOAD)
		return -EMSGSIZE;
	return 0;
}

/* A reader over a payload; every access is bounds-checked. */
struct rbuf {
	const uint8_t *p;
	size_t len, pos;
};

/* The next field: 0 and its bytes, or -EPROTO if it does not fit in the payload. */
static int rb_field(struct rbuf *r, const uint8_t **data, uint32_t *flen)
{
	uint32_t n;

	if (r->len - r->pos < 4)
		return -EPROTO;
	n = get32(r->p + r->pos);
	if (n > r->len - r->pos - 4)
		return -EPROTO;
	*data = r->p + r->pos + 4;
	*flen = n;
	r->pos += 4 + (size_t)n;
	return 0;
}

static int rb_u32(struct rbuf *r, uint32_t *v)
{
	const uint8_t *d;
	uint32_t n;

	if (rb_field(r, &d, &n) || n != 4)
		return -EPROTO;
	*v = get32(d);
	return 0;
}

/*
 * The next field as a NUL-terminated string copied into the arena at *apos.  The arena is
 * sized (payload length + one byte per possible field) so copies always fit.
 */
static int rb_str(struct rbuf *r, char *arena, size_t *apos, const char **out)
{
	const uint8_t *d;
	uint32_t n;

	if (rb_field(r, &d, &n) || memchr(d, 0, n))
		return -EPROTO;
	memcpy(arena + *apos, d, n);
	arena[*apos + n] = '\0';
	*out = arena + *apos;
	*apos += (size_t)n + 1;
	return 0;
}

int fm_proto_decode_request(uint16_t type, const uint8_t *payload, size_t len,
			    struct fm_request *req)
{
	const struct layout *l = find_layout(type);
	struct rbuf r = {payload, len, 0};
	char *arena;
	size_t apos = 0;
	int rc = 0;

	memset(req, 0, sizeof(*req));
	if (!l || len > FM_PROTO_MAX_PAYLOAD || (len && !payload))
		return -EPROTO;
	req->type = type;
	arena = fm_malloc(len + MAX_FIELDS + 1);
	if (!arena)
		return -ENOMEM;
	for (size_t i = 0; l->fields[i] && rc == 0; i++) {
		char *base = (char *)req;
		const uint8_t *d;
		uint32_t n;

		switch (l->fields[i]) {
		case 'S':
			rc = rb_str(&r, arena, &apos, (const char **)(base + l->off[i]));
			break;
		case 'U':
			rc = rb_u32(&r, (uint32_t *)(base + l->off[i]));
			break;
		case 'B':
			rc = rb_field(&r, &d, &n);
			if (rc == 0) {
				memcpy(arena + apos, d, n);
				req->data = arena + apos;
				req->data_len = n;
				apos += n;
			}
			break;
		}
	}
	if (rc == 0 && r.pos != r.len)
		rc = -EPROTO; /* trailing bytes */
	if (rc) {
		fm_free(arena);
		memset(req, 0, sizeof(*req));
		return rc;
	}
	req->priv = arena;
	return 0;
}

void fm_proto_request_free(struct fm_request *req)
{
	if (!req)
		return;
	fm_free(req->priv);
	memset(req, 0, sizeof(*req));
}

int fm_proto_decode_reply(const uint8_t *payload, size_t len, struct fm_reply *rep)
{
	struct rbuf r = {payload, len, 0};
	uint32_t status, ncols, nrows;
	const char **cells = NULL;
	char *arena = NULL;
	size_t apos = 0, ncells;
	int rc;

	memset(rep, 0, sizeof(*rep));
	if (len > FM_PROTO_MAX_PAYLOAD || (len && !payload))
		return -EPROTO;
	if (rb_u32(&r, &rep->kind) || rb_u32(&r, &status))
		return -EPROTO;
	rep->status = (int32_t)status;
	if (rep->kind != FM_STATUS_ERRNO && rep->kind != FM_STATUS_NT)
		return -EPROTO;
	/*
	 * Every string field costs 4 length bytes on the wire and 1 NUL in the arena, so the
	 * payload length bounds the arena; and the cell count is checked against the bytes left
	 * before the cell array is allocated.
	 */
	arena = fm_malloc(len + 1);
	if (!arena)
		return -ENOMEM;
	rc = rb_str(&r, arena, &apos, &rep->message);
	if (rc || rb_u32(&r, &ncols) || rb_u32(&r, &nrows) || ncols > FM_PROTO_MAX_COLS ||
	    (nrows && !ncols) || (uint64_t)ncols * nrows > (r.len - r.pos) / 4) {
		rc = -EPROTO;
		goto fail;
	}
	ncells = (size_t)ncols * nrows;
	if (ncells) {
		cells = fm_calloc(ncells, sizeof(*cells));
		if (!cells) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	for (size_t i = 0; i < ncells; i++) {
		rc = rb_str(&r, arena, &apos, &cells[i]);
		if (rc)
			goto fail;
	}
	if (r.pos != r.len) {
		rc = -EPROTO;
		goto fail;
	}
	rep->ncols = ncols;
	rep->nrows = nrows;
	rep->cells = cells;
	rep->priv = arena;
	return 0;
fail:
	fm_free(cells);
	fm_free(arena);
	memset(rep, 0, sizeof(*rep));
	return rc;
}

void fm_proto_reply_free(struct fm_reply *rep)
{
	if (!rep)
		return;
	fm_free((void *)rep->cells);
	fm_free(rep->priv);
	memset(rep, 0, sizeof(*rep));
}

/* ---- Socket I/O ---------------------------------------------------------------------------- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for `events` on fd until the deadline: 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		long long left = deadline - now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

int fm_proto_send(int fd, const uint8_t *buf, size_t len, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int rc = wait_fd(fd, POLLOUT, deadline);

			if (rc)
				return rc;
			continue;
		}
		return n < 0 ? -errno : -EIO;
	}
	return 0;
}

/* Read exactly len bytes before the deadline. */
static int read_full(int fd, uint8_t *buf, size_t len, long long deadline)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = recv(fd, buf + off, len - off, MSG_DONTWAIT);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == 0)
			return off == 0 ? -ENODATA : -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int rc = wait_fd(fd, POLLIN, deadline);

			if (rc)
				return rc;
			continue;
		}
		return -errno;
	}
	return 0;
}

int fm_proto_recv(int fd, int timeout_ms, uint16_t *type, uint8_t **payload, uint32_t *len)
{
	long long deadline = now_ms() + timeout_ms;
	uint8_t hdr[FM_PROTO_HDR_SIZE];
	uint8_t *p = NULL;
	int rc;

	*payload = NULL;
	rc = read_full(fd, hdr, sizeof(hdr), deadline);
	if (rc)
		return rc;
	rc = fm_proto_decode_header(hdr, type, len);
	if (rc)
		return rc;
	if (*len) {
		p = fm_malloc(*len);
		if (!p)
			return -ENOMEM;
		rc = read_full(fd, p, *len, deadline);
		if (rc) {
			fm_free(p);
			return rc == -ENODATA ? -ECONNRESET : rc;
		}
	}
	*payload = p;
	return 0;
}

void fm_proto_status_text(uint32_t kind, int32_t status, char *buf, size_t cap)
{
	if (kind == FM_STATUS_NT) {
		const char *name = fm_status_name(status);

		if (name)
			snprintf(buf, cap, "%s (0x%08x)", name, (unsigned int)status);
		else
			snprintf(buf, cap, "NTSTATUS 0x%08x", (unsigned int)status);
	} else if (status == 0) {
		snprintf(buf, cap, "success");
	} else {
		snprintf(buf, cap, "%s", strerror(status < 0 ? -status : status));
	}
}

int fm_proto_fuzz_one(const uint8_t *data, size_t size)
{
	uint16_t type;
	uint32_t len;

	if (size < FM_PROTO_HDR_SIZE || fm_proto_decode_header(data, &type, &len))
		return 0;
	if (len != size - FM_PROTO_HDR_SIZE)
		return 0;
	if (type == FM_MSG_REPLY) {
		struct fm_reply rep;

		if (fm_proto_decode_reply(data + FM_PROTO_HDR_SIZE, len, &rep) == 0)
			fm_proto_reply_free(&rep);
	} else {
		struct fm_request req;

		if (fm_proto_decode_request(type, data + FM_PROTO_HDR_SIZE, len, &req) == 0)
			fm_proto_request_free(&req);
	}
	return 0;
}
