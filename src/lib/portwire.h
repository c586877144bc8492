/* The wire format between fltmgrd's communication ports and libfltlib: fixed-header frames. */
#ifndef FM_LIB_PORTWIRE_H
#define FM_LIB_PORTWIRE_H

/*
 * One UNIX stream socket per connection to a server port.  Every frame is a fixed 24-byte
 * header followed by `len` payload bytes (len <= FM_PW_MAX_PAYLOAD).  Both sides check every
 * header with fm_pw_check() before reading the payload; a bad frame closes that connection
 * only.  Integers are in host byte order (both ends run on the same machine).
 *
 * client -> daemon                        daemon -> client
 *   CONNECT  seq, arg=options, ctx bytes    CONNECT_ACK  seq, arg=NTSTATUS
 *   GET      (one FilterGetMessage credit)  MSG          id, arg=reply length the sender takes
 *   SEND     seq, arg=out capacity, input   SEND_ACK     seq, arg=NTSTATUS, output bytes
 *   REPLY    seq, id, reply bytes           REPLY_ACK    seq, arg=NTSTATUS
 * (REPLY's payload is what follows FILTER_REPLY_HEADER in the user's buffer.)
 */

#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

enum fm_pw_type {
	FM_PW_CONNECT = 1,
	FM_PW_GET = 2,
	FM_PW_SEND = 3,
	FM_PW_REPLY = 4,
	FM_PW_CONNECT_ACK = 0x81,
	FM_PW_MSG = 0x82,
	FM_PW_SEND_ACK = 0x83,
	FM_PW_REPLY_ACK = 0x84,
};

#define FM_PW_MAGIC 0x504d4646u		     /* "FFMP" */
#define FM_PW_MAX_PAYLOAD (4u << 20)	     /* any single message, either direction */
#define FM_PW_MAX_CONTEXT 0xffffu	     /* SizeOfContext is a WORD */
#define FM_PW_DEFAULT_ROOT "/var/lib/fltmgr" /* fltmgrd's default --root */
#define FM_PW_PORT_DIR "ports"		     /* <root>/ports/<escaped name> */

struct fm_pw_hdr {
	uint32_t magic;
	uint16_t type;
	uint16_t reserved; /* 0 */
	uint32_t len;	   /* payload bytes after the header */
	uint32_t seq;	   /* client request number, echoed in its ACK */
	uint64_t id;	   /* kernel message id (MSG, REPLY) */
	uint32_t arg;	   /* see the table above */
	uint32_t pad;	   /* 0 */
};
_Static_assert(sizeof(struct fm_pw_hdr) == 32, "frame header layout");

/*
 * Validate a received header: magic, a type the receiver accepts (`from_client` true on the
 * daemon side), reserved fields zero, payload within limits for its type.  0 or -EPROTO.
 * Pure function; any thread.
 */
static inline int fm_pw_check(const struct fm_pw_hdr *h, int from_client)
{
	if (h->magic != FM_PW_MAGIC || h->reserved != 0 || h->pad != 0)
		return -71; /* EPROTO */
	if (h->len > FM_PW_MAX_PAYLOAD)
		return -71;
	switch (h->type) {
	case FM_PW_CONNECT:
		return from_client && h->len <= FM_PW_MAX_CONTEXT ? 0 : -71;
	case FM_PW_GET:
		return from_client && h->len == 0 ? 0 : -71;
	case FM_PW_SEND:
		return from_client && h->arg <= FM_PW_MAX_PAYLOAD ? 0 : -71;
	case FM_PW_REPLY:
		return from_client ? 0 : -71;
	case FM_PW_CONNECT_ACK:
	case FM_PW_REPLY_ACK:
		return !from_client && h->len == 0 ? 0 : -71;
	case FM_PW_MSG:
	case FM_PW_SEND_ACK:
		return !from_client ? 0 : -71;
	default:
		return -71;
	}
}

/*
 * Split one frame off a byte stream: if buf (len bytes) starts with a complete valid frame,
 * copy its header to *h, point *payload at its payload and return the frame's total size;
 * 0 if more bytes are needed; -EPROTO (-71) if the header is invalid (the connection must be
 * dropped).  Never reads past buf + len.  Pure function.
 */
