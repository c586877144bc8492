/* Unit test: the kernel side of communication ports (src/core/port.c) with a raw socket client. */
#include "core/core_i.h"
#include "core/port.h"
#include "lib/portwire.h"
#include "tap.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static char g_root[64];
static struct fm_filter g_filter;

/* What the callbacks saw. */
static PFLT_PORT g_client;
static int g_connects, g_disconnects, g_messages;
static char g_ctx[16];
static ULONG g_ctx_len;
static HANDLE g_connect_pid;
static NTSTATUS g_connect_result = STATUS_SUCCESS;

static NTSTATUS FLTAPI on_connect(PFLT_PORT ClientPort, PVOID ServerPortCookie, PVOID Context,
				  ULONG SizeOfContext, PVOID *ConnectionCookie)
{
	TAP_CHECK(ServerPortCookie == (PVOID)0x1234);
	g_connects++;
	g_ctx_len = SizeOfContext;
	if (Context && SizeOfContext <= sizeof(g_ctx))
		memcpy(g_ctx, Context, SizeOfContext);
	g_connect_pid = PsGetCurrentProcessId();
	if (NT_SUCCESS(g_connect_result))
		g_client = ClientPort;
	*ConnectionCookie = (PVOID)0x5678;
	return g_connect_result;
}

static void FLTAPI on_disconnect(PVOID ConnectionCookie)
{
	TAP_CHECK(ConnectionCookie == (PVOID)0x5678);
	g_disconnects++;
	FltCloseClientPort(&g_filter, &g_client);
}

static NTSTATUS FLTAPI on_message(PVOID Cookie, PVOID In, ULONG InLen, PVOID Out, ULONG OutLen,
				  PULONG Returned)
{
	(void)Cookie;
	g_messages++;
	if (!In || InLen > OutLen)
		return STATUS_BUFFER_TOO_SMALL;
	for (ULONG i = 0; i < InLen; i++)
		((char *)Out)[i] = (char)(((char *)In)[i] + 1);
	*Returned = InLen;
	return STATUS_SUCCESS;
}

/* UTF-16 by hand: this test is built without -fshort-wchar. */
static WCHAR g_name_buf[] = {'\\', 'T', 'e', 's', 't', 'P', 'o', 'r', 't'};
static UNICODE_STRING g_name = {sizeof(g_name_buf), sizeof(g_name_buf), g_name_buf};

static NTSTATUS create(PFLT_PORT *sp, ULONG attrs, PSECURITY_DESCRIPTOR sd, LONG max,
		       PFLT_CONNECT_NOTIFY c, PFLT_DISCONNECT_NOTIFY d)
{
	OBJECT_ATTRIBUTES oa;

	InitializeObjectAttributes(&oa, &g_name, attrs, NULL, sd);
	return FltCreateCommunicationPort(&g_filter, sp, &oa, (PVOID)0x1234, c, d, on_message, max);
}

/* ---- A raw client ---- */

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

static void wr(int fd, uint16_t type, uint32_t seq, uint64_t id, uint32_t arg, const void *data,
	       uint32_t len)
{
	struct fm_pw_hdr h = {
	    .magic = FM_PW_MAGIC, .type = type, .len = len, .seq = seq, .id = id, .arg = arg};
	if (send(fd, &h, sizeof(h), MSG_NOSIGNAL) < 0 ||
	    (len && send(fd, data, len, MSG_NOSIGNAL) < 0))
		printf("# client: send failed\n");
}

/* Connect with a context; returns the fd and the CONNECT_ACK status in *st (-1: no socket). */
static int client(const char *ctx, NTSTATUS *st)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct fm_pw_hdr h;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s/ports/%%5CTestPort", g_root);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		*st = -1;
		return -1;
	}
	wr(fd, FM_PW_CONNECT, 1, 0, 0, ctx, ctx ? (uint32_t)strlen(ctx) : 0);
	if (rd(fd, &h, sizeof(h)) < 0 || h.type != FM_PW_CONNECT_ACK) {
		*st = -2;
		return fd;
	}
	*st = (NTSTATUS)h.arg;
	return fd;
}

