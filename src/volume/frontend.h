/* The FUSE front-end: kernel requests become IRP sequences on a volume (private to src/volume). */
#ifndef FM_VOLUME_FRONTEND_H
#define FM_VOLUME_FRONTEND_H

#include "core/core.h"
#include "volume/fuse_dev.h"
#include "volume/lowerfs.h"
#include "volume/volume.h"

struct fm_fe;

/* The FUSE operations; the session's userdata must be the struct fm_fe. */
extern const struct fm_fuse_ops fm_frontend_ops;

/*
 * Create the front-end state for a lower.  The core volume is attached later with
 * fm_fe_set_volume (it is created after the lower and before the mount).  0 / -errno.
 */
int fm_fe_create(struct fm_lower *lw, struct fm_fe **out);
void fm_fe_set_volume(struct fm_fe *fe, struct fm_volume *vol);

/* The cache policy (before the mount), and how many opens use kernel passthrough now. */
void fm_fe_set_cache_policy(struct fm_fe *fe, enum fm_cache_policy policy);
unsigned long fm_fe_passthrough_opens(struct fm_fe *fe);

/*
 * Before a dismount, with the write-back cache: the kernel writes back the dirty pages of every
 * file still open and drops their pages (reads of descriptors still open then fail closed).
 * Waits at most 5 s (a filter holding one of the file's reads may block it).
 */
void fm_fe_flush_cache(struct fm_fe *fe, struct fm_fuse_session *s);

/*
 * Stop serving: new requests get ENOTCONN, requests in flight are waited for (bounded), and
 * every handle still open is closed through the IRP path (IRP_MJ_CLEANUP + IRP_MJ_CLOSE, as a
 * forced dismount).  Call before fm_volume_destroy.
 */
void fm_fe_shutdown(struct fm_fe *fe);

/* Free the front-end (after the FUSE session is gone). */
void fm_fe_destroy(struct fm_fe *fe);

#endif
