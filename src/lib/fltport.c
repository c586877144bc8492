/* libfltlib communication ports: FilterConnectCommunicationPort, Send/Get/ReplyMessage. */
#include "lib/fltlib_i.h"
#include "lib/portwire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define FL_ERROR_CONNECTION_COUNT_LIMIT 1238L
#define FL_ERROR_FLT_NO_WAITER_FOR_REPLY 0x801F0020L
#ifndef STATUS_FLT_NO_WAITER_FOR_REPLY
#define STATUS_FLT_NO_WAITER_FOR_REPLY ((NTSTATUS)0xC01C0020L)
#endif

/*
 * A port handle owns one socket to fltmgrd and a reader thread that demultiplexes what
 * arrives: kernel messages go to the oldest pending FilterGetMessage (or wait in `queue` when
 * none is pending, which happens after a cancel: each FilterGetMessage that found nothing
 * queued sent the daemon one GET credit), acknowledgements to the request with the same seq.
 * Everything below is guarded by the port's mutex `m`; writes to the socket by `wm`.
 */
struct fl_get {
	PFILTER_MESSAGE_HEADER buf;
	DWORD size;
	LPOVERLAPPED ov; /* NULL: a blocking caller waits on the port's cv */
	bool done;
	DWORD error;
	DWORD bytes;
	struct fl_get *next;
};

struct fl_msg {
	uint64_t id;
	uint32_t reply_len;
	uint32_t len;
	struct fl_msg *next;
	unsigned char data[];
};

struct fl_ack {
	uint32_t seq;
	bool done;
	NTSTATUS status;
	void *out;
	DWORD cap;
	DWORD got;
	struct fl_ack *next;
};

struct fl_port {
	struct fl_obj o;
	int fd;
	pthread_mutex_t m;
	pthread_cond_t cv;
	pthread_mutex_t wm;
	pthread_t reader;
	bool dead;    /* the connection is gone */
	bool closing; /* CloseHandle in progress */
	long users;   /* callers inside Filter* routines on this handle */
	HANDLE iocp;
	ULONG_PTR key;
	uint32_t next_seq;
	struct fl_get *gets, **gets_tail;
	struct fl_msg *queue, **queue_tail;
	struct fl_ack *acks;
};

static int send_frame(struct fl_port *p, uint16_t type, uint32_t seq, uint64_t id, uint32_t arg,
		      const void *a, uint32_t alen, const void *b, uint32_t blen)
{
	struct fm_pw_hdr h = {.magic = FM_PW_MAGIC,
			      .type = type,
			      .len = alen + blen,
			      .seq = seq,
			      .id = id,
			      .arg = arg};
	int rc;

	pthread_mutex_lock(&p->wm);
	rc = fm_pw_write_all(p->fd, &h, sizeof(h));
	if (rc == 0 && alen)
		rc = fm_pw_write_all(p->fd, a, alen);
	if (rc == 0 && blen)
		rc = fm_pw_write_all(p->fd, b, blen);
	pthread_mutex_unlock(&p->wm);
	return rc;
}

static HRESULT hr_from_nt(NTSTATUS st)
{
	DWORD e;

	if (NT_SUCCESS(st))
		return S_OK;
	if (st == STATUS_FLT_NO_WAITER_FOR_REPLY)
		return (HRESULT)FL_ERROR_FLT_NO_WAITER_FOR_REPLY;
	e = fl_nt_to_win32(st);
	return e == ERROR_INVALID_FUNCTION ? HRESULT_FROM_NT(st) : HRESULT_FROM_WIN32(e);
}

