/* The fltmgrd control protocol: message layouts, encoder/decoder and socket I/O for both ends. */
#ifndef FM_PROTO_PROTO_H
#define FM_PROTO_PROTO_H

#include <stddef.h>
#include <stdint.h>

/*
 * Wire format (docs/fltmgrd.md): a 12-byte header {u32 magic, u16 version, u16 type,
 * u32 payload length}, then the payload: a sequence of fields, each {u32 length, bytes}.
 * All integers are little-endian.  Strings are UTF-8 without a NUL; numbers are 4-byte
 * fields.  Which fields a message has, and in which order, is fixed by its type.  Every
 * length is checked against the buffer and FM_PROTO_MAX_PAYLOAD before use.
 */

#define FM_PROTO_MAGIC 0x4d544c46u /* "FLTM" on the wire */
#define FM_PROTO_VERSION 1u
#define FM_PROTO_HDR_SIZE 12u
#define FM_PROTO_MAX_PAYLOAD (1u << 20)
#define FM_PROTO_MAX_COLS 16u
#define FM_PROTO_SOCKET "control.sock"

enum fm_msg_type {
	FM_MSG_PING = 1,
	FM_MSG_REGISTER = 2,
	FM_MSG_SET_VALUE = 3,
	FM_MSG_LOAD = 4,
	FM_MSG_UNLOAD = 5,
	FM_MSG_LIST_FILTERS = 6,
	FM_MSG_LIST_INSTANCES = 7,
	FM_MSG_LIST_VOLUMES = 8,
	FM_MSG_MOUNT = 9,
	FM_MSG_UNMOUNT = 10,
	FM_MSG_ATTACH = 11,
	FM_MSG_DETACH = 12,
	FM_MSG_UNINSTALL = 13,
	FM_MSG_REPLY = 0x100,
};

/*
 * A request.  Which members a type uses (others are NULL / 0):
 *   PING, LIST_FILTERS, LIST_VOLUMES: none
 *   REGISTER: service, image, altitude, instance ("" = default), flags (instance Flags)
 *   SET_VALUE: service, key (service-relative subkey, "" = the service key), name, vtype,
 *              data/data_len (Windows layout, see fm_reg_encode)
 *   LOAD: service;  UNLOAD: service, flags (1 = mandatory)
 *   LIST_INSTANCES: filter, volume ("" = any)
 *   MOUNT: backing, mount_point ("" = over the backing dir), fs_type ("" = NTFS), optionally
 *          followed by volume options: "TYPE,cache=auto|cached|direct,transport=dev|uring"
 *   UNMOUNT: target (mount point, backing dir or \Device\HarddiskVolumeN)
 *   ATTACH: filter, volume, instance ("" = default), altitude ("" = the instance's)
 *   DETACH: filter, volume, instance ("" = the filter's highest on the volume)
 *   UNINSTALL: service
 * Decoded strings are NUL-terminated and owned by the request (fm_proto_request_free).
 */
struct fm_request {
	uint16_t type;
	const char *service;
	const char *image;
	const char *altitude;
	const char *instance;
	const char *key;
	const char *name;
	const char *filter;
	const char *volume;
	const char *backing;
	const char *mount_point;
	const char *fs_type;
	const char *target;
	uint32_t flags;
	uint32_t vtype;
	const void *data;
	uint32_t data_len;
	void *priv; /* decoder's allocation */
};

/* How a reply's status is to be read. */
enum fm_status_kind {
	FM_STATUS_ERRNO = 0, /* status is 0 or -errno */
	FM_STATUS_NT = 1,    /* status is an NTSTATUS */
};

/*
 * A reply: a status, a one-line message (may be ""), and for lists a table of ncols columns
 * (the first row is the header) and nrows rows, cells[row * ncols + col].
 */
struct fm_reply {
	uint32_t kind;
	int32_t status;
	const char *message;
	uint32_t ncols;
	uint32_t nrows;
	const char *const *cells;
	void *priv; /* decoder's allocation */
};

/* The printable name of a request type ("load"), or "?" */
const char *fm_proto_type_name(uint16_t type);

/*
 * A MOUNT request's fs_type with its volume options: "TYPE[,cache=C][,transport=T]" (type ""
 * is the default; a NULL or empty option is left out).  snprintf's result.
 */
int fm_proto_mount_type(char *buf, size_t cap, const char *type, const char *cache,
			const char *transport);

/*
 * Encode a whole message (header + payload) into a buffer allocated with fm_malloc (release
 * with fm_free).  Returns 0, -EINVAL (missing string, unknown type, NUL inside a string),
 * -EMSGSIZE (over FM_PROTO_MAX_PAYLOAD) or -ENOMEM.
 */
int fm_proto_encode_request(const struct fm_request *req, uint8_t **out, size_t *len);
int fm_proto_encode_reply(const struct fm_reply *rep, uint8_t **out, size_t *len);

/*
 * Check a header: 0 and the type and payload length, or -EPROTO (bad magic or version),
 * -EMSGSIZE (payload over the maximum).
 */
int fm_proto_decode_header(const uint8_t *hdr, uint16_t *type, uint32_t *len);

/*
 * Decode a payload of the given type.  Never reads outside [payload, payload + len).
 * Returns 0 (release with fm_proto_request_free / fm_proto_reply_free), -EPROTO for any
 * malformation (field count, lengths, NUL in a string, unknown type), -ENOMEM.
 */
int fm_proto_decode_request(uint16_t type, const uint8_t *payload, size_t len,
			    struct fm_request *req);
int fm_proto_decode_reply(const uint8_t *payload, size_t len, struct fm_reply *rep);
void fm_proto_request_free(struct fm_request *req);
void fm_proto_reply_free(struct fm_reply *rep);

/*
 * Socket I/O with a deadline covering the whole message (so a peer that stalls mid-message
 * cannot hold us).  send: writes header+payload already encoded.  recv: reads one message;
 * *payload is fm_malloc'ed (NULL when empty).  Errors: -ETIMEDOUT, -ECONNRESET (peer closed;
 * -ENODATA if it closed cleanly before any byte), -EPROTO / -EMSGSIZE (bad header), -errno.
 */
int fm_proto_send(int fd, const uint8_t *buf, size_t len, int timeout_ms);
int fm_proto_recv(int fd, int timeout_ms, uint16_t *type, uint8_t **payload, uint32_t *len);

/*
 * Render a status for humans: "STATUS_OBJECT_NAME_NOT_FOUND (0xc0000034)" for NT statuses,
 * the errno text ("No such file or directory") for errno statuses, "success" for 0.
 */
void fm_proto_status_text(uint32_t kind, int32_t status, char *buf, size_t cap);

/* libFuzzer-compatible entry for the decoders: one whole message.  Always returns 0. */
int fm_proto_fuzz_one(const uint8_t *data, size_t size);

#endif
