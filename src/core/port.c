/* Communication ports (kernel side): server ports as UNIX sockets, client ports, FltSendMessage. */
#include "core/port.h"

#include "common/alloc.h"
#include "common/log.h"
#include "core/core_i.h"
#include "lib/portwire.h"
#include "nt/ke.h"
#include "nt/security.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef STATUS_CONNECTION_COUNT_LIMIT
#define STATUS_CONNECTION_COUNT_LIMIT ((NTSTATUS)0xC0000246L)
#endif

/*
 * Objects.  A PFLT_PORT is either a server port (struct fm_sport) or a client port (struct
 * fm_cport, one per connection); the first field tells which.  g_lock guards both lists, the
 * state fields of every port and each connection's waiters; sockets are written outside it
 * (under the connection's wlock).  Server ports stay allocated while a connection uses their
 * callbacks; every port thread holds a reference on its filter until it exits, so unloading
 * (which shuts the sockets down) waits for them through the filter's rundown.
 */
enum { FM_MAGIC_SPORT = 0x54505346, FM_MAGIC_CPORT = 0x54504346 };
enum { FM_PORT_ROOT_ONLY, FM_PORT_EVERYONE, FM_PORT_DACL };

struct fm_sport {
	uint32_t magic;
	struct fm_filter *filter;
	char name[256]; /* UTF-8 */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd;
	int access;  /* FM_PORT_ROOT_ONLY, FM_PORT_EVERYONE (NULL DACL) or FM_PORT_DACL */
	ACL *dacl;   /* FM_PORT_DACL: a copy of the descriptor's DACL, after this struct */
	bool closed; /* no new connections (FltCloseCommunicationPort or unload) */
	bool creator_ref;
	long refs; /* creator, accept thread, connections; g_lock */
	LONG max_conn;
	LONG nconn;
	PVOID cookie;
	PFLT_CONNECT_NOTIFY connect_fn;
	PFLT_DISCONNECT_NOTIFY disconnect_fn;
	PFLT_MESSAGE_NOTIFY message_fn;
	pthread_t acceptor;
	bool acceptor_running;
	struct fm_sport *next;
};

/* A FltSendMessage waiting for FilterReplyMessage. */
struct fm_waiter {
	uint64_t id;
	void *buf;
	ULONG cap;
	ULONG got;
	NTSTATUS status;
	bool done;
	struct fm_waiter *next;
};