static bool wait_for(int *counter, int value)
{
	for (int i = 0; i < 500 && __atomic_load_n(counter, __ATOMIC_SEQ_CST) < value; i++)
		usleep(10000);
	return __atomic_load_n(counter, __ATOMIC_SEQ_CST) >= value;
}

/* ---- Cases ---- */

static void t_create_checks(void)
{
	PFLT_PORT sp = (PFLT_PORT)1, sp2;

	TAP_EQ_INT(create(&sp, OBJ_CASE_INSENSITIVE, NULL, 1, on_connect, on_disconnect),
		   STATUS_INVALID_PARAMETER);
	TAP_CHECK(sp == NULL);
	TAP_EQ_INT(create(&sp, OBJ_KERNEL_HANDLE, NULL, 0, on_connect, on_disconnect),
		   STATUS_INVALID_PARAMETER);
	TAP_EQ_INT(create(&sp, OBJ_KERNEL_HANDLE, NULL, 1, NULL, on_disconnect),
		   STATUS_INVALID_PARAMETER);
	TAP_EQ_INT(create(&sp, OBJ_KERNEL_HANDLE, NULL, 1, on_connect, NULL),
		   STATUS_INVALID_PARAMETER);
	TAP_EQ_INT(create(&sp, OBJ_KERNEL_HANDLE, NULL, 1, on_connect, on_disconnect),
		   STATUS_SUCCESS);
	g_name.Buffer[1] = 't'; /* "\testPort": names compare case-insensitively */
	TAP_EQ_INT(create(&sp2, OBJ_KERNEL_HANDLE, NULL, 1, on_connect, on_disconnect),
		   STATUS_OBJECT_NAME_COLLISION);
	g_name.Buffer[1] = 'T';
	FltCloseCommunicationPort(sp);
	/* Closed: the name is free again. */
	TAP_EQ_INT(create(&sp, OBJ_KERNEL_HANDLE, NULL, 1, on_connect, on_disconnect),
		   STATUS_SUCCESS);
	FltCloseCommunicationPort(sp);
}

static void t_security(void)
{
	PSECURITY_DESCRIPTOR sd = NULL;
	PFLT_PORT sp;
	NTSTATUS st;
	int fd;

	TAP_EQ_INT(FltBuildDefaultSecurityDescriptor(&sd, FLT_PORT_ALL_ACCESS), STATUS_SUCCESS);
	TAP_CHECK(sd != NULL);
	TAP_EQ_INT(create(&sp, OBJ_KERNEL_HANDLE, sd, 1, on_connect, on_disconnect),
		   STATUS_SUCCESS);
	FltFreeSecurityDescriptor(sd);
	/* We are root (or fltmgrd's uid): admitted. */
	g_connects = 0;
	fd = client("hello", &st);
	TAP_EQ_INT(st, STATUS_SUCCESS);
	TAP_EQ_INT(g_connects, 1);
	TAP_EQ_INT(g_ctx_len, 5);
	TAP_CHECK(memcmp(g_ctx, "hello", 5) == 0);
	TAP_EQ_INT((long)(ULONG_PTR)g_connect_pid, getpid());
	TAP_CHECK(g_client != NULL);
	close(fd);
	TAP_CHECK(wait_for(&g_disconnects, 1));
	TAP_CHECK(g_client == NULL);
	FltCloseCommunicationPort(sp);
	g_disconnects = 0;
}

struct sender {
	pthread_t t;
	PFLT_PORT *port;
	char msg[8];
	char reply[8];
	ULONG reply_len;
	LARGE_INTEGER timeout;
	bool with_reply;
	NTSTATUS st;
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;

	s->st = FltSendMessage(&g_filter, s->port, s->msg, 4, s->with_reply ? s->reply : NULL,
			       s->with_reply ? &s->reply_len : NULL, &s->timeout);
	return NULL;
}

