/* Unit tests: the port wire framing, and libfltlib against a scripted fake fltmgrd. */
#include <windows.h>
#include <fltUser.h>

#include "lib/portwire.h"
#include "tap.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static struct fm_pw_hdr mk(uint16_t type, uint32_t len, uint32_t arg)
{
	struct fm_pw_hdr h = {.magic = FM_PW_MAGIC, .type = type, .len = len, .arg = arg};
	return h;
}

/* ---- Framing ---- */

static void t_check_headers(void)
{
	struct fm_pw_hdr h;

	h = mk(FM_PW_CONNECT, 0, 0);
	TAP_EQ_INT(fm_pw_check(&h, 1), 0);
	TAP_CHECK(fm_pw_check(&h, 0) < 0); /* wrong direction */
	h = mk(FM_PW_CONNECT, FM_PW_MAX_CONTEXT, 0);
	TAP_EQ_INT(fm_pw_check(&h, 1), 0);
	h = mk(FM_PW_CONNECT, FM_PW_MAX_CONTEXT + 1, 0);
	TAP_CHECK(fm_pw_check(&h, 1) < 0);
	h = mk(FM_PW_GET, 0, 0);
	TAP_EQ_INT(fm_pw_check(&h, 1), 0);
	h = mk(FM_PW_GET, 1, 0);
	TAP_CHECK(fm_pw_check(&h, 1) < 0);
	h = mk(FM_PW_SEND, FM_PW_MAX_PAYLOAD, FM_PW_MAX_PAYLOAD);
	TAP_EQ_INT(fm_pw_check(&h, 1), 0);
	h = mk(FM_PW_SEND, FM_PW_MAX_PAYLOAD + 1, 0);
	TAP_CHECK(fm_pw_check(&h, 1) < 0);
	h = mk(FM_PW_SEND, 0, FM_PW_MAX_PAYLOAD + 1);
	TAP_CHECK(fm_pw_check(&h, 1) < 0);
	h = mk(FM_PW_REPLY, 100, 0);
	TAP_EQ_INT(fm_pw_check(&h, 1), 0);
	h = mk(FM_PW_MSG, 100, 0);
	TAP_EQ_INT(fm_pw_check(&h, 0), 0);
	TAP_CHECK(fm_pw_check(&h, 1) < 0);
	h = mk(FM_PW_CONNECT_ACK, 0, 0);
	TAP_EQ_INT(fm_pw_check(&h, 0), 0);
	h = mk(FM_PW_CONNECT_ACK, 4, 0);
	TAP_CHECK(fm_pw_check(&h, 0) < 0);
	h = mk(FM_PW_SEND_ACK, 4, 0);
	TAP_EQ_INT(fm_pw_check(&h, 0), 0);
	h = mk(FM_PW_REPLY_ACK, 0, 0);
	TAP_EQ_INT(fm_pw_check(&h, 0), 0);
	h = mk(0x55, 0, 0);
	TAP_CHECK(fm_pw_check(&h, 1) < 0 && fm_pw_check(&h, 0) < 0);
	h = mk(FM_PW_GET, 0, 0);
	h.magic ^= 1;
	TAP_CHECK(fm_pw_check(&h, 1) < 0);
	h = mk(FM_PW_GET, 0, 0);
	h.reserved = 1;
	TAP_CHECK(fm_pw_check(&h, 1) < 0);
	h = mk(FM_PW_GET, 0, 0);
	h.pad = 1;
	TAP_CHECK(fm_pw_check(&h, 1) < 0);
}