struct fm_cport {
	uint32_t magic;
	struct fm_sport *sp;
	struct fm_filter *filter;
	int fd;
	pid_t pid;
	uid_t uid;
	long refs;	       /* reader thread, the filter's handle, senders; g_lock */
	bool ready;	       /* ConnectNotify succeeded: counts as a connection */
	bool dead;	       /* socket shut down: senders fail, the reader leaves */
	bool notified;	       /* DisconnectNotify called (or not to be called) */
	bool filter_closed;    /* FltCloseClientPort done */
	PVOID cookie;	       /* ConnectionCookie */
	unsigned long credits; /* FilterGetMessage calls waiting in the client */
	pthread_cond_t cv;
	pthread_mutex_t wlock;
	struct fm_waiter *waiters;
	struct fm_cport *next;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fm_sport *g_sports; /* listening, by name */
static struct fm_cport *g_conns;  /* every connection not yet freed */
static uint64_t g_next_msg_id;
static char *g_root;

/* ---- Root directory ---- */

int fm_core_set_root(const char *root)
{
	char *copy = fm_strdup(root);

	if (!copy)
		return -ENOMEM;
	pthread_mutex_lock(&g_lock);
	fm_free(g_root);
	g_root = copy;
	pthread_mutex_unlock(&g_lock);
	return 0;
}

const char *fm_core_root(void)
{
	const char *env;

	if (g_root)
		return g_root;
	env = getenv("FLTMGR_ROOT");
	return env && *env ? env : FM_PW_DEFAULT_ROOT;
}

/* ---- Helpers ---- */

/* Filter callbacks from port threads: the filter's code must stay mapped while it runs. */
static bool filter_get(struct fm_filter *f, bool even_unloading)
{
	atomic_fetch_add(&f->refs, 1);
	if (!even_unloading && atomic_load(&f->unloading)) {
		atomic_fetch_sub(&f->refs, 1);
		return false;
	}
	return true;
}

static void filter_put(struct fm_filter *f)
{
	atomic_fetch_sub(&f->refs, 1);
}

/* g_lock held. */
static void sport_put_locked(struct fm_sport *sp)
{
	if (--sp->refs > 0)
		return;
	fm_free(sp);
}

/* g_lock held.  Frees the connection at the last reference. */
static void cport_put_locked(struct fm_cport *cp)
{
	struct fm_cport **pp;

	if (--cp->refs > 0)
		return;
	for (pp = &g_conns; *pp; pp = &(*pp)->next) {
		if (*pp == cp) {
			*pp = cp->next;
			break;
		}
	}
	if (cp->fd >= 0)
		close(cp->fd);
	pthread_cond_destroy(&cp->cv);
	pthread_mutex_destroy(&cp->wlock);
	cp->magic = 0;
	sport_put_locked(cp->sp);
	fm_free(cp);
}

/* g_lock held.  Stops the socket; senders and waiters wake up. */
static void cport_kill_locked(struct fm_cport *cp)
{
	if (cp->dead)
		return;
	cp->dead = true;
	shutdown(cp->fd, SHUT_RDWR);
	pthread_cond_broadcast(&cp->cv);
}

/* One frame: header then payload, under the connection's write lock. */
static int send_frame(struct fm_cport *cp, uint16_t type, uint32_t seq, uint64_t id, uint32_t arg,
		      const void *payload, uint32_t len)
{
	struct fm_pw_hdr h = {
	    .magic = FM_PW_MAGIC, .type = type, .len = len, .seq = seq, .id = id, .arg = arg};
	int rc;

	pthread_mutex_lock(&cp->wlock);
	rc = fm_pw_write_all(cp->fd, &h, sizeof(h));
	if (rc == 0 && len)
		rc = fm_pw_write_all(cp->fd, payload, len);
	pthread_mutex_unlock(&cp->wlock);
	return rc;
}

static void set_timeout(int fd, int opt, int seconds)
{
	struct timeval tv = {seconds, 0};

	setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

/* ---- Security descriptors ---- */

/*
 * What FltBuildDefaultSecurityDescriptor hands out: an absolute descriptor whose DACL grants
 * DesiredAccess to SYSTEM and BUILTIN\Administrators (on Linux: root and fltmgrd's own uid),
 * all in one allocation that FltFreeSecurityDescriptor releases.
 */
struct fm_default_sd {
	SECURITY_DESCRIPTOR sd;
	union {
		ACL acl;
		ULONG space[64];
	} dacl;
};

NTSTATUS FLTAPI FltBuildDefaultSecurityDescriptor(PSECURITY_DESCRIPTOR *SecurityDescriptor,
						  ACCESS_MASK DesiredAccess)
{
	struct fm_default_sd *d;
	NTSTATUS st;

	if (!SecurityDescriptor)
		return STATUS_INVALID_PARAMETER;
	*SecurityDescriptor = NULL;
	d = fm_calloc(1, sizeof(*d));
	if (!d)
		return STATUS_INSUFFICIENT_RESOURCES;
	st = RtlCreateSecurityDescriptor(&d->sd, SECURITY_DESCRIPTOR_REVISION);
	if (NT_SUCCESS(st))
		st = RtlCreateAcl(&d->dacl.acl, sizeof(d->dacl), ACL_REVISION);
	if (NT_SUCCESS(st))
		st = RtlAddAccessAllowedAce(&d->dacl.acl, ACL_REVISION, DesiredAccess,
					    SeExports->SeLocalSystemSid);
	if (NT_SUCCESS(st))
		st = RtlAddAccessAllowedAce(&d->dacl.acl, ACL_REVISION, DesiredAccess,
					    SeExports->SeAliasAdminsSid);
	if (NT_SUCCESS(st))
		st = RtlSetDaclSecurityDescriptor(&d->sd, TRUE, &d->dacl.acl, FALSE);
	if (!NT_SUCCESS(st)) {
		fm_free(d);
		return st;
	}
	*SecurityDescriptor = &d->sd;
	return STATUS_SUCCESS;
}

void FLTAPI FltFreeSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor)
{
	/* Only descriptors from FltBuildDefaultSecurityDescriptor come here; sd is first. */
	fm_free(SecurityDescriptor);
}

/*
 * How a port created with descriptor sd admits peers: no descriptor or no DACL present ->
 * root only (the default an object gets from a kernel-mode creator); a NULL DACL ->
 * everyone; otherwise the DACL's ACEs decide (*dacl).  Negative: a malformed descriptor or
 * DACL (STATUS_INVALID_SECURITY_DESCR / STATUS_INVALID_ACL).
 */
static NTSTATUS port_access_of(PSECURITY_DESCRIPTOR sd, int *access, const ACL **dacl)
{
	int rc;

	*access = FM_PORT_ROOT_ONLY;
	*dacl = NULL;
	if (!sd)
		return STATUS_SUCCESS;
	rc = fm_sec_dacl_of(sd, dacl);
	if (rc < 0)
		return STATUS_INVALID_SECURITY_DESCR;
	if (rc == 0)
		return STATUS_SUCCESS;
	if (!*dacl) {
		*access = FM_PORT_EVERYONE;
		return STATUS_SUCCESS;
	}
	if (!fm_sec_valid_acl(*dacl))
		return STATUS_INVALID_ACL;
	*access = FM_PORT_DACL;
	return STATUS_SUCCESS;
}

/* Whether the peer on fd (uid/gid from SO_PEERCRED) may connect to sp. */
static bool port_admits(const struct fm_sport *sp, int fd, const struct ucred *cred)
{
	struct fm_sec_subject who = {.uid = cred->uid, .gid = cred->gid};
	gid_t groups[256];
	socklen_t gl = sizeof(groups);

	who.system = cred->uid == 0 || cred->uid == geteuid();
	if (sp->access == FM_PORT_EVERYONE)
		return true;
	if (sp->access == FM_PORT_ROOT_ONLY)
		return who.system;
	/* The peer's supplementary groups as they were when it connected. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &gl) == 0) {
		who.groups = groups;
		who.ngroups = gl / sizeof(gid_t);
	}
	return fm_sec_access_check(sp->dacl, &who, FLT_PORT_CONNECT, FLT_PORT_ALL_ACCESS);
}

/* ---- Connections ---- */

static void call_disconnect(struct fm_cport *cp)
{
	struct fm_filter *prev = fm__enter_filter(cp->filter);

	cp->sp->disconnect_fn(cp->cookie);
	fm__leave_filter(prev);
}

/* The handshake: creds, CONNECT frame, security, limits, ConnectNotify.  true if connected. */
static bool conn_handshake(struct fm_cport *cp)
{
	struct fm_sport *sp = cp->sp;
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct fm_pw_hdr h;
	unsigned char ctx[FM_PW_MAX_CONTEXT];
	NTSTATUS st = STATUS_SUCCESS;
	PVOID cookie = NULL;
	bool counted = false;

	if (getsockopt(cp->fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0)
		return false;
	cp->pid = cred.pid;
	cp->uid = cred.uid;
	/* A client that connects and says nothing must not hold a thread forever. */
	set_timeout(cp->fd, SO_RCVTIMEO, 5);
	if (fm_pw_read_all(cp->fd, &h, sizeof(h)) < 0 || fm_pw_check(&h, 1) < 0 ||
	    h.type != FM_PW_CONNECT || fm_pw_read_all(cp->fd, ctx, h.len) < 0) {
		fm_log(FM_LOG_WARN, cp->filter->service,
		       "port %s: pid %d sent no valid connect request", sp->name, (int)cp->pid);
		return false;
	}
	set_timeout(cp->fd, SO_RCVTIMEO, 0);
	/* Send timeouts bound how long a client that stops reading can stall a sender. */
	set_timeout(cp->fd, SO_SNDTIMEO, 5);

	pthread_mutex_lock(&g_lock);
	if (!port_admits(sp, cp->fd, &cred))
		st = STATUS_ACCESS_DENIED;
	else if (sp->closed)
		st = STATUS_OBJECT_NAME_NOT_FOUND;
	else if (sp->nconn >= sp->max_conn)
		st = STATUS_CONNECTION_COUNT_LIMIT;
	else {
		sp->nconn++;
		counted = true;
	}
	pthread_mutex_unlock(&g_lock);

	if (NT_SUCCESS(st)) {
		/* The filter's ClientPort reference, taken before it can see the port. */
		pthread_mutex_lock(&g_lock);
		cp->refs++;
		pthread_mutex_unlock(&g_lock);
		if (filter_get(cp->filter, false)) {
			struct fm_filter *prev = fm__enter_filter(cp->filter);
			int old = fm_nt_set_current_pid(cp->pid);

			st = sp->connect_fn((PFLT_PORT)cp, sp->cookie, h.len ? ctx : NULL, h.len,
					    &cookie);
			fm_nt_set_current_pid(old);
			fm__leave_filter(prev);
			filter_put(cp->filter);
		} else {
			st = STATUS_FLT_DELETING_OBJECT;
		}
	}
	if (!NT_SUCCESS(st)) {
		fm_log(FM_LOG_INFO, cp->filter->service, "port %s: refused pid %d uid %u (0x%08X)",
		       sp->name, (int)cp->pid, (unsigned int)cp->uid, (unsigned int)st);
		pthread_mutex_lock(&g_lock);
		if (counted) {
			sp->nconn--;
			if (!cp->filter_closed) {
				cp->filter_closed = true;
				cport_put_locked(cp);
			}
		}
		pthread_mutex_unlock(&g_lock);
		send_frame(cp, FM_PW_CONNECT_ACK, h.seq, 0, (uint32_t)st, NULL, 0);
		return false;
	}

	pthread_mutex_lock(&g_lock);
	cp->cookie = cookie;
	cp->ready = true;
	if (cp->dead && !cp->notified) {
		/* The filter unloaded during ConnectNotify: it still gets its disconnect. */
		cp->notified = true;
		pthread_mutex_unlock(&g_lock);
		call_disconnect(cp);
		return false;
	}
	pthread_mutex_unlock(&g_lock);
	fm_log(FM_LOG_INFO, cp->filter->service, "port %s: connected pid %d uid %u", sp->name,
	       (int)cp->pid, (unsigned int)cp->uid);
	if (send_frame(cp, FM_PW_CONNECT_ACK, h.seq, 0, (uint32_t)STATUS_SUCCESS, NULL, 0) < 0)
		return true; /* the reader notices the dead socket and disconnects */
	return true;
}

/* A FilterSendMessage being served: MessageNotify runs on its own thread so that the
 * connection's reader keeps reading (the callback may FltSendMessage to the same client and
 * wait for its FilterReplyMessage). */
struct fm_send_job {
	struct fm_cport *cp;
	struct fm_pw_hdr h;
	void *in;
};

static void *send_main(void *arg)
{
	struct fm_send_job *job = arg;
	struct fm_cport *cp = job->cp;
	struct fm_sport *sp = cp->sp;
	struct fm_filter *f = cp->filter;
	void *out = NULL;
	ULONG ret = 0;
	NTSTATUS st;

	if (job->h.arg && !(out = fm_calloc(1, job->h.arg))) {
		st = STATUS_INSUFFICIENT_RESOURCES;
	} else {
		struct fm_filter *prev = fm__enter_filter(f);
		int old = fm_nt_set_current_pid(cp->pid);

		st = sp->message_fn(cp->cookie, job->h.len ? job->in : NULL, job->h.len, out,
				    job->h.arg, &ret);
		fm_nt_set_current_pid(old);
		fm__leave_filter(prev);
		if (ret > job->h.arg)
			ret = job->h.arg;
	}
	if (NT_ERROR(st))
		ret = 0;
	send_frame(cp, FM_PW_SEND_ACK, job->h.seq, 0, (uint32_t)st, out, ret);
	fm_free(out);
	fm_free(job->in);
	fm_free(job);
	pthread_mutex_lock(&g_lock);
	cport_put_locked(cp);
	pthread_mutex_unlock(&g_lock);
	/* Last: after this the filter may be freed. */
	filter_put(f);
	return NULL;
}

/* Takes ownership of `in`. */
static void handle_send(struct fm_cport *cp, const struct fm_pw_hdr *h, void *in)
{
	struct fm_send_job *job;
	pthread_attr_t attr;
	pthread_t t;
	NTSTATUS st = STATUS_INSUFFICIENT_RESOURCES;

	if (!cp->sp->message_fn) {
		st = STATUS_INVALID_PARAMETER;
		goto fail;
	}
	if (!filter_get(cp->filter, false)) {
		st = STATUS_PORT_DISCONNECTED;
		goto fail;
	}
	job = fm_calloc(1, sizeof(*job));
	if (!job) {
		filter_put(cp->filter);
		goto fail;
	}
	job->cp = cp;
	job->h = *h;
	job->in = in;
	pthread_mutex_lock(&g_lock);
	cp->refs++;
	pthread_mutex_unlock(&g_lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, send_main, job) == 0) {
		pthread_attr_destroy(&attr);
		return;
	}
	pthread_attr_destroy(&attr);
	pthread_mutex_lock(&g_lock);
	cport_put_locked(cp);
	pthread_mutex_unlock(&g_lock);
	filter_put(cp->filter);
	fm_free(job);
fail:
	fm_free(in);
	send_frame(cp, FM_PW_SEND_ACK, h->seq, 0, (uint32_t)st, NULL, 0);
}

static void handle_reply(struct fm_cport *cp, const struct fm_pw_hdr *h, const void *data)
{
	struct fm_waiter *w;
	NTSTATUS st = STATUS_FLT_NO_WAITER_FOR_REPLY;

	pthread_mutex_lock(&g_lock);
	for (w = cp->waiters; w; w = w->next) {
		if (w->id == h->id && !w->done) {
			ULONG n = h->len < w->cap ? h->len : w->cap;
			if (n)
				memcpy(w->buf, data, n);
			w->got = n;
			w->status = h->len > w->cap ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
			w->done = true;
			st = STATUS_SUCCESS;
			pthread_cond_broadcast(&cp->cv);
			break;
		}
	}
	pthread_mutex_unlock(&g_lock);
	send_frame(cp, FM_PW_REPLY_ACK, h->seq, 0, (uint32_t)st, NULL, 0);
}

/* Serve one connection: handshake, then frames until EOF, an error or a malformed frame. */
static void *conn_main(void *arg)
{
	struct fm_cport *cp = arg;
	struct fm_filter *f = cp->filter;
	bool notify = false;

	if (conn_handshake(cp)) {
		for (;;) {
			struct fm_pw_hdr h;
			void *payload = NULL;

			if (fm_pw_read_all(cp->fd, &h, sizeof(h)) < 0)
				break;
			if (fm_pw_check(&h, 1) < 0 || h.type == FM_PW_CONNECT) {
				fm_log(FM_LOG_WARN, f->service,
				       "port %s: malformed frame from pid %d; disconnecting",
				       cp->sp->name, (int)cp->pid);
				break;
			}
			if (h.len && !(payload = fm_malloc(h.len)))
				break;
			if (h.len && fm_pw_read_all(cp->fd, payload, h.len) < 0) {
				fm_free(payload);
				break;
			}
			if (h.type == FM_PW_GET) {
				pthread_mutex_lock(&g_lock);
				cp->credits++;
				pthread_cond_broadcast(&cp->cv);
				pthread_mutex_unlock(&g_lock);
			} else if (h.type == FM_PW_SEND) {
				handle_send(cp, &h, payload);
				continue; /* payload now belongs to the send */
			} else {
				handle_reply(cp, &h, payload);
			}
			fm_free(payload);
		}
	}

	pthread_mutex_lock(&g_lock);
	cport_kill_locked(cp);
	if (cp->ready && !cp->notified) {
		cp->notified = true;
		notify = true;
	}
	if (cp->ready) {
		cp->ready = false;
		cp->sp->nconn--;
	}
	pthread_mutex_unlock(&g_lock);
	if (notify) {
		fm_log(FM_LOG_INFO, f->service, "port %s: pid %d disconnected", cp->sp->name,
		       (int)cp->pid);
		call_disconnect(cp);
	}
	pthread_mutex_lock(&g_lock);
	cport_put_locked(cp);
	pthread_mutex_unlock(&g_lock);
	/* Last: after this the filter may be freed. */
	filter_put(f);
	return NULL;
}

static void *accept_main(void *arg)
{
	struct fm_sport *sp = arg;

	for (;;) {
		struct fm_cport *cp;
		pthread_attr_t attr;
		pthread_t t;
		pthread_condattr_t ca;
		int fd = accept4(sp->lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
			    errno == ENOBUFS) {
				usleep(100000);
				if (!__atomic_load_n(&sp->closed, __ATOMIC_SEQ_CST))
					continue;
			}
			break;
		}
		cp = fm_calloc(1, sizeof(*cp));
		if (!cp) {
			close(fd);
			continue;
		}
		cp->magic = FM_MAGIC_CPORT;
		cp->sp = sp;
		cp->filter = sp->filter;
		cp->fd = fd;
		cp->refs = 1;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&cp->cv, &ca);
		pthread_condattr_destroy(&ca);
		pthread_mutex_init(&cp->wlock, NULL);
		pthread_mutex_lock(&g_lock);
		if (sp->closed) {
			pthread_mutex_unlock(&g_lock);
			pthread_cond_destroy(&cp->cv);
			pthread_mutex_destroy(&cp->wlock);
			fm_free(cp);
			close(fd);
			break;
		}
		sp->refs++;
		cp->next = g_conns;
		g_conns = cp;
		pthread_mutex_unlock(&g_lock);
		filter_get(sp->filter, true);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, conn_main, cp) != 0) {
			pthread_mutex_lock(&g_lock);
			cp->dead = true;
			cport_put_locked(cp);
			pthread_mutex_unlock(&g_lock);
			filter_put(sp->filter);
		}
		pthread_attr_destroy(&attr);
	}
	return NULL;
}

