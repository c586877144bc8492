/* xorview: undo the xorcrypt sample's transform, to check what a volume stored on its backing. */
#ifndef FM_TESTS_XORVIEW_H
#define FM_TESTS_XORVIEW_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * filters/xorcrypt rotates each byte left by 1 + key[pos % keylen] % 7 bits, pos being the
 * byte's file offset.  xorview_decode turns backing bytes read at file offset `pos` back into
 * what a process sees through the volume.  The key is the filter's built-in one unless the test
 * set its Key value.
 */
#define XORVIEW_DEFAULT_KEY "fltmgr-xorcrypt"

static inline void xorview_decode(unsigned char *buf, size_t len, uint64_t pos, const char *key)
{
	size_t klen = strlen(key);

	for (size_t i = 0; i < len; i++) {
		unsigned int r = 1 + (unsigned char)key[(pos + i) % klen] % 7;
		unsigned char c = buf[i];

		buf[i] = (unsigned char)((c >> r) | (c << (8 - r)));
	}
}

#endif