static void t_escape(void)
{
	char out[64];

	TAP_EQ_INT(fm_pw_escape("\\ScannerPort", out, sizeof(out)), 14);
	TAP_EQ_STR(out, "%5CScannerPort");
	TAP_EQ_INT(fm_pw_escape("a/b..c d", out, sizeof(out)), 12);
	TAP_EQ_STR(out, "a%2Fb..c%20d");
	TAP_EQ_INT(fm_pw_escape("\xc3\xa9", out, sizeof(out)), 6);
	TAP_EQ_STR(out, "%C3%A9");
	/* Exactly full: 3 chars + NUL fit in 4, not in 3. */
	TAP_EQ_INT(fm_pw_escape("abc", out, 4), 3);
	TAP_EQ_INT(fm_pw_escape("abc", out, 3), -1);
	TAP_EQ_INT(fm_pw_escape("\\", out, 3), -1);
}

static void t_utf16(void)
{
	static const uint16_t name[] = {'\\', 'P', 0xe9, 0xd83d, 0xde00};
	static const uint16_t lone[] = {'a', 0xdc00};
	static const uint16_t nul[] = {'a', 0, 'b'};
	char out[32];

	TAP_EQ_INT(fm_pw_utf16_to_utf8(name, 5, out, sizeof(out)), 8);
	TAP_EQ_STR(out, "\\P\xc3\xa9\xf0\x9f\x98\x80");
	TAP_EQ_INT(fm_pw_utf16_to_utf8(lone, 2, out, sizeof(out)), -1);
	TAP_EQ_INT(fm_pw_utf16_to_utf8(name, 4, out, sizeof(out)), -1); /* cut surrogate pair */
	TAP_EQ_INT(fm_pw_utf16_to_utf8(nul, 3, out, sizeof(out)), -1);
	TAP_EQ_INT(fm_pw_utf16_to_utf8(name, 0, out, sizeof(out)), -1);
	TAP_EQ_INT(fm_pw_utf16_to_utf8(name, 5, out, 8), -1);
}

/* ---- A fake fltmgrd ---- */

static char g_dir[64];
static char g_path[100];
static int g_lfd = -1;

static int rd(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len) {
		ssize_t n = recv(fd, p, len, 0);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static pthread_mutex_t g_wlock = PTHREAD_MUTEX_INITIALIZER;

static void wr(int fd, uint16_t type, uint32_t seq, uint64_t id, uint32_t arg, const void *data,
	       uint32_t len)
{
	struct fm_pw_hdr h = mk(type, len, arg);
	h.seq = seq;
	h.id = id;
	pthread_mutex_lock(&g_wlock);
	if (send(fd, &h, sizeof(h), MSG_NOSIGNAL) < 0 ||
	    (len && send(fd, data, len, MSG_NOSIGNAL) < 0))
		printf("# fake server: send failed\n");
	pthread_mutex_unlock(&g_wlock);
}

/* What the fake server saw after the handshake. */
struct server {
	uint32_t connect_status;
	int fd;
	pthread_t thread;
	pthread_mutex_t m;
	pthread_cond_t cv;
	int gets;	     /* GET credits received */
	int replies;	     /* REPLY frames */
	uint64_t reply_id;   /* last REPLY's message id */
	uint32_t reply_stat; /* and its FILTER_REPLY_HEADER Status */
	char reply[64];
	uint32_t reply_len;
	char ctx[16];
	uint32_t ctx_len;
	bool eof;
};

static void *server_main(void *arg)
{
	struct server *s = arg;
	struct fm_pw_hdr h;
	char buf[256];

	s->fd = accept(g_lfd, NULL, NULL);
	if (s->fd < 0 || rd(s->fd, &h, sizeof(h)) < 0 || h.type != FM_PW_CONNECT ||
	    h.len > sizeof(s->ctx) || rd(s->fd, s->ctx, h.len) < 0)
		return NULL;
	s->ctx_len = h.len;
	wr(s->fd, FM_PW_CONNECT_ACK, h.seq, 0, s->connect_status, NULL, 0);
	while (rd(s->fd, &h, sizeof(h)) == 0 && fm_pw_check(&h, 1) == 0 && h.len <= sizeof(buf)) {
		if (h.len && rd(s->fd, buf, h.len) < 0)
			break;
		pthread_mutex_lock(&s->m);
		if (h.type == FM_PW_GET) {
			s->gets++;
		} else if (h.type == FM_PW_REPLY) {
			s->replies++;
			s->reply_id = h.id;
			s->reply_stat = h.arg;
			memcpy(s->reply, buf, h.len);
			s->reply_len = h.len;
			wr(s->fd, FM_PW_REPLY_ACK, h.seq, 0, STATUS_SUCCESS, NULL, 0);
		} else if (h.type == FM_PW_SEND) {
			/* Echo the input reversed, cut to the output capacity. */
			char out[256];
			uint32_t n = h.len < h.arg ? h.len : h.arg;
			for (uint32_t i = 0; i < n; i++)
				out[i] = buf[h.len - 1 - i];
			wr(s->fd, FM_PW_SEND_ACK, h.seq, 0, STATUS_SUCCESS, out, n);
		}
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->m);
	}
	pthread_mutex_lock(&s->m);
	s->eof = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->m);
	return NULL;
}

