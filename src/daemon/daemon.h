/* fltmgrd internals shared by its main loop and its request handlers. */
#ifndef FM_DAEMON_DAEMON_H
#define FM_DAEMON_DAEMON_H

#include "proto/proto.h"

#include <stdbool.h>
#include <stddef.h>

/* Default state directory; --root overrides it. */
#define FM_DAEMON_DEFAULT_ROOT "/var/lib/fltmgr"
/* How long a client may take to send its request or read our reply. */
#define FM_DAEMON_IO_TIMEOUT_MS 5000

/*
 * A reply under construction: the status, a message, and a table whose cells the builder
 * owns.  fm_daemon_reply_* allocate with fm_malloc; fm_daemon_reply_fini releases.
 */
struct fm_daemon_reply {
	struct fm_reply rep;
	char msg[512];
	char **cells;
	size_t ncells, cap;
	bool oom; /* a cell could not be stored: the handler reports -ENOMEM */
};

void fm_daemon_reply_init(struct fm_daemon_reply *r);
void fm_daemon_reply_fini(struct fm_daemon_reply *r);
/* Set the status and a printf-style message. */
void fm_daemon_reply_status(struct fm_daemon_reply *r, unsigned int kind, int status,
			    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Append one row of r->rep.ncols cells (the first row appended is the header). */
void fm_daemon_reply_row(struct fm_daemon_reply *r, const char *const *cells);

/*
 * Carry out one decoded request (main thread only) and fill the reply.  Never fails: errors
 * go into the reply's status and message.
 */
void fm_daemon_handle(const struct fm_request *req, struct fm_daemon_reply *r);

/* Unmount every volume the daemon mounted (shutdown), newest first. */
void fm_daemon_unmount_all(void);
/* The volumes mounted now (main thread only): how many, and the i-th one's mount point. */
size_t fm_daemon_nvolumes(void);
const char *fm_daemon_volume_mount_point(size_t i);

/*
 * Check the registry for -n: print each service with its image and instances to stdout,
 * problems to stderr.  Returns the number of problems found.  The registry must be loaded.
 */
int fm_daemon_check_registry(void);

/*
 * Startup (startup.c): mount the volumes listed in <root>/volumes.conf, then load the services
 * whose Start is boot (0), system (1) or auto (2), in load-order-group then altitude order.
 * Returns the number of problems (each logged); the daemon serves anyway.
 */
int fm_daemon_startup(const char *root);
/* The same for -n: check volumes.conf and print the autostart order; returns problems. */
int fm_daemon_check_startup(const char *root);

#endif
