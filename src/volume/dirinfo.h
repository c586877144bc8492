/*
 * Reading a directory-information buffer that came back through the filters: the lower file
 * system wrote it, but any filter's post-operation may have rewritten it (hidden entries,
 * renamed ones, a swapped buffer), so it is untrusted input.
 */
#ifndef FM_VOLUME_DIRINFO_H
#define FM_VOLUME_DIRINFO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Called for each usable entry: `name` is the Linux name (NUL-terminated, `len` bytes, never
 * empty, never containing '/' or NUL), `ino` the FileId, `mode` the S_IF* type.  A non-zero
 * return stops the walk and is returned by fm_dirinfo_walk.
 */
typedef int (*fm_dirinfo_emit_fn)(void *arg, const char *name, size_t len, uint64_t ino,
				  mode_t mode);

/*
 * Walk a FileIdExtdDirectoryInformation chain of `len` bytes.  Entries are followed by
 * NextEntryOffset while a whole fixed part fits; an entry whose name runs past the buffer ends
 * the walk; an entry whose name is not the image of a Linux name (docs/names.md) is skipped.
 * Returns 0 or the first non-zero result of `emit`.  Never reads outside [buf, buf + len) and
 * does not need `buf` to be aligned.
 */
int fm_dirinfo_walk(const void *buf, size_t len, fm_dirinfo_emit_fn emit, void *arg);

/* The file type an entry's attributes and reparse tag stand for (S_IFREG by default). */
mode_t fm_dirinfo_mode(uint32_t attrs, uint32_t tag);

#endif
