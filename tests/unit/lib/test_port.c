/* Unit test: the kernel side of communication ports (src/core/port.c) with a raw socket client. */
#include "core/core_i.h"
#include "core/port.h"
#include "lib/portwire.h"
#include "nt/security.h"
#include "tap.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <grp.h>
#include <sys/un.h>
#include <sys/wait.h>
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

/* ---- DACLs, ACE by ACE ---- */

/* S-1-22-<kind>-<id> into buf. */
static PSID unix_sid(ULONG *buf, ULONG kind, ULONG id)
{
	SID_IDENTIFIER_AUTHORITY unix_auth = {{0, 0, 0, 0, 0, 22}};

	RtlInitializeSid(buf, &unix_auth, 2);
	*RtlSubAuthoritySid(buf, 0) = kind;
	*RtlSubAuthoritySid(buf, 1) = id;
	return buf;
}

static void t_acl_routines(void)
{
	union {
		ACL acl;
		ULONG space[32];
	} u;
	ULONG sid[SECURITY_MAX_SID_SIZE / sizeof(ULONG)],
	    sid2[SECURITY_MAX_SID_SIZE / sizeof(ULONG)];
	gid_t groups[] = {4242};
	struct fm_sec_subject user = {.uid = 1000, .gid = 1000};
	struct fm_sec_subject member = {.uid = 1001, .gid = 1001, .groups = groups, .ngroups = 1};
	struct fm_sec_subject root = {.uid = 0, .gid = 0, .system = true};
	PACCESS_ALLOWED_ACE ace;
	SECURITY_DESCRIPTOR sd;
	BOOLEAN present = FALSE, defaulted = TRUE;
	PACL got = NULL;

	TAP_EQ_INT(RtlCreateAcl(&u.acl, 4, ACL_REVISION), STATUS_BUFFER_TOO_SMALL);
	TAP_EQ_INT(RtlCreateAcl(&u.acl, sizeof(u), 1), STATUS_INVALID_PARAMETER);
	TAP_EQ_INT(RtlCreateAcl(&u.acl, sizeof(u), ACL_REVISION), STATUS_SUCCESS);
	TAP_EQ_INT(u.acl.AclSize, sizeof(u));
	TAP_EQ_INT(u.acl.AceCount, 0);
	TAP_EQ_INT(RtlLengthRequiredSid(2), 16);
	TAP_EQ_INT(RtlLengthSid(SeExports->SeWorldSid), 12);
	TAP_CHECK(RtlValidSid(SeExports->SeAliasAdminsSid));
	TAP_EQ_INT(*RtlSubAuthoritySid(SeExports->SeAliasAdminsSid, 1), DOMAIN_ALIAS_RID_ADMINS);
	/* An empty DACL admits no one, root included. */
	TAP_CHECK(fm_sec_valid_acl(&u.acl));
	TAP_CHECK(!fm_sec_access_check(&u.acl, &root, FLT_PORT_CONNECT, FLT_PORT_ALL_ACCESS));
	/* A NULL DACL admits everyone. */
	TAP_CHECK(fm_sec_access_check(NULL, &user, FLT_PORT_CONNECT, FLT_PORT_ALL_ACCESS));

	/* uid 1000 only. */
	TAP_EQ_INT(
	    RtlAddAccessAllowedAce(&u.acl, ACL_REVISION, FLT_PORT_CONNECT, unix_sid(sid, 1, 1000)),
	    STATUS_SUCCESS);
	TAP_EQ_INT(u.acl.AceCount, 1);
	TAP_EQ_INT(RtlGetAce(&u.acl, 0, (PVOID *)&ace), STATUS_SUCCESS);
	TAP_EQ_INT(ace->Header.AceType, ACCESS_ALLOWED_ACE_TYPE);
	TAP_EQ_INT(ace->Header.AceSize, 8 + 16);
	TAP_CHECK(RtlEqualSid(&ace->SidStart, sid));
	TAP_EQ_INT(RtlGetAce(&u.acl, 1, (PVOID *)&ace), STATUS_INVALID_PARAMETER);
	TAP_CHECK(fm_sec_valid_acl(&u.acl));
	TAP_CHECK(fm_sec_access_check(&u.acl, &user, FLT_PORT_CONNECT, FLT_PORT_ALL_ACCESS));
	TAP_CHECK(!fm_sec_access_check(&u.acl, &member, FLT_PORT_CONNECT, FLT_PORT_ALL_ACCESS));
	TAP_CHECK(!fm_sec_access_check(&u.acl, &root, FLT_PORT_CONNECT, FLT_PORT_ALL_ACCESS));

	/* A supplementary group's SID. */
	TAP_EQ_INT(
	    RtlAddAccessAllowedAce(&u.acl, ACL_REVISION, GENERIC_ALL, unix_sid(sid2, 2, 4242)),
	    STATUS_SUCCESS);
	TAP_CHECK(fm_sec_access_check(&u.acl, &member, FLT_PORT_CONNECT, FLT_PORT_ALL_ACCESS));
	/* A right other than FLT_PORT_CONNECT does not admit. */
	TAP_EQ_INT(RtlCreateAcl(&u.acl, sizeof(u), ACL_REVISION), STATUS_SUCCESS);
	TAP_EQ_INT(
	    RtlAddAccessAllowedAce(&u.acl, ACL_REVISION, READ_CONTROL, SeExports->SeWorldSid),
	    STATUS_SUCCESS);
	TAP_CHECK(!fm_sec_access_check(&u.acl, &user, FLT_PORT_CONNECT, FLT_PORT_ALL_ACCESS));
	/* A denied ACE before an allowed one wins; an inherit-only ACE is skipped. */
	TAP_EQ_INT(RtlCreateAcl(&u.acl, sizeof(u), ACL_REVISION), STATUS_SUCCESS);
	TAP_EQ_INT(
	    RtlAddAccessAllowedAce(&u.acl, ACL_REVISION, FLT_PORT_CONNECT, unix_sid(sid, 1, 1000)),
	    STATUS_SUCCESS);
	TAP_EQ_INT(RtlAddAccessAllowedAceEx(&u.acl, ACL_REVISION, INHERIT_ONLY_ACE,
					    FLT_PORT_CONNECT, SeExports->SeWorldSid),
		   STATUS_SUCCESS);
	TAP_EQ_INT(
	    RtlAddAccessAllowedAce(&u.acl, ACL_REVISION, FLT_PORT_CONNECT, SeExports->SeWorldSid),
	    STATUS_SUCCESS);
	TAP_EQ_INT(RtlGetAce(&u.acl, 0, (PVOID *)&ace), STATUS_SUCCESS);
	ace->Header.AceType = ACCESS_DENIED_ACE_TYPE;
	TAP_CHECK(!fm_sec_access_check(&u.acl, &user, FLT_PORT_CONNECT, FLT_PORT_ALL_ACCESS));
	TAP_CHECK(fm_sec_access_check(&u.acl, &member, FLT_PORT_CONNECT, FLT_PORT_ALL_ACCESS));
	/* Space runs out. */
	TAP_EQ_INT(RtlCreateAcl(&u.acl, sizeof(ACL) + 20, ACL_REVISION), STATUS_SUCCESS);
	TAP_EQ_INT(
	    RtlAddAccessAllowedAce(&u.acl, ACL_REVISION, FLT_PORT_CONNECT, unix_sid(sid, 1, 1)),
	    STATUS_ALLOTTED_SPACE_EXCEEDED);
	sid[0] = 0; /* revision 0: not a SID */
	TAP_EQ_INT(RtlAddAccessAllowedAce(&u.acl, ACL_REVISION, FLT_PORT_CONNECT, sid),
		   STATUS_INVALID_SID);
	/* A malformed ACL is refused by the port. */
	u.acl.AceCount = 3;
	TAP_CHECK(!fm_sec_valid_acl(&u.acl));
	TAP_EQ_INT(RtlCreateSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION), STATUS_SUCCESS);
	TAP_EQ_INT(RtlSetDaclSecurityDescriptor(&sd, TRUE, &u.acl, FALSE), STATUS_SUCCESS);
	TAP_EQ_INT(RtlGetDaclSecurityDescriptor(&sd, &present, &got, &defaulted), STATUS_SUCCESS);
	TAP_CHECK(present && got == &u.acl && !defaulted);
	{
		PFLT_PORT sp = NULL;
		TAP_EQ_INT(create(&sp, OBJ_KERNEL_HANDLE, &sd, 1, on_connect, on_disconnect),
			   STATUS_INVALID_ACL);
	}
}

