/* Unit tests of the control protocol: round trips, every truncation, mutations, timeouts. */
#include "tap.h"

#include "common/alloc.h"
#include "proto/proto.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const uint8_t blob[] = {1, 0, 2, 0xff};

static const struct fm_request samples[] = {
    {.type = FM_MSG_PING},
    {.type = FM_MSG_REGISTER,
     .service = "nullfilter",
     .image = "/x/null.so",
     .altitude = "370020.5",
     .instance = "Null Instance",
     .flags = 1},
    {.type = FM_MSG_SET_VALUE,
     .service = "nullfilter",
     .key = "Parameters",
     .name = "Blob",
     .vtype = 3,
     .data = blob,
     .data_len = sizeof(blob)},
    {.type = FM_MSG_LOAD, .service = "nullfilter"},
    {.type = FM_MSG_UNLOAD, .service = "nullfilter", .flags = 1},
    {.type = FM_MSG_LIST_FILTERS},
    {.type = FM_MSG_LIST_INSTANCES, .filter = "", .volume = "\\Device\\HarddiskVolume1"},
    {.type = FM_MSG_LIST_VOLUMES},
    {.type = FM_MSG_MOUNT, .backing = "/b", .mount_point = "", .fs_type = "NTFS"},
    {.type = FM_MSG_UNMOUNT, .target = "/b"},
};

static int streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static void t_request_round_trip(void)
{
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		const struct fm_request *s = &samples[i];
		struct fm_request d;
		uint8_t *buf;
		size_t len;
		uint16_t type;
		uint32_t plen;

		TAP_EQ_INT(fm_proto_encode_request(s, &buf, &len), 0);
		TAP_EQ_INT(fm_proto_decode_header(buf, &type, &plen), 0);
		TAP_EQ_INT(type, s->type);
		TAP_EQ_INT(plen, len - FM_PROTO_HDR_SIZE);
		TAP_EQ_INT(fm_proto_decode_request(type, buf + FM_PROTO_HDR_SIZE, plen, &d), 0);
		TAP_CHECK(streq(d.service, s->service) && streq(d.image, s->image) &&
			  streq(d.altitude, s->altitude) && streq(d.instance, s->instance) &&
			  streq(d.key, s->key) && streq(d.name, s->name) &&
			  streq(d.filter, s->filter) && streq(d.volume, s->volume) &&
			  streq(d.backing, s->backing) && streq(d.mount_point, s->mount_point) &&
			  streq(d.fs_type, s->fs_type) && streq(d.target, s->target));
		TAP_EQ_INT(d.flags, s->flags);
		TAP_EQ_INT(d.vtype, s->vtype);
		TAP_EQ_INT(d.data_len, s->data_len);
		if (s->data_len)
			TAP_CHECK(memcmp(d.data, s->data, s->data_len) == 0);
		fm_proto_request_free(&d);

		/* Every truncation of the payload is rejected (or, for empty ones, accepted). */
		for (size_t cut = 0; cut < plen; cut++) {
			TAP_EQ_INT(fm_proto_decode_request(type, buf + FM_PROTO_HDR_SIZE, cut, &d),
				   -EPROTO);
		}
		fm_free(buf);
	}
}