static void server_start(struct server *s, uint32_t status)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->connect_status = status;
	pthread_mutex_init(&s->m, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_create(&s->thread, NULL, server_main, s);
}

static void server_stop(struct server *s)
{
	if (s->fd >= 0)
		shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	if (s->fd >= 0)
		close(s->fd);
}

/* Wait (5 s at most) until the server has seen `gets` GET credits. */
static bool wait_gets(struct server *s, int gets)
{
	bool ok;
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&s->m);
		ok = s->gets >= gets;
		pthread_mutex_unlock(&s->m);
		if (ok)
			return true;
		usleep(10000);
	}
	return false;
}

static void setup(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	snprintf(g_dir, sizeof(g_dir), "/tmp/fltlib-test-XXXXXX");
	if (!mkdtemp(g_dir))
		return;
	snprintf(g_path, sizeof(g_path), "%s/ports", g_dir);
	mkdir(g_path, 0755);
	snprintf(g_path, sizeof(g_path), "%s/ports/%%5CTestPort", g_dir);
	memcpy(a.sun_path, g_path, strlen(g_path) + 1); /* g_path is short: /tmp/... */
	g_lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(g_lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(g_lfd, 4) < 0)
		printf("# setup: cannot listen on %s: %s\n", g_path, strerror(errno));
	setenv("FLTMGR_ROOT", g_dir, 1);
}

static void teardown(void)
{
	char p[128];

	close(g_lfd);
	unlink(g_path);
	snprintf(p, sizeof(p), "%s/ports", g_dir);
	rmdir(p);
	rmdir(g_dir);
}

/* ---- libfltlib ---- */

