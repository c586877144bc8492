/* Communication ports inside the core: the daemon's root directory and unload-time closing. */
#ifndef FM_CORE_PORT_H
#define FM_CORE_PORT_H

struct fm_filter;

/*
 * The daemon's --root: server ports live in <root>/ports/.  Called once by fltmgrd at start,
 * before any filter loads; the string is copied.  Without it (unit tests), the root is
 * $FLTMGR_ROOT, else /var/lib/fltmgr.  0 or -ENOMEM.
 */
int fm_core_set_root(const char *root);
/* The root set above (or the fallback); valid until the next fm_core_set_root. */
const char *fm_core_root(void);

/*
 * Called by FltUnregisterFilter with the model lock held: stops the filter's server ports that
 * are still listening, disconnects every client of the filter (DisconnectNotify runs here, on
 * the calling thread, for connections it was not yet called for) and wakes FltSendMessage
 * callers (STATUS_PORT_DISCONNECTED).  Port threads hold filter references until they exit, so
 * the caller's rundown wait covers them.
 */
void fm__ports_filter_close(struct fm_filter *f);

#endif
