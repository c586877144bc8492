/* Reading directory-information buffers that filters may have rewritten (dirinfo.h). */
#include "volume/dirinfo.h"

#include "common/log.h"
#include "common/ntname.h"

#include <fltKernel.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

/* The longest NT name that can still be the image of a Linux name (NAME_MAX bytes). */
#define MAX_NAME_UNITS NAME_MAX

mode_t fm_dirinfo_mode(uint32_t attrs, uint32_t tag)
{
	if (attrs & FILE_ATTRIBUTE_DIRECTORY)
		return S_IFDIR;
	if (attrs & FILE_ATTRIBUTE_REPARSE_POINT) {
		switch (tag) {
		case IO_REPARSE_TAG_LX_SYMLINK:
			return S_IFLNK;
		case IO_REPARSE_TAG_LX_FIFO:
			return S_IFIFO;
		case IO_REPARSE_TAG_LX_CHR:
			return S_IFCHR;
		case IO_REPARSE_TAG_LX_BLK:
			return S_IFBLK;
		case IO_REPARSE_TAG_AF_UNIX:
			return S_IFSOCK;
		default:
			break;
		}
	}
	return S_IFREG;
}

int fm_dirinfo_walk(const void *buf, size_t len, fm_dirinfo_emit_fn emit, void *arg)
{
	const size_t fixed = offsetof(FILE_ID_EXTD_DIR_INFORMATION, FileName);
	const unsigned char *p = buf;
	uint16_t units[MAX_NAME_UNITS];
	char name[NAME_MAX * 3 + 1];
	size_t off = 0;
	int rc;

	while (len >= fixed && off <= len - fixed) {
		FILE_ID_EXTD_DIR_INFORMATION e;
		size_t nunits;
		uint64_t ino;
		long n;

		memcpy(&e, p + off, fixed);
		if (e.FileNameLength > len - off - fixed)
			break; /* the name runs past the buffer: nothing after it can be trusted */
		nunits = e.FileNameLength / sizeof(WCHAR);
		if (nunits == 0 || nunits > MAX_NAME_UNITS || (e.FileNameLength & 1)) {
			fm_debug("dirinfo: entry with a name of %lu bytes skipped",
				 (unsigned long)e.FileNameLength);
		} else {
			/* The entry may be unaligned: copy the name out before reading it. */
			memcpy(units, p + off + fixed, nunits * sizeof(uint16_t));
			n = fm_name_from_nt(units, nunits, name, sizeof(name), 0);
			if (n > 0 && n <= NAME_MAX) {
				name[n] = '\0';
				memcpy(&ino, &e.FileId, sizeof(ino));
				rc = emit(arg, name, (size_t)n, ino,
					  fm_dirinfo_mode(e.FileAttributes, e.ReparsePointTag));
				if (rc)
					return rc;
			} else {
				fm_debug("dirinfo: entry with an invalid name skipped");
			}
		}
		if (!e.NextEntryOffset)
			break;
		off += e.NextEntryOffset;
	}
	return 0;
}