static void t_connect_errors(void)
{
	HANDLE h = NULL;
	char ctx[4] = "abc";
	struct server s;

	TAP_EQ_INT(FilterConnectCommunicationPort(L"\\NoSuchPort", 0, NULL, 0, NULL, &h),
		   HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
	TAP_CHECK(h == INVALID_HANDLE_VALUE);
	TAP_EQ_INT(FilterConnectCommunicationPort(L"\\TestPort", 0, ctx, 0, NULL, &h),
		   E_INVALIDARG);
	TAP_EQ_INT(FilterConnectCommunicationPort(L"\\TestPort", 0, NULL, 4, NULL, &h),
		   E_INVALIDARG);
	TAP_EQ_INT(FilterConnectCommunicationPort(L"\\TestPort", 0x10, NULL, 0, NULL, &h),
		   E_INVALIDARG);
	TAP_EQ_INT(FilterConnectCommunicationPort(L"\\TestPort", 0, NULL, 0, NULL, NULL),
		   E_INVALIDARG);

	server_start(&s, (uint32_t)STATUS_ACCESS_DENIED);
	TAP_EQ_INT(FilterConnectCommunicationPort(L"\\TestPort", 0, ctx, 4, NULL, &h),
		   E_ACCESSDENIED);
	TAP_CHECK(h == INVALID_HANDLE_VALUE);
	server_stop(&s);
	TAP_EQ_INT(s.ctx_len, 4);
	TAP_EQ_STR(s.ctx, "abc");

	server_start(&s, 0xC0000246u); /* STATUS_CONNECTION_COUNT_LIMIT */
	TAP_EQ_INT(FilterConnectCommunicationPort(L"\\TestPort", FLT_PORT_FLAG_SYNC_HANDLE, NULL, 0,
						  NULL, &h),
		   HRESULT_FROM_WIN32(1238));
	server_stop(&s);
}

typedef struct {
	FILTER_MESSAGE_HEADER hdr;
	char body[32];
	OVERLAPPED ov;
} TMSG;

static void t_overlapped_iocp(void)
{
	struct server s;
	HANDLE port = NULL, iocp;
	TMSG m[3];
	DWORD bytes = 0;
	ULONG_PTR key = 0;
	LPOVERLAPPED ov = NULL;
	HANDLE ev;

	server_start(&s, STATUS_SUCCESS);
	TAP_EQ_INT(FilterConnectCommunicationPort(L"\\TestPort", 0, NULL, 0, NULL, &port), S_OK);
	iocp = CreateIoCompletionPort(port, NULL, 42, 2);
	TAP_CHECK(iocp != NULL);
	ev = CreateEventW(NULL, TRUE, TRUE, NULL);
	memset(m, 0, sizeof(m));
	m[2].ov.hEvent = ev;
	for (int i = 0; i < 3; i++)
		TAP_EQ_INT(FilterGetMessage(port, &m[i].hdr, FIELD_OFFSET(TMSG, ov), &m[i].ov),
			   HRESULT_FROM_WIN32(ERROR_IO_PENDING));
	TAP_EQ_INT(WaitForSingleObject(ev, 0), WAIT_TIMEOUT); /* reset by FilterGetMessage */
	TAP_CHECK(wait_gets(&s, 3));

	/* Nothing yet: a timed wait times out. */
	TAP_CHECK(!GetQueuedCompletionStatus(iocp, &bytes, &key, &ov, 10));
	TAP_EQ_INT(GetLastError(), WAIT_TIMEOUT);
	TAP_CHECK(ov == NULL);

	/* Two messages, the first expecting a 5-byte reply: first in, first completed. */
	wr(s.fd, FM_PW_MSG, 0, 100, 5, "hello", 5);
	wr(s.fd, FM_PW_MSG, 0, 101, 0, "x", 1);
	TAP_CHECK(GetQueuedCompletionStatus(iocp, &bytes, &key, &ov, 5000));
	TAP_CHECK(ov == &m[0].ov);
	TAP_EQ_INT(key, 42);
	TAP_EQ_INT(bytes, sizeof(FILTER_MESSAGE_HEADER) + 5);
	TAP_EQ_INT(m[0].hdr.MessageId, 100);
	TAP_EQ_INT(m[0].hdr.ReplyLength, sizeof(FILTER_REPLY_HEADER) + 5);
	TAP_CHECK(memcmp(m[0].body, "hello", 5) == 0);
	TAP_CHECK(GetQueuedCompletionStatus(iocp, &bytes, &key, &ov, 5000));
	TAP_CHECK(ov == &m[1].ov);
	TAP_EQ_INT(m[1].hdr.MessageId, 101);
	TAP_EQ_INT(m[1].hdr.ReplyLength, 0);
	TAP_EQ_INT(GetOverlappedResult(port, &m[1].ov, &bytes, FALSE), TRUE);
	TAP_EQ_INT(bytes, sizeof(FILTER_MESSAGE_HEADER) + 1);

	/* The reply: header stripped, id and status carried. */
	{
		struct {
			FILTER_REPLY_HEADER h;
			char data[5];
		} r = {{STATUS_SUCCESS, 100}, "abcd"};
		TAP_EQ_INT(FilterReplyMessage(port, &r.h, sizeof(FILTER_REPLY_HEADER) + 5), S_OK);
		TAP_EQ_INT(s.replies, 1);
		TAP_EQ_INT(s.reply_id, 100);
		TAP_EQ_INT(s.reply_len, 5);
		TAP_CHECK(memcmp(s.reply, "abcd", 5) == 0);
		TAP_EQ_INT(FilterReplyMessage(port, &r.h, sizeof(FILTER_REPLY_HEADER) - 1),
			   E_INVALIDARG);
	}

	/* Cancel the third: it completes with ERROR_OPERATION_ABORTED through the IOCP. */
	TAP_CHECK(CancelIoEx(port, &m[2].ov));
	TAP_CHECK(!GetQueuedCompletionStatus(iocp, &bytes, &key, &ov, 5000));
	TAP_EQ_INT(GetLastError(), ERROR_OPERATION_ABORTED);
	TAP_CHECK(ov == &m[2].ov);
	TAP_EQ_INT(WaitForSingleObject(ev, 0), WAIT_OBJECT_0);
	TAP_CHECK(!CancelIoEx(port, &m[2].ov));
	TAP_EQ_INT(GetLastError(), ERROR_NOT_FOUND);

	/* Its credit is still at the server: the next message waits in the library and a
	 * blocking FilterGetMessage takes it without asking the server again. */
	wr(s.fd, FM_PW_MSG, 0, 102, 0, "queued", 6);
	usleep(100000);
	memset(&m[0], 0, sizeof(m[0]));
	TAP_EQ_INT(FilterGetMessage(port, &m[0].hdr, FIELD_OFFSET(TMSG, ov), NULL), S_OK);
	TAP_EQ_INT(m[0].hdr.MessageId, 102);
	TAP_CHECK(memcmp(m[0].body, "queued", 6) == 0);
	TAP_EQ_INT(s.gets, 3);

	/* A message larger than the buffer: truncated, ERROR_INSUFFICIENT_BUFFER. */
	TAP_EQ_INT(FilterGetMessage(port, &m[0].hdr, FIELD_OFFSET(TMSG, ov), &m[0].ov),
		   HRESULT_FROM_WIN32(ERROR_IO_PENDING));
	TAP_CHECK(wait_gets(&s, 4));
	{
		char big[40];
		memset(big, 'B', sizeof(big));
		wr(s.fd, FM_PW_MSG, 0, 103, 0, big, sizeof(big));
	}
	TAP_CHECK(!GetQueuedCompletionStatus(iocp, &bytes, &key, &ov, 5000));
	TAP_EQ_INT(GetLastError(), ERROR_INSUFFICIENT_BUFFER);
	TAP_EQ_INT(bytes, sizeof(FILTER_MESSAGE_HEADER) + 32);

	/* PostQueuedCompletionStatus goes through the same queue. */
	TAP_CHECK(PostQueuedCompletionStatus(iocp, 7, 8, NULL));
	TAP_CHECK(GetQueuedCompletionStatus(iocp, &bytes, &key, &ov, 5000));
	TAP_EQ_INT(bytes, 7);
	TAP_EQ_INT(key, 8);

	TAP_CHECK(CloseHandle(port));
	TAP_CHECK(CloseHandle(iocp));
	TAP_CHECK(CloseHandle(ev));
	TAP_CHECK(!CloseHandle(NULL));
	TAP_EQ_INT(GetLastError(), ERROR_INVALID_HANDLE);
	server_stop(&s);
	TAP_CHECK(s.eof);
}

static void t_send_and_disconnect(void)
{
	struct server s;
	HANDLE port = NULL, iocp;
	char out[8];
	DWORD ret = 99;
	TMSG m;
	DWORD bytes;
	ULONG_PTR key;
	LPOVERLAPPED ov;

	server_start(&s, STATUS_SUCCESS);
	TAP_EQ_INT(FilterConnectCommunicationPort(L"\\TestPort", 0, NULL, 0, NULL, &port), S_OK);
	TAP_EQ_INT(FilterSendMessage(port, "abc", 3, out, sizeof(out), &ret), S_OK);
	TAP_EQ_INT(ret, 3);
	TAP_CHECK(memcmp(out, "cba", 3) == 0);
	TAP_EQ_INT(FilterSendMessage(port, "abcdef", 6, out, 2, &ret), S_OK);
	TAP_EQ_INT(ret, 2);
	TAP_CHECK(memcmp(out, "fe", 2) == 0);
	TAP_EQ_INT(FilterSendMessage(port, "abc", 3, out, sizeof(out), NULL), E_INVALIDARG);

	iocp = CreateIoCompletionPort(port, NULL, 1, 1);
	memset(&m, 0, sizeof(m));
	TAP_EQ_INT(FilterGetMessage(port, &m.hdr, FIELD_OFFSET(TMSG, ov), &m.ov),
		   HRESULT_FROM_WIN32(ERROR_IO_PENDING));
	TAP_CHECK(wait_gets(&s, 1));
	/* The daemon goes away: the pending get fails, later calls fail. */
	shutdown(s.fd, SHUT_RDWR);
	TAP_CHECK(!GetQueuedCompletionStatus(iocp, &bytes, &key, &ov, 5000));
	TAP_EQ_INT(GetLastError(), ERROR_INVALID_HANDLE);
	TAP_CHECK(ov == &m.ov);
	TAP_EQ_INT(FilterSendMessage(port, "abc", 3, out, sizeof(out), &ret),
		   HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE));
	TAP_EQ_INT(FilterGetMessage(port, &m.hdr, FIELD_OFFSET(TMSG, ov), NULL),
		   HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE));
	TAP_CHECK(CloseHandle(port));
	TAP_CHECK(CloseHandle(iocp));
	server_stop(&s);
}

