/*
 * Fuzz target for fltmgrd's control protocol (src/proto): the bytes a client (fltmc,
 * libfltlib, or anyone who can open the control socket) sends, and the replies a client
 * reads back.  Properties: decoding never reads outside the input (ASan), and whatever
 * decodes re-encodes to a canonical message that decodes again to the same encoding.
 */
#include "common/alloc.h"
#include "proto/proto.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_proto: property violated: %s\n", what);
		abort();
	}
}

/* Encoding a decoded message, decoding that, and encoding again: the same bytes. */
static void request_round_trip(const struct fm_request *req)
{
	uint8_t *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	struct fm_request again;
	uint16_t type;
	uint32_t len;

	if (fm_proto_encode_request(req, &a, &alen) != 0)
		return; /* e.g. a decoded field the encoder refuses: allowed, never a crash */
	require(alen >= FM_PROTO_HDR_SIZE, "encoded request holds a header");
	require(fm_proto_decode_header(a, &type, &len) == 0, "own header decodes");
	require(len == alen - FM_PROTO_HDR_SIZE, "header length = payload length");
	require(fm_proto_decode_request(type, a + FM_PROTO_HDR_SIZE, len, &again) == 0,
		"own encoding decodes");
	require(fm_proto_encode_request(&again, &b, &blen) == 0, "re-encoding succeeds");
	require(alen == blen && memcmp(a, b, alen) == 0, "encoding is canonical");
	fm_proto_request_free(&again);
	fm_free(a);
	fm_free(b);
}

static void reply_round_trip(const struct fm_reply *rep)
{
	uint8_t *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	struct fm_reply again;
	uint16_t type;
	uint32_t len;

	if (fm_proto_encode_reply(rep, &a, &alen) != 0)
		return;
	require(fm_proto_decode_header(a, &type, &len) == 0, "own reply header decodes");
	require(type == FM_MSG_REPLY, "a reply is a reply");
	require(fm_proto_decode_reply(a + FM_PROTO_HDR_SIZE, len, &again) == 0,
		"own reply decodes");
	require(fm_proto_encode_reply(&again, &b, &blen) == 0, "reply re-encodes");
	require(alen == blen && memcmp(a, b, alen) == 0, "reply encoding is canonical");
	fm_proto_reply_free(&again);
	fm_free(a);
	fm_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t type;
	uint32_t len;
	uint8_t *copy;

	/* The whole message as the daemon's reader sees it. */
	fm_proto_fuzz_one(data, size);
	if (size < FM_PROTO_HDR_SIZE || fm_proto_decode_header(data, &type, &len) != 0)
		return 0;
	/* Decode the payload from an exact-size heap copy, so any overread is caught. */
	size -= FM_PROTO_HDR_SIZE;
	if (len > size)
		len = (uint32_t)size;
	copy = malloc(len ? len : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + FM_PROTO_HDR_SIZE, len);
	if (type == FM_MSG_REPLY) {
		struct fm_reply rep;

		if (fm_proto_decode_reply(copy, len, &rep) == 0) {
			reply_round_trip(&rep);
			fm_proto_reply_free(&rep);
		}
	} else {
		struct fm_request req;

		if (fm_proto_decode_request(type, copy, len, &req) == 0) {
			request_round_trip(&req);
			fm_proto_request_free(&req);
		}
	}
	free(copy);
	return 0;
}