/* Complete a pending get (p->m held) with a message or an error; the get is unlinked. */
static void complete_get(struct fl_port *p, struct fl_get *g, const struct fl_msg *msg, DWORD error)
{
	DWORD bytes = 0;

	if (msg) {
		DWORD room = g->size - (DWORD)sizeof(FILTER_MESSAGE_HEADER);
		DWORD n = msg->len < room ? msg->len : room;

		g->buf->ReplyLength =
		    msg->reply_len ? msg->reply_len + (ULONG)sizeof(FILTER_REPLY_HEADER) : 0;
		g->buf->MessageId = msg->id;
		memcpy(g->buf + 1, msg->data, n);
		bytes = (DWORD)sizeof(FILTER_MESSAGE_HEADER) + n;
		if (msg->len > room)
			error = ERROR_INSUFFICIENT_BUFFER;
	}
	g->bytes = bytes;
	g->error = error;
	g->done = true;
	if (g->ov) {
		LPOVERLAPPED ov = g->ov;
		ov->InternalHigh = bytes;
		__atomic_store_n(&ov->Internal,
				 (ULONG_PTR)(error == 0				? STATUS_SUCCESS
					     : error == ERROR_OPERATION_ABORTED ? STATUS_CANCELLED
					     : error == ERROR_INSUFFICIENT_BUFFER
						 ? STATUS_BUFFER_TOO_SMALL
						 : STATUS_PORT_DISCONNECTED),
				 __ATOMIC_RELEASE);
		if (ov->hEvent)
			SetEvent(ov->hEvent);
		if (p->iocp)
			fl_iocp_post(p->iocp, bytes, p->key, ov, error);
		free(g);
	} else {
		pthread_cond_broadcast(&p->cv);
	}
}

static void unlink_get(struct fl_port *p, struct fl_get *g)
{
	struct fl_get **pp;

	for (pp = &p->gets; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			if (!*pp)
				p->gets_tail = pp;
			return;
		}
	}
}

static void fail_all(struct fl_port *p, DWORD error)
{
	struct fl_ack *a;

	while (p->gets) {
		struct fl_get *g = p->gets;
		unlink_get(p, g);
		complete_get(p, g, NULL, error);
	}
	for (a = p->acks; a; a = a->next) {
		if (!a->done) {
			a->done = true;
			a->status = STATUS_PORT_DISCONNECTED;
		}
	}
	pthread_cond_broadcast(&p->cv);
}

static void *reader_main(void *arg)
{
	struct fl_port *p = arg;

	for (;;) {
		struct fm_pw_hdr h;
		struct fl_msg *msg;

		if (fm_pw_read_all(p->fd, &h, sizeof(h)) < 0 || fm_pw_check(&h, 0) < 0)
			break;
		if (h.type == FM_PW_MSG) {
			msg = malloc(sizeof(*msg) + h.len);
			if (!msg || fm_pw_read_all(p->fd, msg->data, h.len) < 0) {
				free(msg);
				break;
			}
			msg->id = h.id;
			msg->reply_len = h.arg;
			msg->len = h.len;
			msg->next = NULL;
			pthread_mutex_lock(&p->m);
			if (p->gets) {
				struct fl_get *g = p->gets;
				unlink_get(p, g);
				complete_get(p, g, msg, 0);
				free(msg);
			} else {
				*p->queue_tail = msg;
				p->queue_tail = &msg->next;
			}
			pthread_mutex_unlock(&p->m);
		} else if (h.type == FM_PW_SEND_ACK || h.type == FM_PW_REPLY_ACK) {
			struct fl_ack *a;
			unsigned char *tmp = NULL;

			if (h.len && !(tmp = malloc(h.len)))
				break;
			if (h.len && fm_pw_read_all(p->fd, tmp, h.len) < 0) {
				free(tmp);
				break;
			}
			pthread_mutex_lock(&p->m);
			for (a = p->acks; a; a = a->next) {
				if (a->seq == h.seq && !a->done) {
					DWORD n = h.len < a->cap ? h.len : a->cap;
					if (n)
						memcpy(a->out, tmp, n);
					a->got = n;
					a->status = (NTSTATUS)h.arg;
					if (NT_SUCCESS(a->status) && h.len > a->cap)
						a->status = STATUS_BUFFER_OVERFLOW;
					a->done = true;
					pthread_cond_broadcast(&p->cv);
					break;
				}
			}
			pthread_mutex_unlock(&p->m);
			free(tmp);
		} else {
			break; /* a second CONNECT_ACK: protocol error */
		}
	}
	pthread_mutex_lock(&p->m);
	p->dead = true;
	fail_all(p, ERROR_INVALID_HANDLE);
	pthread_mutex_unlock(&p->m);
	return NULL;
}