static DWORD WINAPI thread_fn(LPVOID p)
{
	Sleep(20);
	return (DWORD)(ULONG_PTR)p;
}

static void t_threads_events(void)
{
	HANDLE t[2], e, sem;

	t[0] = CreateThread(NULL, 0, thread_fn, (LPVOID)1, 0, NULL);
	t[1] = CreateThread(NULL, 0, thread_fn, (LPVOID)2, CREATE_SUSPENDED, NULL);
	TAP_CHECK(t[0] && t[1]);
	TAP_EQ_INT(WaitForSingleObject(t[1], 50), WAIT_TIMEOUT);
	TAP_EQ_INT(ResumeThread(t[1]), 1);
	TAP_EQ_INT(WaitForMultipleObjects(2, t, TRUE, 5000), WAIT_OBJECT_0);
	CloseHandle(t[0]);
	CloseHandle(t[1]);
	e = CreateEventW(NULL, FALSE, FALSE, NULL);
	TAP_EQ_INT(WaitForSingleObject(e, 0), WAIT_TIMEOUT);
	SetEvent(e);
	TAP_EQ_INT(WaitForSingleObject(e, 0), WAIT_OBJECT_0);
	TAP_EQ_INT(WaitForSingleObject(e, 0), WAIT_TIMEOUT); /* auto-reset */
	CloseHandle(e);
	sem = CreateSemaphoreW(NULL, 1, 2, NULL);
	TAP_EQ_INT(WaitForSingleObject(sem, 0), WAIT_OBJECT_0);
	TAP_EQ_INT(WaitForSingleObject(sem, 0), WAIT_TIMEOUT);
	TAP_CHECK(ReleaseSemaphore(sem, 2, NULL));
	TAP_CHECK(!ReleaseSemaphore(sem, 1, NULL));
	CloseHandle(sem);
}

int main(void)
{
	TAP_RUN(t_check_headers);
	TAP_RUN(t_escape);
	TAP_RUN(t_utf16);
	setup();
	TAP_RUN(t_connect_errors);
	TAP_RUN(t_overlapped_iocp);
	TAP_RUN(t_send_and_disconnect);
	TAP_RUN(t_threads_events);
	teardown();
	return tap_done();
}
