/* deadmount: recognise and remove the FUSE mount of a filter manager daemon that died. */
#ifndef FM_COMMON_DEADMOUNT_H
#define FM_COMMON_DEADMOUNT_H

#include <stdbool.h>

/*
 * True when the topmost mount at `path` is a fltmgr volume (fuse.fltmgr) whose daemon is gone:
 * the kernel answers ENOTCONN for it.  A live volume, another file system, or no mount at all
 * is false.  `path` must be absolute and canonical (as the daemon recorded it).
 */
bool fm_dead_mount(const char *path);

/*
 * Detach every dead fltmgr mount stacked at `path` (umount2 MNT_DETACH).  Returns how many
 * were removed, or -errno when one could not be.
 */
int fm_dead_mount_remove(const char *path);

#endif