static void t_messages(void)
{
	PFLT_PORT sp, none = NULL;
	NTSTATUS st;
	struct fm_pw_hdr h;
	char buf[64];
	int fd, fd2;
	LARGE_INTEGER zero = {.QuadPart = 0}, short_wait = {.QuadPart = -200 * 10000LL};
	struct sender s = {0};

	TAP_EQ_INT(create(&sp, OBJ_KERNEL_HANDLE, NULL, 1, on_connect, on_disconnect),
		   STATUS_SUCCESS);
	TAP_EQ_INT(FltSendMessage(&g_filter, &none, "x", 1, NULL, NULL, NULL),
		   STATUS_PORT_DISCONNECTED);
	fd = client(NULL, &st);
	TAP_EQ_INT(st, STATUS_SUCCESS);
	TAP_EQ_INT(g_ctx_len, 0);
	/* MaxConnections 1: a second client is refused. */
	fd2 = client(NULL, &st);
	TAP_EQ_INT(st, (NTSTATUS)0xC0000246);
	close(fd2);

	/* No FilterGetMessage outstanding: Timeout 0 does not wait, a short one expires. */
	TAP_EQ_INT(FltSendMessage(&g_filter, &g_client, "abcd", 4, NULL, NULL, &zero),
		   STATUS_TIMEOUT);
	TAP_EQ_INT(FltSendMessage(&g_filter, &g_client, "abcd", 4, NULL, NULL, &short_wait),
		   STATUS_TIMEOUT);

	/* With a reply: delivered on GET, answered by REPLY (longer than the buffer). */
	s.port = &g_client;
	memcpy(s.msg, "ping", 4);
	s.with_reply = true;
	s.reply_len = 3;
	s.timeout.QuadPart = -5000 * 10000LL;
	pthread_create(&s.t, NULL, sender_main, &s);
	wr(fd, FM_PW_GET, 0, 0, 0, NULL, 0);
	TAP_CHECK(rd(fd, &h, sizeof(h)) == 0);
	TAP_EQ_INT(h.type, FM_PW_MSG);
	TAP_EQ_INT(h.len, 4);
	TAP_EQ_INT(h.arg, 3);
	TAP_CHECK(rd(fd, buf, 4) == 0 && memcmp(buf, "ping", 4) == 0);
	wr(fd, FM_PW_REPLY, 2, h.id, 0, "pong!", 5);
	pthread_join(s.t, NULL);
	TAP_EQ_INT(s.st, STATUS_BUFFER_OVERFLOW);
	TAP_EQ_INT(s.reply_len, 3);
	TAP_CHECK(memcmp(s.reply, "pon", 3) == 0);
	TAP_CHECK(rd(fd, &h, sizeof(h)) == 0);
	TAP_EQ_INT(h.type, FM_PW_REPLY_ACK);
	TAP_EQ_INT(h.seq, 2);
	TAP_EQ_INT(h.arg, STATUS_SUCCESS);

	/* A reply for nobody. */
	wr(fd, FM_PW_REPLY, 3, 999, 0, "x", 1);
	TAP_CHECK(rd(fd, &h, sizeof(h)) == 0);
	TAP_EQ_INT((NTSTATUS)h.arg, STATUS_FLT_NO_WAITER_FOR_REPLY);

	/* User -> kernel. */
	wr(fd, FM_PW_SEND, 4, 0, 8, "abc", 3);
	TAP_CHECK(rd(fd, &h, sizeof(h)) == 0);
	TAP_EQ_INT(h.type, FM_PW_SEND_ACK);
	TAP_EQ_INT(h.seq, 4);
	TAP_EQ_INT(h.arg, STATUS_SUCCESS);
	TAP_EQ_INT(h.len, 3);
	TAP_CHECK(rd(fd, buf, 3) == 0 && memcmp(buf, "bcd", 3) == 0);
	wr(fd, FM_PW_SEND, 5, 0, 1, "abc", 3);
	TAP_CHECK(rd(fd, &h, sizeof(h)) == 0);
	TAP_EQ_INT((NTSTATUS)h.arg, STATUS_BUFFER_TOO_SMALL);
	TAP_EQ_INT(h.len, 0);

	/* The client vanishes while a sender waits for its reply: STATUS_PORT_DISCONNECTED. */
	memset(&s, 0, sizeof(s));
	s.port = &g_client;
	s.with_reply = true;
	s.reply_len = 8;
	s.timeout.QuadPart = -5000 * 10000LL;
	pthread_create(&s.t, NULL, sender_main, &s);
	wr(fd, FM_PW_GET, 0, 0, 0, NULL, 0);
	TAP_CHECK(rd(fd, &h, sizeof(h)) == 0 && h.type == FM_PW_MSG);
	close(fd);
	pthread_join(s.t, NULL);
	TAP_EQ_INT(s.st, STATUS_PORT_DISCONNECTED);
	TAP_CHECK(wait_for(&g_disconnects, 1));
	TAP_CHECK(g_client == NULL);

	/* A refused ConnectNotify: its status reaches the client, no disconnect follows. */
	g_connect_result = STATUS_ACCESS_DENIED;
	fd = client(NULL, &st);
	TAP_EQ_INT(st, STATUS_ACCESS_DENIED);
	close(fd);
	g_connect_result = STATUS_SUCCESS;
	usleep(50000);
	TAP_EQ_INT(g_disconnects, 1);

	/* Garbage costs the connection only; the port still serves. */
	fd = client(NULL, &st);
	TAP_EQ_INT(st, STATUS_SUCCESS);
	if (send(fd, "garbage garbage garbage garbage!", 32, MSG_NOSIGNAL) < 0)
		printf("# send failed\n");
	TAP_CHECK(wait_for(&g_disconnects, 2));
	close(fd);
	fd = client(NULL, &st);
	TAP_EQ_INT(st, STATUS_SUCCESS);

	/* Closing the server port keeps the connection; new clients find nothing. */
	FltCloseCommunicationPort(sp);
	fd2 = client(NULL, &st);
	TAP_EQ_INT(st, -1);
	TAP_CHECK(g_client != NULL);
	wr(fd, FM_PW_SEND, 6, 0, 8, "x", 1);
	TAP_CHECK(rd(fd, &h, sizeof(h)) == 0 && h.type == FM_PW_SEND_ACK &&
		  h.arg == STATUS_SUCCESS);

	/* Unregistering disconnects it: DisconnectNotify on this thread. */
	fm__ports_filter_close(&g_filter);
	TAP_EQ_INT(g_disconnects, 3);
	TAP_CHECK(g_client == NULL);
	TAP_CHECK(rd(fd, &h, sizeof(h)) < 0); /* EOF */
	close(fd);
}

/* The port threads hold filter references until they have exited. */
static void t_rundown(void)
{
	for (int i = 0; i < 500 && atomic_load(&g_filter.refs) > 1; i++)
		usleep(10000);
	TAP_EQ_INT(atomic_load(&g_filter.refs), 1);
}

int main(void)
{
	snprintf(g_root, sizeof(g_root), "/tmp/fm-port-test-XXXXXX");
	if (!mkdtemp(g_root)) {
		printf("1..0 # SKIP mkdtemp failed\n");
		return 0;
	}
	fm_core_set_root(g_root);
	g_filter.magic = FM_MAGIC_FILTER;
	snprintf(g_filter.service, sizeof(g_filter.service), "porttest");
	atomic_init(&g_filter.refs, 1);
	TAP_RUN(t_create_checks);
	TAP_RUN(t_security);
	TAP_RUN(t_messages);
	TAP_RUN(t_rundown);
	{
		char p[128];
		snprintf(p, sizeof(p), "%s/ports", g_root);
		rmdir(p);
		rmdir(g_root);
	}
	return tap_done();
}