/* Connect as uid/gid (+ one supplementary group, 0 = none) from a child; its CONNECT_ACK. */
static NTSTATUS client_as(uid_t uid, gid_t gid, gid_t extra)
{
	int pfd[2], status;
	NTSTATUS st = -3;
	pid_t pid;

	if (pipe(pfd) < 0)
		return -3;
	pid = fork();
	if (pid == 0) {
		NTSTATUS cst;
		int fd;

		close(pfd[0]);
		if (setgroups(extra ? 1 : 0, &extra) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
			_exit(1);
		fd = client("", &cst);
		if (write(pfd[1], &cst, sizeof(cst)) < 0)
			_exit(1);
		/* Stay until the parent has seen the answer, then leave (a disconnect). */
		if (fd >= 0)
			close(fd);
		_exit(0);
	}
	close(pfd[1]);
	if (pid > 0 && read(pfd[0], &st, sizeof(st)) != sizeof(st))
		st = -3;
	close(pfd[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	return st;
}

static void t_acl_peers(void)
{
	union {
		ACL acl;
		ULONG space[32];
	} u;
	ULONG sid[SECURITY_MAX_SID_SIZE / sizeof(ULONG)];
	SECURITY_DESCRIPTOR sd;
	PFLT_PORT sp = NULL;
	char p[128];

	if (geteuid() != 0) {
		printf("# skipped: connecting as other uids needs root\n");
		return;
	}
	/* Other uids must reach the socket. */
	chmod(g_root, 0755);
	snprintf(p, sizeof(p), "%s/ports", g_root);
	mkdir(p, 0755);
	chmod(p, 0755);
	RtlCreateAcl(&u.acl, sizeof(u), ACL_REVISION);
	RtlAddAccessAllowedAce(&u.acl, ACL_REVISION, FLT_PORT_ALL_ACCESS, unix_sid(sid, 1, 60001));
	RtlAddAccessAllowedAce(&u.acl, ACL_REVISION, FLT_PORT_ALL_ACCESS, unix_sid(sid, 2, 60100));
	RtlCreateSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION);
	RtlSetDaclSecurityDescriptor(&sd, TRUE, &u.acl, FALSE);
	TAP_EQ_INT(create(&sp, OBJ_KERNEL_HANDLE, &sd, 4, on_connect, on_disconnect),
		   STATUS_SUCCESS);
	/* The port copied the DACL: changing ours changes nothing. */
	memset(&u, 0, sizeof(u));
	g_connects = g_disconnects = 0;
	/* Each admitted client leaves before the next comes (on_disconnect closes g_client). */
	TAP_EQ_INT(client_as(60001, 60001, 0), STATUS_SUCCESS);
	TAP_CHECK(wait_for(&g_disconnects, 1));
	TAP_EQ_INT(client_as(60002, 60002, 0), STATUS_ACCESS_DENIED);
	TAP_EQ_INT(client_as(60002, 60100, 0), STATUS_SUCCESS);
	TAP_CHECK(wait_for(&g_disconnects, 2));
	TAP_EQ_INT(client_as(60003, 60003, 60100), STATUS_SUCCESS);
	TAP_CHECK(wait_for(&g_disconnects, 3));
	/* Root is not in this DACL: refused, as SYSTEM would be on Windows. */
	TAP_EQ_INT(client_as(0, 0, 0), STATUS_ACCESS_DENIED);
	TAP_EQ_INT(g_connects, 3);
	FltCloseCommunicationPort(sp);
	g_connects = g_disconnects = 0;
	chmod(g_root, 0700);
}

/* A raw socket to the test port, nothing sent yet. */
static int raw_socket(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s/ports/%%5CTestPort", g_root);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The port still serves a well-behaved client: connect, SEND, SEND_ACK, leave. */
static bool still_serves(int disconnects_before)
{
	struct fm_pw_hdr h;
	NTSTATUS st;
	char buf[8];
	bool ok;
	int fd = client(NULL, &st);

	ok = fd >= 0 && st == STATUS_SUCCESS;
	if (ok) {
		wr(fd, FM_PW_SEND, 9, 0, 8, "ok", 2);
		ok = rd(fd, &h, sizeof(h)) == 0 && h.type == FM_PW_SEND_ACK && h.seq == 9 &&
		     h.len == 2 && rd(fd, buf, 2) == 0 && memcmp(buf, "pl", 2) == 0;
	}
	if (fd >= 0)
		close(fd);
	return ok && wait_for(&g_disconnects, disconnects_before + 1);
}

/* A client that leaves at every step of a conversation costs its own connection only. */
static void t_disconnect_every_step(void)
{
	struct fm_pw_hdr full = {.magic = FM_PW_MAGIC, .type = FM_PW_CONNECT, .len = 5, .seq = 1};
	struct fm_pw_hdr send_hdr = {
	    .magic = FM_PW_MAGIC, .type = FM_PW_SEND, .len = 10, .seq = 2, .arg = 16};
	struct fm_pw_hdr reply_hdr = {
	    .magic = FM_PW_MAGIC, .type = FM_PW_REPLY, .len = 4, .seq = 3};
	PFLT_PORT sp;
	NTSTATUS st;
	int fd, expect = 0;

	g_connects = g_disconnects = 0;
	TAP_EQ_INT(create(&sp, OBJ_KERNEL_HANDLE, NULL, 1, on_connect, on_disconnect),
		   STATUS_SUCCESS);
	/* Before the handshake completes: no ConnectNotify, no DisconnectNotify. */
	for (int step = 0; step < 3; step++) {
		int c0 = g_connects;

		fd = raw_socket();
		TAP_CHECK(fd >= 0);
		if (step == 1 && send(fd, &full, 10, MSG_NOSIGNAL) < 0)
			printf("# send failed\n");
		if (step == 2 && (send(fd, &full, sizeof(full), MSG_NOSIGNAL) < 0 ||
				  send(fd, "ab", 2, MSG_NOSIGNAL) < 0))
			printf("# send failed\n");
		close(fd);
		usleep(50000);
		TAP_EQ_INT(g_connects, c0);
		TAP_EQ_INT(g_disconnects, expect);
		TAP_CHECK(still_serves(expect));
		expect++;
	}
	/* CONNECT sent, gone before the acknowledgement: connected, then disconnected once. */
	fd = raw_socket();
	wr(fd, FM_PW_CONNECT, 1, 0, 0, "hello", 5);
	close(fd);
	TAP_CHECK(wait_for(&g_disconnects, expect + 1));
	expect++;
	TAP_CHECK(still_serves(expect));
	expect++;
	/* A GET posted, then gone: the filter's next send finds no client. */
	fd = client(NULL, &st);
	TAP_EQ_INT(st, STATUS_SUCCESS);
	wr(fd, FM_PW_GET, 0, 0, 0, NULL, 0);
	close(fd);
	TAP_CHECK(wait_for(&g_disconnects, expect + 1));
	TAP_EQ_INT(FltSendMessage(&g_filter, &g_client, "x", 1, NULL, NULL, NULL),
		   STATUS_PORT_DISCONNECTED);
	expect++;
	TAP_CHECK(still_serves(expect));
	expect++;
	/* Half a SEND payload; a whole SEND without waiting for its answer; half a REPLY. */
	for (int step = 0; step < 3; step++) {
		fd = client(NULL, &st);
		TAP_EQ_INT(st, STATUS_SUCCESS);
		if (step == 0 && (send(fd, &send_hdr, sizeof(send_hdr), MSG_NOSIGNAL) < 0 ||
				  send(fd, "abc", 3, MSG_NOSIGNAL) < 0))
			printf("# send failed\n");
		if (step == 1)
			wr(fd, FM_PW_SEND, 2, 0, 16, "abcdefghij", 10);
		if (step == 2 && (send(fd, &reply_hdr, sizeof(reply_hdr), MSG_NOSIGNAL) < 0 ||
				  send(fd, "x", 1, MSG_NOSIGNAL) < 0))
			printf("# send failed\n");
		close(fd);
		TAP_CHECK(wait_for(&g_disconnects, expect + 1));
		expect++;
		TAP_CHECK(still_serves(expect));
		expect++;
	}
	usleep(50000);
	TAP_EQ_INT(g_disconnects, expect);
	FltCloseCommunicationPort(sp);
	g_connects = g_disconnects = 0;
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
	TAP_RUN(t_acl_routines);
	TAP_RUN(t_acl_peers);
	TAP_RUN(t_disconnect_every_step);
	TAP_RUN(t_rundown);
	{
		char p[128];
		snprintf(p, sizeof(p), "%s/ports", g_root);
		rmdir(p);
		rmdir(g_root);
	}
	return tap_done();
}
