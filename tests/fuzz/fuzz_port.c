/* Fuzz target for the communication-port wire parser (src/lib/portwire.h) and port names. */
#include "lib/portwire.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_port: property violated: %s\n", what);
		abort();
	}
}

/* Split a whole stream into frames as one side of a connection would. */
static void split(const uint8_t *data, size_t size, int from_client)
{
	size_t off = 0;

	while (off < size) {
		struct fm_pw_hdr h;
		const unsigned char *payload = NULL;
		long n = fm_pw_next(data + off, size - off, from_client, &h, &payload);

		if (n <= 0) {
			require(n == 0 || n == -71, "result is a size, 0 or -EPROTO");
			if (n == 0)
				require(size - off < sizeof(h) || size - off - sizeof(h) < h.len,
					"0 only when the frame is incomplete");
			return;
		}
		require((size_t)n == sizeof(h) + h.len, "size = header + payload");
		require((size_t)n <= size - off, "frame within the input");
		require(h.len <= FM_PW_MAX_PAYLOAD, "payload within the limit");
		require(payload == data + off + sizeof(h), "payload follows the header");
		require(fm_pw_check(&h, from_client) == 0, "accepted headers pass the check");
		require(h.type != FM_PW_CONNECT || h.len <= FM_PW_MAX_CONTEXT, "context limit");
		require(from_client ? h.type < 0x80 : h.type >= 0x80, "direction");
		off += (size_t)n;
	}
}

/*
 * Input: the first byte selects what to test.  0-1: a stream of frames from the client (0) or
 * the daemon (1); 2: a UTF-16 port name converted and escaped into a socket file name.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
	case 1:
		split(data + 1, size - 1, data[0] % 3 == 0);
		break;
	case 2: {
		uint16_t units[512];
		char utf8[1024], esc[108];
		size_t n = (size - 1) / 2;
		int len;

		if (n > 512)
			n = 512;
		memcpy(units, data + 1, n * 2);
		len = fm_pw_utf16_to_utf8(units, n, utf8, sizeof(utf8));
		if (len < 0)
			break;
		require((size_t)len == strlen(utf8), "length matches, no embedded NUL");
		len = fm_pw_escape(utf8, esc, sizeof(esc));
		if (len < 0)
			break;
		require((size_t)len == strlen(esc), "escaped length");
		for (int i = 0; i < len; i++)
			require(esc[i] != '/' && esc[i] != '\\' && (unsigned char)esc[i] > ' ' &&
				    (unsigned char)esc[i] < 0x7f,
				"escaped names are one plain path component");
		require(esc[0] != '.', "no hidden, '.' or '..' socket names");
		break;
	}
	}
	return 0;
}