/* Enter a Filter* routine on a port handle: NULL if it is not a live port handle. */
static struct fl_port *port_enter(HANDLE h)
{
	struct fl_port *p = (struct fl_port *)fl_obj_of(h, FL_PORT);

	if (!p)
		return NULL;
	pthread_mutex_lock(&p->m);
	if (p->closing) {
		pthread_mutex_unlock(&p->m);
		return NULL;
	}
	p->users++;
	return p; /* with p->m held */
}

static void port_leave(struct fl_port *p)
{
	if (--p->users == 0)
		pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->m);
}

static const char *root_dir(void)
{
	const char *r = getenv("FLTMGR_ROOT");

	return r && *r ? r : FM_PW_DEFAULT_ROOT;
}

static size_t wlen(LPCWSTR s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

HRESULT WINAPI FilterConnectCommunicationPort(LPCWSTR lpPortName, DWORD dwOptions,
					      LPCVOID lpContext, WORD wSizeOfContext,
					      LPSECURITY_ATTRIBUTES lpSecurityAttributes,
					      HANDLE *hPort)
{
	char name[512], esc[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct fm_pw_hdr h = {.magic = FM_PW_MAGIC, .type = FM_PW_CONNECT, .seq = 1};
	struct timeval tv = {10, 0}, notv = {0, 0};
	struct fl_port *p;
	int fd, n;

	(void)lpSecurityAttributes;
	if (!hPort)
		return E_INVALIDARG;
	*hPort = INVALID_HANDLE_VALUE;
	if (!lpPortName || (dwOptions & ~(DWORD)FLT_PORT_FLAG_SYNC_HANDLE) ||
	    (!lpContext != !wSizeOfContext))
		return E_INVALIDARG;
	if (fm_pw_utf16_to_utf8((const uint16_t *)lpPortName, wlen(lpPortName), name,
				sizeof(name)) < 0 ||
	    fm_pw_escape(name, esc, sizeof(esc)) < 0)
		return HRESULT_FROM_WIN32(ERROR_INVALID_PARAMETER);
	n = snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s/%s", root_dir(), FM_PW_PORT_DIR,
		     esc);
	if (n < 0 || (size_t)n >= sizeof(addr.sun_path))
		return HRESULT_FROM_WIN32(ERROR_INVALID_PARAMETER);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return HRESULT_FROM_WIN32(ERROR_NOT_ENOUGH_MEMORY);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;
		close(fd);
		if (e == EACCES || e == EPERM)
			return E_ACCESSDENIED;
		return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
	}
	/* The handshake is synchronous, bounded by a receive timeout. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	h.arg = dwOptions;
	h.len = wSizeOfContext;
	if (fm_pw_write_all(fd, &h, sizeof(h)) < 0 ||
	    (wSizeOfContext && fm_pw_write_all(fd, lpContext, wSizeOfContext) < 0) ||
	    fm_pw_read_all(fd, &h, sizeof(h)) < 0 || fm_pw_check(&h, 0) < 0 ||
	    h.type != FM_PW_CONNECT_ACK) {
		close(fd);
		return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
	}
	if (!NT_SUCCESS((NTSTATUS)h.arg)) {
		NTSTATUS st = (NTSTATUS)h.arg;
		close(fd);
		if (st == STATUS_ACCESS_DENIED)
			return E_ACCESSDENIED;
		if (st == (NTSTATUS)0xC0000246L)
			return HRESULT_FROM_WIN32(FL_ERROR_CONNECTION_COUNT_LIMIT);
		return hr_from_nt(st);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &notv, sizeof(notv));
	p = calloc(1, sizeof(*p));
	if (!p) {
		close(fd);
		return E_OUTOFMEMORY;
	}
	p->o.magic = FL_MAGIC;
	p->o.kind = FL_PORT;
	p->fd = fd;
	p->next_seq = 2;
	p->gets_tail = &p->gets;
	p->queue_tail = &p->queue;
	pthread_mutex_init(&p->m, NULL);
	pthread_cond_init(&p->cv, NULL);
	pthread_mutex_init(&p->wm, NULL);
	if (pthread_create(&p->reader, NULL, reader_main, p) != 0) {
		close(fd);
		free(p);
		return E_OUTOFMEMORY;
	}
	*hPort = p;
	return S_OK;
}

/* Send a request and wait for its ACK (p->m held on entry and exit). */
static NTSTATUS request(struct fl_port *p, uint16_t type, uint64_t id, uint32_t arg, const void *a,
			uint32_t alen, const void *b, uint32_t blen, void *out, DWORD cap,
			DWORD *got)
{
	struct fl_ack ack = {0}, **pp;
	int rc;

	if (p->dead)
		return STATUS_PORT_DISCONNECTED;
	ack.seq = p->next_seq++;
	ack.out = out;
	ack.cap = cap;
	ack.next = p->acks;
	p->acks = &ack;
	pthread_mutex_unlock(&p->m);
	rc = send_frame(p, type, ack.seq, id, arg, a, alen, b, blen);
	pthread_mutex_lock(&p->m);
	if (rc < 0 && !ack.done) {
		ack.done = true;
		ack.status = STATUS_PORT_DISCONNECTED;
	}
	while (!ack.done)
		pthread_cond_wait(&p->cv, &p->m);
	for (pp = &p->acks; *pp; pp = &(*pp)->next) {
		if (*pp == &ack) {
			*pp = ack.next;
			break;
		}
	}
	if (got)
		*got = ack.got;
	return ack.status;
}

HRESULT WINAPI FilterSendMessage(HANDLE hPort, LPVOID lpInBuffer, DWORD dwInBufferSize,
				 LPVOID lpOutBuffer, DWORD dwOutBufferSize, LPDWORD lpBytesReturned)
{
	struct fl_port *p;
	NTSTATUS st;
	DWORD got = 0;

	if (!lpBytesReturned || (dwInBufferSize && !lpInBuffer) ||
	    (dwOutBufferSize && !lpOutBuffer) || dwInBufferSize > FM_PW_MAX_PAYLOAD ||
	    dwOutBufferSize > FM_PW_MAX_PAYLOAD)
		return E_INVALIDARG;
	*lpBytesReturned = 0;
	p = port_enter(hPort);
	if (!p)
		return E_HANDLE;
	st = request(p, FM_PW_SEND, 0, dwOutBufferSize, lpInBuffer, dwInBufferSize, NULL, 0,
		     lpOutBuffer, dwOutBufferSize, &got);
	port_leave(p);
	*lpBytesReturned = got;
	return hr_from_nt(st);
}

HRESULT WINAPI FilterReplyMessage(HANDLE hPort, PFILTER_REPLY_HEADER lpReplyBuffer,
				  DWORD dwReplyBufferSize)
{
	struct fl_port *p;
	NTSTATUS st;

	if (!lpReplyBuffer || dwReplyBufferSize < sizeof(FILTER_REPLY_HEADER) ||
	    dwReplyBufferSize - sizeof(FILTER_REPLY_HEADER) > FM_PW_MAX_PAYLOAD)
		return E_INVALIDARG;
	p = port_enter(hPort);
	if (!p)
		return E_HANDLE;
	st = request(p, FM_PW_REPLY, lpReplyBuffer->MessageId, (uint32_t)lpReplyBuffer->Status,
		     lpReplyBuffer + 1, dwReplyBufferSize - (DWORD)sizeof(FILTER_REPLY_HEADER),
		     NULL, 0, NULL, 0, NULL);
	port_leave(p);
	return hr_from_nt(st);
}

HRESULT WINAPI FilterGetMessage(HANDLE hPort, PFILTER_MESSAGE_HEADER lpMessageBuffer,
				DWORD dwMessageBufferSize, LPOVERLAPPED lpOverlapped)
{
	struct fl_port *p;
	struct fl_get local = {0}, *g;
	HRESULT hr;

	if (!lpMessageBuffer || dwMessageBufferSize < sizeof(FILTER_MESSAGE_HEADER))
		return E_INVALIDARG;
	if (lpOverlapped && lpOverlapped->hEvent)
		ResetEvent(lpOverlapped->hEvent);
	p = port_enter(hPort);
	if (!p)
		return E_HANDLE;
	if (p->dead) {
		port_leave(p);
		return HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE);
	}
	if (lpOverlapped) {
		g = calloc(1, sizeof(*g));
		if (!g) {
			port_leave(p);
			return E_OUTOFMEMORY;
		}
		__atomic_store_n(&lpOverlapped->Internal, (ULONG_PTR)STATUS_PENDING,
				 __ATOMIC_RELEASE);
		lpOverlapped->InternalHigh = 0;
	} else {
		g = &local;
	}
	g->buf = lpMessageBuffer;
	g->size = dwMessageBufferSize;
	g->ov = lpOverlapped;
	if (p->queue) {
		/* A message the daemon delivered for a get that was cancelled since. */
		struct fl_msg *m = p->queue;
		p->queue = m->next;
		if (!p->queue)
			p->queue_tail = &p->queue;
		complete_get(p, g, m, 0);
		free(m);
	} else {
		*p->gets_tail = g;
		p->gets_tail = &g->next;
		g->next = NULL;
		pthread_mutex_unlock(&p->m);
		if (send_frame(p, FM_PW_GET, 0, 0, 0, NULL, 0, NULL, 0) < 0) {
			pthread_mutex_lock(&p->m);
			p->dead = true;
			shutdown(p->fd, SHUT_RDWR);
			fail_all(p, ERROR_INVALID_HANDLE);
		} else {
			pthread_mutex_lock(&p->m);
		}
	}
	if (lpOverlapped) {
		port_leave(p);
		return HRESULT_FROM_WIN32(ERROR_IO_PENDING);
	}
	while (!local.done)
		pthread_cond_wait(&p->cv, &p->m);
	hr = local.error ? HRESULT_FROM_WIN32(local.error) : S_OK;
	port_leave(p);
	return hr;
}