static void t_request_encode_errors(void)
{
	struct fm_request r = {.type = FM_MSG_LOAD};
	uint8_t *buf;
	size_t len;
	static char big[FM_PROTO_MAX_PAYLOAD + 10];

	TAP_EQ_INT(fm_proto_encode_request(&r, &buf, &len), -EINVAL); /* service missing */
	r.type = 999;
	TAP_EQ_INT(fm_proto_encode_request(&r, &buf, &len), -EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	r.type = FM_MSG_LOAD;
	r.service = big;
	TAP_EQ_INT(fm_proto_encode_request(&r, &buf, &len), -EMSGSIZE);
}

static void t_decode_rejects(void)
{
	struct fm_request d;
	/* A string with a NUL inside, a u32 of the wrong size, an unknown type. */
	static const uint8_t nul[] = {3, 0, 0, 0, 'a', 0, 'b'};
	static const uint8_t u16[] = {1, 0, 0, 0, 'a', 2, 0, 0, 0, 1, 0};
	uint8_t hdr[FM_PROTO_HDR_SIZE] = {0x46, 0x4c, 0x54, 0x4d, 1, 0, 4, 0, 1, 0, 0x10, 0};
	uint16_t type;
	uint32_t len;

	TAP_EQ_INT(fm_proto_decode_request(FM_MSG_LOAD, nul, sizeof(nul), &d), -EPROTO);
	TAP_EQ_INT(fm_proto_decode_request(FM_MSG_UNLOAD, u16, sizeof(u16), &d), -EPROTO);
	TAP_EQ_INT(fm_proto_decode_request(0x77, NULL, 0, &d), -EPROTO);
	TAP_EQ_INT(fm_proto_decode_request(FM_MSG_PING, NULL, 0, &d), 0);
	fm_proto_request_free(&d);
	/* Header: 1 MiB + 1 is over the maximum, 1 MiB is not; bad magic; bad version. */
	TAP_EQ_INT(fm_proto_decode_header(hdr, &type, &len), -EMSGSIZE);
	hdr[8] = 0;
	TAP_EQ_INT(fm_proto_decode_header(hdr, &type, &len), 0);
	hdr[0] = 0;
	TAP_EQ_INT(fm_proto_decode_header(hdr, &type, &len), -EPROTO);
	hdr[0] = 0x46;
	hdr[4] = 2;
	TAP_EQ_INT(fm_proto_decode_header(hdr, &type, &len), -EPROTO);
}

static void t_reply_round_trip(void)
{
	const char *cells[] = {"Filter Name", "Num Instances", "nullfilter", "1", "other", ""};
	struct fm_reply r = {.kind = FM_STATUS_NT,
			     .status = (int32_t)0xc0000034,
			     .message = "no such service",
			     .ncols = 2,
			     .nrows = 3,
			     .cells = cells};
	struct fm_reply d;
	uint8_t *buf;
	size_t len;
	uint16_t type;
	uint32_t plen;

	TAP_EQ_INT(fm_proto_encode_reply(&r, &buf, &len), 0);
	TAP_EQ_INT(fm_proto_decode_header(buf, &type, &plen), 0);
	TAP_EQ_INT(type, FM_MSG_REPLY);
	TAP_EQ_INT(fm_proto_decode_reply(buf + FM_PROTO_HDR_SIZE, plen, &d), 0);
	TAP_EQ_INT(d.kind, FM_STATUS_NT);
	TAP_EQ_INT(d.status, (int32_t)0xc0000034);
	TAP_EQ_STR(d.message, "no such service");
	TAP_EQ_INT(d.ncols, 2);
	TAP_EQ_INT(d.nrows, 3);
	for (int i = 0; i < 6; i++)
		TAP_EQ_STR(d.cells[i], cells[i]);
	fm_proto_reply_free(&d);
	for (size_t cut = 0; cut < plen; cut++)
		TAP_EQ_INT(fm_proto_decode_reply(buf + FM_PROTO_HDR_SIZE, cut, &d), -EPROTO);
	fm_free(buf);

	/* A row count the payload cannot hold is rejected before anything is allocated:
	 * kind 0, status 0, message "", ncols 2, nrows 0x7fffffff. */
	{
		static const uint8_t q[] = {4, 0, 0, 0, 0, 0, 0, 0, 4,	  0,	0,    0,
					    0, 0, 0, 0, 0, 0, 0, 0, 4,	  0,	0,    0,
					    2, 0, 0, 0, 4, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f};

		TAP_EQ_INT(fm_proto_decode_reply(q, sizeof(q), &d), -EPROTO);
	}
}

static void t_status_text(void)
{
	char buf[128];

	fm_proto_status_text(FM_STATUS_ERRNO, -ENOENT, buf, sizeof(buf));
	TAP_EQ_STR(buf, strerror(ENOENT));
	fm_proto_status_text(FM_STATUS_ERRNO, 0, buf, sizeof(buf));
	TAP_EQ_STR(buf, "success");
	fm_proto_status_text(FM_STATUS_NT, (int32_t)0xc0000034, buf, sizeof(buf));
	TAP_EQ_STR(buf, "STATUS_OBJECT_NAME_NOT_FOUND (0xc0000034)");
	fm_proto_status_text(FM_STATUS_NT, (int32_t)0xc0fe1234, buf, sizeof(buf));
	TAP_EQ_STR(buf, "NTSTATUS 0xc0fe1234");
}

/* Random mutations of valid messages through the fuzz entry: must never crash (ASan). */
static void t_mutations(void)
{
	unsigned int seed = 12345;

	for (int iter = 0; iter < 20000; iter++) {
		const struct fm_request *s = &samples[(unsigned)iter % 10];
		uint8_t *buf;
		size_t len;

		if (fm_proto_encode_request(s, &buf, &len))
			continue;
		for (int m = 0; m < 1 + iter % 4; m++) {
			size_t at = (size_t)rand_r(&seed) % len;

			buf[at] = (uint8_t)rand_r(&seed);
		}
		/* Keep the header length consistent half of the time to reach the decoders. */
		if (iter & 1) {
			uint32_t pl = (uint32_t)(len - FM_PROTO_HDR_SIZE);

			buf[0] = 0x46, buf[1] = 0x4c, buf[2] = 0x54, buf[3] = 0x4d;
			buf[4] = 1, buf[5] = 0;
			buf[8] = (uint8_t)pl, buf[9] = (uint8_t)(pl >> 8);
			buf[10] = (uint8_t)(pl >> 16), buf[11] = (uint8_t)(pl >> 24);
		}
		fm_proto_fuzz_one(buf, len);
		fm_proto_fuzz_one(buf, (size_t)rand_r(&seed) % (len + 1));
		fm_free(buf);
	}
	TAP_CHECK(1);
}

static void t_socket_io(void)
{
	int sv[2];
	struct fm_request r = {.type = FM_MSG_LOAD, .service = "x"};
	uint8_t *buf, *payload;
	size_t len;
	uint16_t type;
	uint32_t plen;
	struct timespec a, b;

	TAP_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	TAP_EQ_INT(fm_proto_encode_request(&r, &buf, &len), 0);
	TAP_EQ_INT(fm_proto_send(sv[0], buf, len, 1000), 0);
	TAP_EQ_INT(fm_proto_recv(sv[1], 1000, &type, &payload, &plen), 0);
	TAP_EQ_INT(type, FM_MSG_LOAD);
	TAP_EQ_INT(plen, len - FM_PROTO_HDR_SIZE);
	fm_free(payload);

	/* Half a message, then silence: the reader gives up at its deadline. */
	TAP_EQ_INT(write(sv[0], buf, 7), 7);
	clock_gettime(CLOCK_MONOTONIC, &a);
	TAP_EQ_INT(fm_proto_recv(sv[1], 300, &type, &payload, &plen), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	TAP_CHECK(b.tv_sec - a.tv_sec < 3);

	/* The peer closes: before any byte -ENODATA, mid-message -ECONNRESET. */
	close(sv[0]);
	TAP_EQ_INT(fm_proto_recv(sv[1], 300, &type, &payload, &plen), -ENODATA);
	close(sv[1]);
	TAP_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	TAP_EQ_INT(write(sv[0], buf, len - 1), (long)len - 1);
	close(sv[0]);
	TAP_EQ_INT(fm_proto_recv(sv[1], 300, &type, &payload, &plen), -ECONNRESET);
	close(sv[1]);
	fm_free(buf);
}

int main(void)
{
	TAP_RUN(t_request_round_trip);
	TAP_RUN(t_request_encode_errors);
	TAP_RUN(t_decode_rejects);
	TAP_RUN(t_reply_round_trip);
	TAP_RUN(t_status_text);
	TAP_RUN(t_mutations);
	TAP_RUN(t_socket_io);
	return tap_done();
}