static inline long fm_pw_next(const void *buf, size_t len, int from_client, struct fm_pw_hdr *h,
			      const unsigned char **payload)
{
	const unsigned char *b = (const unsigned char *)buf;

	if (len < sizeof(*h))
		return 0;
	__builtin_memcpy(h, b, sizeof(*h));
	if (fm_pw_check(h, from_client) < 0)
		return -71;
	if (len - sizeof(*h) < h->len)
		return 0;
	*payload = b + sizeof(*h);
	return (long)(sizeof(*h) + h->len);
}

/*
 * The socket file name of port `name` (UTF-8, e.g. "\\ScannerPort"): bytes outside
 * [A-Za-z0-9._-], and a leading '.', become %XX (so no name is "." or "..").  Writes at most cap bytes including the NUL; returns the length,
 * or -1 if it does not fit.
 */
static inline int fm_pw_escape(const char *name, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
			    (*p == '.' && p != (const unsigned char *)name);
		if (o + (plain ? 1 : 3) >= cap)
			return -1;
		if (plain) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (o >= cap)
		return -1;
	out[o] = '\0';
	return (int)o;
}

/*
 * UTF-16 (n units) -> UTF-8 with a NUL, for port names.  Returns the length, or -1 if the
 * name is empty, contains U+0000 or a lone surrogate, or does not fit in cap.
 */
static inline int fm_pw_utf16_to_utf8(const uint16_t *in, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = in[i];
		unsigned char b[4];
		size_t k;

		if (c == 0 || (c >= 0xdc00 && c < 0xe000))
			return -1;
		if (c >= 0xd800 && c < 0xdc00) {
			if (i + 1 >= n || in[i + 1] < 0xdc00 || in[i + 1] >= 0xe000)
				return -1;
			c = 0x10000 + ((c - 0xd800) << 10) + (in[++i] - 0xdc00u);
		}
		if (c < 0x80) {
			b[0] = (unsigned char)c;
			k = 1;
		} else if (c < 0x800) {
			b[0] = (unsigned char)(0xc0 | (c >> 6));
			b[1] = (unsigned char)(0x80 | (c & 0x3f));
			k = 2;
		} else if (c < 0x10000) {
			b[0] = (unsigned char)(0xe0 | (c >> 12));
			b[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
			b[2] = (unsigned char)(0x80 | (c & 0x3f));
			k = 3;
		} else {
			b[0] = (unsigned char)(0xf0 | (c >> 18));
			b[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
			b[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
			b[3] = (unsigned char)(0x80 | (c & 0x3f));
			k = 4;
		}
		if (o + k >= cap)
			return -1;
		for (size_t j = 0; j < k; j++)
			out[o++] = (char)b[j];
	}
	out[o] = '\0';
	return (int)o;
}

/* UTF-8 -> UTF-16 units (no NUL) into out (room for cap units); returns the unit count
 * needed.  Invalid bytes become U+FFFD. */
static inline size_t fm_pw_utf8_to_utf16(const char *in, uint16_t *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t n = 0;

	while (*p) {
		uint32_t c = *p++;
		int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;

		if (c >= 0x80 && c < 0xc0)
			c = 0xfffd;
		else if (more)
			c &= 0x3fu >> more;
		while (more-- > 0) {
			if ((*p & 0xc0) != 0x80) {
				c = 0xfffd;
				break;
			}
			c = (c << 6) | (*p++ & 0x3f);
		}
		if (c >= 0x10000) {
			if (out && n + 1 < cap) {
				out[n] = (uint16_t)(0xd800 + ((c - 0x10000) >> 10));
				out[n + 1] = (uint16_t)(0xdc00 + ((c - 0x10000) & 0x3ff));
			}
			n += 2;
		} else {
			if (out && n < cap)
				out[n] = (uint16_t)c;
			n++;
		}
	}
	return n;
}

/* Write or read exactly len bytes on a stream socket: 0, or -errno (-ECONNRESET at EOF). */
static inline int fm_pw_write_all(int fd, const void *buf, size_t len)
{
	const char *p = (const char *)buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static inline int fm_pw_read_all(int fd, void *buf, size_t len)
{
	char *p = (char *)buf;

	while (len > 0) {
		ssize_t n = recv(fd, p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

#endif