void fl_port_associate(struct fl_obj *o, HANDLE iocp, ULONG_PTR key)
{
	struct fl_port *p = (struct fl_port *)o;

	HANDLE old;

	fl_iocp_ref(iocp);
	pthread_mutex_lock(&p->m);
	old = p->iocp;
	p->iocp = iocp;
	p->key = key;
	pthread_mutex_unlock(&p->m);
	if (old)
		fl_iocp_unref(old);
}

BOOL fl_port_cancel(struct fl_obj *o, LPOVERLAPPED ov)
{
	struct fl_port *p = (struct fl_port *)o;
	struct fl_get *g, *next;
	bool any = false;

	pthread_mutex_lock(&p->m);
	for (g = p->gets; g; g = next) {
		next = g->next;
		if (!ov || g->ov == ov) {
			unlink_get(p, g);
			complete_get(p, g, NULL, ERROR_OPERATION_ABORTED);
			any = true;
		}
	}
	pthread_mutex_unlock(&p->m);
	if (!any) {
		SetLastError(ERROR_NOT_FOUND);
		return FALSE;
	}
	return TRUE;
}

BOOL fl_port_close(struct fl_obj *o)
{
	struct fl_port *p = (struct fl_port *)o;
	struct fl_msg *m;

	pthread_mutex_lock(&p->m);
	if (p->closing) {
		pthread_mutex_unlock(&p->m);
		SetLastError(ERROR_INVALID_HANDLE);
		return FALSE;
	}
	p->closing = true;
	fail_all(p, ERROR_OPERATION_ABORTED);
	pthread_mutex_unlock(&p->m);
	/* The daemon sees EOF and runs the filter's DisconnectNotify. */
	shutdown(p->fd, SHUT_RDWR);
	pthread_join(p->reader, NULL);
	pthread_mutex_lock(&p->m);
	while (p->users > 0)
		pthread_cond_wait(&p->cv, &p->m);
	pthread_mutex_unlock(&p->m);
	close(p->fd);
	while ((m = p->queue)) {
		p->queue = m->next;
		free(m);
	}
	if (p->iocp)
		fl_iocp_unref(p->iocp);
	p->o.magic = 0;
	pthread_mutex_destroy(&p->m);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->wm);
	free(p);
	return TRUE;
}
