/* Linux name bytes <-> NT UTF-16 names, WSL style: every Linux name round-trips. */
#ifndef FM_COMMON_NTNAME_H
#define FM_COMMON_NTNAME_H

#include <stddef.h>
#include <stdint.h>

/*
 * One component or a whole path.  Linux -> NT: valid UTF-8 converts as is (to UTF-16, with
 * surrogate pairs above U+FFFF); each of the characters NT forbids in a name component
 * (\ : * ? " < > | and, as WSL does, control characters 1-31) maps to U+F000 + the byte;
 * every byte that is not part of valid UTF-8 maps to a lone surrogate U+DC80 + (byte - 0x80)
 * (bytes < 0x80 are always valid).  So that the mapping stays one-to-one, a UTF-8 sequence
 * that encodes a code point in U+F000..U+F0FF counts as invalid too (its bytes are escaped
 * one by one), as does any encoded surrogate.  In a path, '/' becomes '\'.  NT -> Linux is the exact
 * inverse; a UTF-16 string that is not the image of some Linux name (a lone surrogate outside
 * U+DC80..U+DCFF, a raw forbidden character inside a component, U+0000) is rejected.
 *
 * Both return the number of output units written (not counting any terminator; a terminator
 * is added when there is room), or -ENAMETOOLONG when `cap` is too small, or -EINVAL when the
 * input is not convertible (the caller maps that to STATUS_OBJECT_NAME_INVALID).
 */
long fm_name_to_nt(const char *in, size_t len, uint16_t *out, size_t cap, int is_path);
long fm_name_from_nt(const uint16_t *in, size_t len, char *out, size_t cap, int is_path);

#endif