/* ---- Server ports ---- */

static int make_port_path(const char *name, char *out, size_t cap)
{
	char esc[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char dir[4096];
	const char *root = fm_core_root();
	int n;

	if (fm_pw_escape(name, esc, sizeof(esc)) < 0)
		return -ENAMETOOLONG;
	n = snprintf(dir, sizeof(dir), "%s/%s", root, FM_PW_PORT_DIR);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return -ENAMETOOLONG;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	n = snprintf(out, cap, "%s/%s", dir, esc);
	if (n < 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	return 0;
}

NTSTATUS FLTAPI FltCreateCommunicationPort(PFLT_FILTER Filter, PFLT_PORT *ServerPort,
					   POBJECT_ATTRIBUTES ObjectAttributes,
					   PVOID ServerPortCookie,
					   PFLT_CONNECT_NOTIFY ConnectNotifyCallback,
					   PFLT_DISCONNECT_NOTIFY DisconnectNotifyCallback,
					   PFLT_MESSAGE_NOTIFY MessageNotifyCallback,
					   LONG MaxConnections)
{
	struct fm_filter *f = Filter;
	struct fm_sport *sp, *it;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	PUNICODE_STRING on;
	const ACL *dacl;
	NTSTATUS st;
	int rc, access;

	if (ServerPort)
		*ServerPort = NULL;
	if (!f || f->magic != FM_MAGIC_FILTER || !ServerPort || !ObjectAttributes ||
	    !ConnectNotifyCallback || !DisconnectNotifyCallback || MaxConnections <= 0)
		return STATUS_INVALID_PARAMETER;
	if (!(ObjectAttributes->Attributes & OBJ_KERNEL_HANDLE))
		return STATUS_INVALID_PARAMETER;
	on = ObjectAttributes->ObjectName;
	if (!on || !on->Buffer || on->Length < sizeof(WCHAR) || (on->Length & 1))
		return STATUS_OBJECT_NAME_INVALID;
	if (atomic_load(&f->unloading))
		return STATUS_FLT_DELETING_OBJECT;
	st = port_access_of(ObjectAttributes->SecurityDescriptor, &access, &dacl);
	if (!NT_SUCCESS(st))
		return st;
	/* The DACL is copied: filters free their descriptor right after this call. */
	sp = fm_calloc(1, sizeof(*sp) + (dacl ? dacl->AclSize : 0));
	if (!sp)
		return STATUS_INSUFFICIENT_RESOURCES;
	sp->access = access;
	if (dacl) {
		sp->dacl = (ACL *)(sp + 1);
		memcpy(sp->dacl, dacl, dacl->AclSize);
	}
	if (fm_pw_utf16_to_utf8((const uint16_t *)on->Buffer, on->Length / sizeof(WCHAR), sp->name,
				sizeof(sp->name)) < 0) {
		fm_free(sp);
		return STATUS_OBJECT_NAME_INVALID;
	}
	rc = make_port_path(sp->name, sp->path, sizeof(sp->path));
	if (rc < 0) {
		fm_free(sp);
		return rc == -ENAMETOOLONG ? STATUS_OBJECT_NAME_INVALID
					   : STATUS_INSUFFICIENT_RESOURCES;
	}
	sp->magic = FM_MAGIC_SPORT;
	sp->filter = f;
	sp->max_conn = MaxConnections;
	sp->cookie = ServerPortCookie;
	sp->connect_fn = ConnectNotifyCallback;
	sp->disconnect_fn = DisconnectNotifyCallback;
	sp->message_fn = MessageNotifyCallback;
	sp->refs = 2; /* creator, accept thread */
	sp->creator_ref = true;
	memcpy(addr.sun_path, sp->path, strlen(sp->path) + 1);

	pthread_mutex_lock(&g_lock);
	for (it = g_sports; it; it = it->next) {
		if (strcasecmp(it->name, sp->name) == 0) {
			pthread_mutex_unlock(&g_lock);
			fm_free(sp);
			return STATUS_OBJECT_NAME_COLLISION;
		}
	}
	/* fltmgrd holds the root's lock, so a socket file left here is a dead daemon's. */
	unlink(sp->path);
	sp->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sp->lfd < 0 || bind(sp->lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    chmod(sp->path, 0666) < 0 || listen(sp->lfd, 16) < 0) {
		fm_log(FM_LOG_WARN, f->service, "port %s: cannot listen on %s: %s", sp->name,
		       sp->path, strerror(errno));
		if (sp->lfd >= 0) {
			close(sp->lfd);
			unlink(sp->path);
		}
		pthread_mutex_unlock(&g_lock);
		fm_free(sp);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	filter_get(f, true); /* the accept thread's */
	if (pthread_create(&sp->acceptor, NULL, accept_main, sp) != 0) {
		filter_put(f);
		close(sp->lfd);
		unlink(sp->path);
		pthread_mutex_unlock(&g_lock);
		fm_free(sp);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	sp->acceptor_running = true;
	sp->next = g_sports;
	g_sports = sp;
	pthread_mutex_unlock(&g_lock);
	fm_log(FM_LOG_INFO, f->service, "port %s: listening on %s (%s, max %ld)", sp->name,
	       sp->path,
	       sp->access == FM_PORT_EVERYONE ? "everyone"
	       : sp->access == FM_PORT_DACL   ? "its DACL decides"
					      : "root only",
	       (long)MaxConnections);
	*ServerPort = (PFLT_PORT)sp;
	return STATUS_SUCCESS;
}

/* Stop listening: unlist, wake and join the accept thread, remove the socket file. */
static void sport_stop(struct fm_sport *sp)
{
	bool join;

	pthread_mutex_lock(&g_lock);
	if (!sp->closed) {
		struct fm_sport **pp;
		sp->closed = true;
		for (pp = &g_sports; *pp; pp = &(*pp)->next) {
			if (*pp == sp) {
				*pp = sp->next;
				break;
			}
		}
		/* accept() returns EINVAL once the listening socket is shut down. */
		shutdown(sp->lfd, SHUT_RDWR);
	}
	join = sp->acceptor_running;
	sp->acceptor_running = false;
	pthread_mutex_unlock(&g_lock);
	if (!join)
		return;
	pthread_join(sp->acceptor, NULL);
	close(sp->lfd);
	unlink(sp->path);
	filter_put(sp->filter);
	pthread_mutex_lock(&g_lock);
	sport_put_locked(sp); /* the accept thread's */
	pthread_mutex_unlock(&g_lock);
}

VOID FLTAPI FltCloseCommunicationPort(PFLT_PORT ServerPort)
{
	struct fm_sport *sp = (struct fm_sport *)ServerPort;
	bool drop;

	if (!sp || sp->magic != FM_MAGIC_SPORT) {
		fm_nt_misuse("FltCloseCommunicationPort with something that is not a server port");
		return;
	}
	sport_stop(sp);
	pthread_mutex_lock(&g_lock);
	drop = sp->creator_ref;
	sp->creator_ref = false;
	if (drop)
		sport_put_locked(sp);
	pthread_mutex_unlock(&g_lock);
}

VOID FLTAPI FltCloseClientPort(PFLT_FILTER Filter, PFLT_PORT *ClientPort)
{
	struct fm_cport *cp;

	(void)Filter;
	if (!ClientPort)
		return;
	pthread_mutex_lock(&g_lock);
	/* The filter's variable may be read by its other threads meanwhile (scanner): atomic. */
	cp = (struct fm_cport *)__atomic_exchange_n(ClientPort, NULL, __ATOMIC_ACQ_REL);
	if (cp && cp->magic == FM_MAGIC_CPORT && !cp->filter_closed) {
		cp->filter_closed = true;
		/* Closed by the filter itself: no DisconnectNotify for it afterwards. */
		cp->notified = true;
		cport_kill_locked(cp);
		cport_put_locked(cp);
	}
	pthread_mutex_unlock(&g_lock);
}

static void wait_until(struct fm_cport *cp, int64_t deadline)
{
	if (deadline == INT64_MAX) {
		pthread_cond_wait(&cp->cv, &g_lock);
	} else {
		struct timespec ts = {deadline / 1000000000, deadline % 1000000000};
		pthread_cond_timedwait(&cp->cv, &g_lock, &ts);
	}
}

NTSTATUS FLTAPI FltSendMessage(PFLT_FILTER Filter, PFLT_PORT *ClientPort, PVOID SenderBuffer,
			       ULONG SenderBufferLength, PVOID ReplyBuffer, PULONG ReplyLength,
			       PLARGE_INTEGER Timeout)
{
	struct fm_cport *cp;
	struct fm_waiter w = {0};
	int64_t deadline = fm_nt_deadline_ns(Timeout);
	NTSTATUS st;
	bool zero_wait = Timeout && Timeout->QuadPart == 0;

	(void)Filter;
	if (!ClientPort || (SenderBufferLength && !SenderBuffer) ||
	    SenderBufferLength > FM_PW_MAX_PAYLOAD || (ReplyBuffer && !ReplyLength))
		return STATUS_INVALID_PARAMETER;
	pthread_mutex_lock(&g_lock);
	cp = (struct fm_cport *)__atomic_load_n(ClientPort, __ATOMIC_ACQUIRE);
	if (!cp || cp->magic != FM_MAGIC_CPORT || cp->dead || cp->filter_closed) {
		pthread_mutex_unlock(&g_lock);
		return STATUS_PORT_DISCONNECTED;
	}
	cp->refs++;
	/* Delivery: wait for a FilterGetMessage the client has posted. */
	while (!cp->dead && cp->credits == 0) {
		if (zero_wait || fm_nt_mono_ns() >= deadline) {
			st = STATUS_TIMEOUT;
			goto out;
		}
		wait_until(cp, deadline);
	}
	if (cp->dead) {
		st = STATUS_PORT_DISCONNECTED;
		goto out;
	}
	cp->credits--;
	w.id = ++g_next_msg_id;
	if (ReplyBuffer) {
		w.buf = ReplyBuffer;
		w.cap = *ReplyLength;
		w.next = cp->waiters;
		cp->waiters = &w;
	}
	pthread_mutex_unlock(&g_lock);
	if (send_frame(cp, FM_PW_MSG, 0, w.id, ReplyBuffer ? *ReplyLength : 0, SenderBuffer,
		       SenderBufferLength) < 0) {
		pthread_mutex_lock(&g_lock);
		cport_kill_locked(cp);
	} else {
		pthread_mutex_lock(&g_lock);
	}
	if (!ReplyBuffer) {
		st = cp->dead ? STATUS_PORT_DISCONNECTED : STATUS_SUCCESS;
		goto out;
	}
	while (!w.done && !cp->dead) {
		if (zero_wait || fm_nt_mono_ns() >= deadline)
			break;
		wait_until(cp, deadline);
	}
	if (w.done) {
		st = w.status;
		*ReplyLength = w.got;
	} else {
		st = cp->dead ? STATUS_PORT_DISCONNECTED : STATUS_TIMEOUT;
	}
	for (struct fm_waiter **pp = &cp->waiters; *pp; pp = &(*pp)->next) {
		if (*pp == &w) {
			*pp = w.next;
			break;
		}
	}
out:
	cport_put_locked(cp);
	pthread_mutex_unlock(&g_lock);
	return st;
}

/* ---- Unload ---- */

void fm__ports_filter_close(struct fm_filter *f)
{
	struct fm_sport *sp;
	struct fm_cport *cp;

	/* Listening ports the filter left open (it should close them before unregistering). */
	for (;;) {
		pthread_mutex_lock(&g_lock);
		for (sp = g_sports; sp && sp->filter != f; sp = sp->next)
			;
		pthread_mutex_unlock(&g_lock);
		if (!sp)
			break;
		fm_verifier_misuse(f,
				   "communication port %s still open at FltUnregisterFilter (close "
				   "server ports first, R78); closing it",
				   sp->name);
		sport_stop(sp);
	}
	/* Connections: DisconnectNotify here for each not yet told, one at a time because the
	 * callback may close the client port (which can free it once its reader is gone). */
	for (;;) {
		pthread_mutex_lock(&g_lock);
		for (cp = g_conns; cp; cp = cp->next) {
			if (cp->filter == f && !cp->dead)
				break;
			if (cp->filter == f && cp->ready && !cp->notified)
				break;
		}
		if (!cp) {
			pthread_mutex_unlock(&g_lock);
			break;
		}
		cport_kill_locked(cp);
		if (cp->ready && !cp->notified) {
			cp->notified = true;
			cp->refs++;
			pthread_mutex_unlock(&g_lock);
			call_disconnect(cp);
			pthread_mutex_lock(&g_lock);
			if (!cp->filter_closed && fm_verifier_enabled(f)) {
				pid_t pid = cp->pid;
				pthread_mutex_unlock(&g_lock);
				fm_verifier_misuse(
				    f,
				    "client port of pid %d was not closed with "
				    "FltCloseClientPort in DisconnectNotify (leaked)",
				    (int)pid);
				pthread_mutex_lock(&g_lock);
			}
			cport_put_locked(cp);
		}
		pthread_mutex_unlock(&g_lock);
	}
}
