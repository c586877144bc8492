/* Unit tests of the registry store: types, names, enumeration, deletion, persistence. */
#include "tap.h"

#include "common/alloc.h"
#include "common/log.h"
#include "core/registry.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define SVC FM_REG_SERVICES "\\nullfilter"

static char tmpdir[64];
static char regfile[128];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

static char *read_file(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void t_types(void)
{
	struct fm_regkey *k;
	uint8_t buf[64];
	size_t len;
	uint32_t type, dw;
	uint64_t qw;
	char s[64];
	static const uint8_t blob[] = {1, 2, 0xff};
	const char *pats[] = {"*.secret", "*.key"};

	TAP_EQ_INT(fm_reg_init(NULL), 0);
	TAP_EQ_INT(fm_reg_open(SVC, 1, &k), 0);
	TAP_EQ_INT(fm_reg_set_string(k, "Altitude", "370020"), 0);
	TAP_EQ_INT(fm_reg_set_string_type(k, "Path", FM_REG_EXPAND_SZ, "/x/y.so"), 0);
	TAP_EQ_INT(fm_reg_set_dword(k, "Flags", 0x12345678), 0);
	TAP_EQ_INT(fm_reg_set_qword(k, "Big", 0x100000000ull), 0);
	TAP_EQ_INT(fm_reg_set_value(k, "Blob", FM_REG_BINARY, blob, sizeof(blob)), 0);
	TAP_EQ_INT(fm_reg_set_multi_sz(k, "Patterns", pats, 2), 0);

	/* REG_SZ is UTF-16LE with its terminator. */
	len = sizeof(buf);
	TAP_EQ_INT(fm_reg_get_value(k, "Altitude", &type, buf, &len), 0);
	TAP_EQ_INT(type, FM_REG_SZ);
	TAP_EQ_INT(len, 14);
	TAP_CHECK(memcmp(buf,
			 "3\0"
			 "7\0"
			 "0\0"
			 "0\0"
			 "2\0"
			 "0\0"
			 "\0\0",
			 14) == 0);
	TAP_EQ_INT(fm_reg_get_string(k, "Altitude", s, sizeof(s)), 0);
	TAP_EQ_STR(s, "370020");
	TAP_EQ_INT(fm_reg_get_string(k, "Path", s, sizeof(s)), 0);
	TAP_EQ_STR(s, "/x/y.so");
	TAP_EQ_INT(fm_reg_get_string(k, "Altitude", s, 6), -ENOSPC);
	TAP_EQ_INT(fm_reg_get_string(k, "Flags", s, sizeof(s)), -EINVAL);

	len = sizeof(buf);
	TAP_EQ_INT(fm_reg_get_value(k, "Flags", &type, buf, &len), 0);
	TAP_EQ_INT(type, FM_REG_DWORD);
	TAP_EQ_INT(len, 4);
	TAP_CHECK(buf[0] == 0x78 && buf[3] == 0x12);
	TAP_EQ_INT(fm_reg_get_dword(k, "Flags", &dw), 0);
	TAP_EQ_INT(dw, 0x12345678);
	TAP_EQ_INT(fm_reg_get_dword(k, "Big", &dw), -EINVAL);
	TAP_EQ_INT(fm_reg_get_qword(k, "Big", &qw), 0);
	TAP_EQ_INT(qw, 0x100000000ull);

	len = sizeof(buf);
	TAP_EQ_INT(fm_reg_get_value(k, "Blob", &type, buf, &len), 0);
	TAP_EQ_INT(type, FM_REG_BINARY);
	TAP_EQ_INT(len, 3);
	TAP_CHECK(memcmp(buf, blob, 3) == 0);

	len = sizeof(buf);
	TAP_EQ_INT(fm_reg_get_value(k, "Patterns", &type, buf, &len), 0);
	TAP_EQ_INT(type, FM_REG_MULTI_SZ);
	TAP_EQ_INT(len, (8 + 1 + 5 + 1 + 1) * 2);
	TAP_EQ_INT(fm_reg_get_multi_sz(k, "Patterns", s, sizeof(s)), 0);
	TAP_CHECK(memcmp(s, "*.secret\0*.key\0\0", 16) == 0);

	/* Size query and too-small buffer report the needed size. */
	len = 0;
	TAP_EQ_INT(fm_reg_get_value(k, "Patterns", NULL, NULL, &len), -ENOSPC);
	TAP_EQ_INT(len, 32);
	len = 2;
	TAP_EQ_INT(fm_reg_get_value(k, "Blob", NULL, buf, &len), -ENOSPC);
	TAP_EQ_INT(len, 3);

	/* Non-ASCII survives UTF-8 -> UTF-16 -> UTF-8, including a surrogate pair. */
	TAP_EQ_INT(fm_reg_set_string(k, "Uni", "caf\xc3\xa9 \xf0\x9f\x98\x80"), 0);
	len = sizeof(buf);
	TAP_EQ_INT(fm_reg_get_value(k, "Uni", NULL, buf, &len), 0);
	TAP_EQ_INT(len, (5 + 2 + 1) * 2);
	TAP_EQ_INT(fm_reg_get_string(k, "Uni", s, sizeof(s)), 0);
	TAP_EQ_STR(s, "caf\xc3\xa9 \xf0\x9f\x98\x80");
	TAP_EQ_INT(fm_reg_set_string(k, "Bad", "\xff"), -EINVAL);

	/* Replacing changes the type too; deleting a value. */
	TAP_EQ_INT(fm_reg_set_dword(k, "Uni", 7), 0);
	TAP_EQ_INT(fm_reg_get_dword(k, "uni", &dw), 0);
	TAP_EQ_INT(dw, 7);
	TAP_EQ_INT(fm_reg_delete_value(k, "UNI"), 0);
	TAP_EQ_INT(fm_reg_get_dword(k, "Uni", &dw), -ENOENT);
	TAP_EQ_INT(fm_reg_delete_value(k, "Uni"), -ENOENT);

	fm_reg_close(k);
	fm_reg_fini();
}

static void t_case_insensitive(void)
{
	struct fm_regkey *a, *b;
	char s[256];

	TAP_EQ_INT(fm_reg_init(NULL), 0);
	TAP_EQ_INT(fm_reg_open(SVC "\\Instances\\Null Instance", 1, &a), 0);
	TAP_EQ_INT(fm_reg_set_string(a, "Altitude", "370020"), 0);
	TAP_EQ_INT(
	    fm_reg_open("\\registry\\machine\\system\\currentcontrolset\\SERVICES\\NULLFILTER"
			"\\instances\\null instance",
			0, &b),
	    0);
	TAP_CHECK(a == b);
	TAP_EQ_INT(fm_reg_get_string(b, "ALTITUDE", s, sizeof(s)), 0);
	TAP_EQ_STR(s, "370020");
	/* The name keeps the case it was created with. */
	TAP_EQ_INT(fm_reg_key_name(b, s, sizeof(s)), 0);
	TAP_EQ_STR(s, "Null Instance");
	TAP_EQ_INT(fm_reg_key_path(b, s, sizeof(s)), 0);
	TAP_EQ_STR(s, SVC "\\Instances\\Null Instance");
	TAP_EQ_INT(fm_reg_key_name(b, s, 4), -ENOSPC);
	fm_reg_close(b);
	fm_reg_close(a);

	TAP_EQ_INT(fm_reg_open(SVC "\\nope", 0, &a), -ENOENT);
	TAP_EQ_INT(fm_reg_open("REGISTRY\\x", 1, &a), -EINVAL);
	TAP_EQ_INT(fm_reg_open("\\REGISTRY\\\\x", 1, &a), -EINVAL);
	TAP_EQ_INT(fm_reg_open("\\REGISTRY\\x\\", 1, &a), -EINVAL);
	TAP_EQ_INT(fm_reg_open("\\REGISTRY\\a\tb", 1, &a), -EINVAL);
	{
		/* 512 levels at most, as Windows. */
		static char deep[600 * 2 + 1];

		for (int i = 0; i < 600; i++)
			memcpy(deep + 2 * i, "\\a", 2);
		deep[2 * 512] = '\0';
		TAP_EQ_INT(fm_reg_open(deep, 1, &a), 0);
		fm_reg_close(a);
		deep[2 * 512] = '\\';
		deep[2 * 513] = '\0';
		TAP_EQ_INT(fm_reg_open(deep, 1, &a), -EINVAL);
	}
	TAP_EQ_INT(fm_reg_open(SVC, 0, &a), 0);
	TAP_EQ_INT(fm_reg_open_sub(a, "instances\\NULL INSTANCE", 0, &b), 0);
	TAP_EQ_INT(fm_reg_get_string(b, "altitude", s, sizeof(s)), 0);
	fm_reg_close(b);
	TAP_EQ_INT(fm_reg_open_sub(a, "\\abs", 0, &b), -EINVAL);
	fm_reg_close(a);
	fm_reg_fini();
	TAP_EQ_INT(fm_reg_open(SVC, 0, &a), -ENODEV);
}

static void t_enumerate(void)
{
	struct fm_regkey *k, *s;
	char name[64];
	uint8_t buf[16];
	size_t len;
	uint32_t type;

	TAP_EQ_INT(fm_reg_init(NULL), 0);
	TAP_EQ_INT(fm_reg_open(SVC, 1, &k), 0);
	/* Subkeys enumerate in case-insensitive order, whatever the creation order. */
	TAP_EQ_INT(fm_reg_open_sub(k, "charlie", 1, &s), 0);
	fm_reg_close(s);
	TAP_EQ_INT(fm_reg_open_sub(k, "Alpha", 1, &s), 0);
	fm_reg_close(s);
	TAP_EQ_INT(fm_reg_open_sub(k, "bravo", 1, &s), 0);
	fm_reg_close(s);
	TAP_EQ_INT(fm_reg_open_sub(k, "BRAVO", 1, &s), 0); /* the same key */
	fm_reg_close(s);
	TAP_EQ_INT(fm_reg_enum_key(k, 0, name, sizeof(name)), 0);
	TAP_EQ_STR(name, "Alpha");
	TAP_EQ_INT(fm_reg_enum_key(k, 1, name, sizeof(name)), 0);
	TAP_EQ_STR(name, "bravo");
	TAP_EQ_INT(fm_reg_enum_key(k, 2, name, sizeof(name)), 0);
	TAP_EQ_STR(name, "charlie");
	TAP_EQ_INT(fm_reg_enum_key(k, 3, name, sizeof(name)), -ENOENT);
	TAP_EQ_INT(fm_reg_enum_key(k, 0, name, 3), -ENOSPC);

	/* Values enumerate in creation order. */
	TAP_EQ_INT(fm_reg_set_dword(k, "Zed", 1), 0);
	TAP_EQ_INT(fm_reg_set_dword(k, "Amy", 2), 0);
	TAP_EQ_INT(fm_reg_set_string(k, "", "default"), 0);
	len = sizeof(buf);
	TAP_EQ_INT(fm_reg_enum_value(k, 0, name, sizeof(name), &type, buf, &len), 0);
	TAP_EQ_STR(name, "Zed");
	TAP_EQ_INT(type, FM_REG_DWORD);
	TAP_EQ_INT(len, 4);
	TAP_EQ_INT(fm_reg_enum_value(k, 1, name, sizeof(name), NULL, NULL, NULL), 0);
	TAP_EQ_STR(name, "Amy");
	len = 2;
	TAP_EQ_INT(fm_reg_enum_value(k, 2, name, sizeof(name), &type, buf, &len), -ENOSPC);
	TAP_EQ_INT(len, 16);
	TAP_EQ_INT(fm_reg_enum_value(k, 3, name, sizeof(name), NULL, NULL, NULL), -ENOENT);
	fm_reg_close(k);
	fm_reg_fini();
}

static void t_delete_subtree(void)
{
	struct fm_regkey *svc, *inst, *deep, *k;
	uint32_t dw;
	char name[64];

	TAP_EQ_INT(fm_reg_init(NULL), 0);
	TAP_EQ_INT(fm_reg_open(SVC "\\Instances\\A\\Deep", 1, &deep), 0);
	TAP_EQ_INT(fm_reg_set_dword(deep, "x", 1), 0);
	TAP_EQ_INT(fm_reg_open(SVC "\\Instances", 0, &inst), 0);
	TAP_EQ_INT(fm_reg_open(SVC, 0, &svc), 0);
	TAP_EQ_INT(fm_reg_open(FM_REG_SERVICES "\\other", 1, &k), 0);
	fm_reg_close(k);

	TAP_EQ_INT(fm_reg_delete_key(inst), 0);
	/* Handles below stay valid but dead. */
	TAP_EQ_INT(fm_reg_get_dword(deep, "x", &dw), -ENOENT);
	TAP_EQ_INT(fm_reg_set_dword(deep, "x", 2), -ENOENT);
	TAP_EQ_INT(fm_reg_delete_key(inst), -ENOENT);
	TAP_EQ_INT(fm_reg_open(SVC "\\Instances\\A\\Deep", 0, &k), -ENOENT);
	TAP_EQ_INT(fm_reg_open(SVC "\\Instances", 0, &k), -ENOENT);
	TAP_EQ_INT(fm_reg_enum_key(svc, 0, name, sizeof(name)), -ENOENT);
	/* The sibling service is untouched; re-creating gives a fresh, empty key. */
	TAP_EQ_INT(fm_reg_open(FM_REG_SERVICES "\\other", 0, &k), 0);
	fm_reg_close(k);
	TAP_EQ_INT(fm_reg_open(SVC "\\Instances\\A\\Deep", 1, &k), 0);
	TAP_CHECK(k != deep);
	TAP_EQ_INT(fm_reg_get_dword(k, "x", &dw), -ENOENT);
	fm_reg_close(k);
	fm_reg_close(deep);
	fm_reg_close(inst);
	fm_reg_close(svc);
	fm_reg_fini();
}

static void t_round_trip(void)
{
	struct fm_regkey *k;
	const char *pats[] = {"*.secret", "*.key", "quote\"back\\slash"};
	static const uint8_t odd_sz[] = {'a', 0, 0, 0, 'b', 0}; /* embedded NUL, no terminator */
	static const uint8_t none[] = {9, 8};
	uint8_t buf[64];
	size_t len;
	uint32_t type, dw;
	uint64_t qw;
	char s[128];
	char *text;

	TAP_EQ_INT(fm_reg_init(regfile), 0);
	TAP_EQ_INT(fm_reg_open(SVC "\\Instances\\Null Instance", 1, &k), 0);
	TAP_EQ_INT(fm_reg_set_string(k, "Altitude", "370020"), 0);
	TAP_EQ_INT(fm_reg_set_dword(k, "Flags", 0), 0);
	fm_reg_close(k);
	TAP_EQ_INT(fm_reg_open(SVC, 0, &k), 0);
	TAP_EQ_INT(fm_reg_set_string_type(k, "ImagePath", FM_REG_EXPAND_SZ, "/x/y.so"), 0);
	TAP_EQ_INT(fm_reg_set_multi_sz(k, "Patterns", pats, 3), 0);
	TAP_EQ_INT(fm_reg_set_multi_sz(k, "Empty", NULL, 0), 0);
	TAP_EQ_INT(fm_reg_set_value(k, "Blob", FM_REG_BINARY, "\x01\x02\xff", 3), 0);
	TAP_EQ_INT(fm_reg_set_value(k, "NoData", FM_REG_BINARY, NULL, 0), 0);
	TAP_EQ_INT(fm_reg_set_qword(k, "Big", 0x100000000ull), 0);
	TAP_EQ_INT(fm_reg_set_value(k, "OddSz", FM_REG_SZ, odd_sz, sizeof(odd_sz)), 0);
	TAP_EQ_INT(fm_reg_set_value(k, "Type0", 0, none, sizeof(none)), 0);
	TAP_EQ_INT(fm_reg_set_string(k, "Ctl\ttab", "line1\nline2 \xc3\xa9"), 0);
	TAP_EQ_INT(fm_reg_set_string(k, "", ""), 0);
	fm_reg_close(k);
	TAP_EQ_INT(fm_reg_open(FM_REG_SERVICES "\\EmptyKey", 1, &k), 0);
	fm_reg_close(k);
	TAP_EQ_INT(fm_reg_flush(), 0);
	fm_reg_fini();

	text = read_file(regfile);
	TAP_CHECK(text != NULL);
	if (text) {
		TAP_CHECK(strstr(text, "[" SVC "\\Instances\\Null Instance]\n") != NULL);
		TAP_CHECK(strstr(text, "\"Altitude\"=sz:\"370020\"\n") != NULL);
		TAP_CHECK(strstr(text, "\"Flags\"=dword:0x00000000\n") != NULL);
		TAP_CHECK(strstr(text, "\"ImagePath\"=expand_sz:\"/x/y.so\"\n") != NULL);
		TAP_CHECK(strstr(text, "\"Patterns\"=multi_sz:\"*.secret\",\"*.key\","
				       "\"quote\\\"back\\\\slash\"\n") != NULL);
		TAP_CHECK(strstr(text, "\"Blob\"=hex:01,02,ff\n") != NULL);
		TAP_CHECK(strstr(text, "\"Big\"=qword:0x0000000100000000\n") != NULL);
		TAP_CHECK(strstr(text, "\"OddSz\"=hex(1):61,00,00,00,62,00\n") != NULL);
		TAP_CHECK(strstr(text, "\"Ctl\\x09tab\"=sz:\"line1\\x0aline2 \xc3\xa9\"\n") !=
			  NULL);
	}

	TAP_EQ_INT(fm_reg_init(regfile), 0);
	TAP_EQ_INT(fm_reg_open(SVC "\\instances\\null instance", 0, &k), 0);
	TAP_EQ_INT(fm_reg_get_string(k, "Altitude", s, sizeof(s)), 0);
	TAP_EQ_STR(s, "370020");
	TAP_EQ_INT(fm_reg_get_dword(k, "Flags", &dw), 0);
	TAP_EQ_INT(dw, 0);
	fm_reg_close(k);
	TAP_EQ_INT(fm_reg_open(SVC, 0, &k), 0);
	len = sizeof(buf);
	TAP_EQ_INT(fm_reg_get_value(k, "ImagePath", &type, buf, &len), 0);
	TAP_EQ_INT(type, FM_REG_EXPAND_SZ);
	TAP_EQ_INT(fm_reg_get_multi_sz(k, "Patterns", s, sizeof(s)), 0);
	TAP_CHECK(memcmp(s, "*.secret\0*.key\0quote\"back\\slash\0\0", 33) == 0);
	len = sizeof(buf);
	TAP_EQ_INT(fm_reg_get_value(k, "Empty", &type, buf, &len), 0);
	TAP_EQ_INT(type, FM_REG_MULTI_SZ);
	TAP_EQ_INT(len, 2);
	len = sizeof(buf);
	TAP_EQ_INT(fm_reg_get_value(k, "Blob", &type, buf, &len), 0);
	TAP_EQ_INT(len, 3);
	TAP_CHECK(memcmp(buf, "\x01\x02\xff", 3) == 0);
	len = sizeof(buf);
	TAP_EQ_INT(fm_reg_get_value(k, "NoData", &type, buf, &len), 0);
	TAP_EQ_INT(len, 0);
	TAP_EQ_INT(fm_reg_get_qword(k, "Big", &qw), 0);
	TAP_EQ_INT(qw, 0x100000000ull);
	len = sizeof(buf);
	TAP_EQ_INT(fm_reg_get_value(k, "OddSz", &type, buf, &len), 0);
	TAP_EQ_INT(type, FM_REG_SZ);
	TAP_EQ_INT(len, sizeof(odd_sz));
	TAP_CHECK(memcmp(buf, odd_sz, sizeof(odd_sz)) == 0);
	len = sizeof(buf);
	TAP_EQ_INT(fm_reg_get_value(k, "Type0", &type, buf, &len), 0);
	TAP_EQ_INT(type, 0);
	TAP_EQ_INT(len, 2);
	TAP_EQ_INT(fm_reg_get_string(k, "ctl\ttab", s, sizeof(s)), 0);
	TAP_EQ_STR(s, "line1\nline2 \xc3\xa9");
	TAP_EQ_INT(fm_reg_get_string(k, "", s, sizeof(s)), 0);
	TAP_EQ_STR(s, "");
	fm_reg_close(k);
	TAP_EQ_INT(fm_reg_open(FM_REG_SERVICES "\\emptykey", 0, &k), 0);
	fm_reg_close(k);
	fm_reg_fini();
	unlink(regfile);
}

static void t_missing_file(void)
{
	struct fm_regkey *k;
	char path[160];

	snprintf(path, sizeof(path), "%s/none", tmpdir);
	TAP_EQ_INT(fm_reg_init(path), 0);
	TAP_EQ_INT(fm_reg_open(SVC, 0, &k), -ENOENT);
	TAP_EQ_INT(fm_reg_init(path), -EBUSY);
	/* A flush creates it. */
	TAP_EQ_INT(fm_reg_open(SVC, 1, &k), 0);
	fm_reg_close(k);
	TAP_EQ_INT(fm_reg_flush(), 0);
	TAP_CHECK(access(path, R_OK) == 0);
	fm_reg_fini();
	unlink(path);
}

/* Only regular files the flush left in tmpdir besides the registry: its temp files. */
static int count_temp_files(void)
{
	char cmd[160];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls %s | grep -c '\\.tmp\\.'", tmpdir);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (fscanf(p, "%d", &n) != 1)
		n = -1;
	pclose(p);
	return n;
}

static void t_atomic_write(void)
{
	struct fm_regkey *k;
	struct rlimit old, lim;
	char before[4096], big[2048];
	char *text;
	int rc;

	TAP_EQ_INT(fm_reg_init(regfile), 0);
	TAP_EQ_INT(fm_reg_open(SVC, 1, &k), 0);
	TAP_EQ_INT(fm_reg_set_string(k, "Altitude", "370020"), 0);
	TAP_EQ_INT(fm_reg_flush(), 0);
	text = read_file(regfile);
	TAP_CHECK(text != NULL && strlen(text) < sizeof(before));
	snprintf(before, sizeof(before), "%s", text ? text : "");

	/* Make the next flush fail half-way: the file size limit makes write() fail with EFBIG. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	TAP_EQ_INT(fm_reg_set_string(k, "Big", big), 0);
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 1024;
	setrlimit(RLIMIT_FSIZE, &lim);
	rc = fm_reg_flush();
	setrlimit(RLIMIT_FSIZE, &old);
	TAP_CHECK(rc < 0);
	text = read_file(regfile);
	TAP_CHECK(text && strcmp(text, before) == 0);
	TAP_EQ_INT(count_temp_files(), 0);

	/* And with the limit lifted, the same flush succeeds. */
	TAP_EQ_INT(fm_reg_flush(), 0);
	text = read_file(regfile);
	TAP_CHECK(text && strstr(text, "\"Big\"=sz:\"xxxx") != NULL);
	fm_reg_close(k);
	fm_reg_fini();
	unlink(regfile);
}

static int load_text(const char *text)
{
	int rc;

	write_file(regfile, text);
	rc = fm_reg_init(regfile);
	if (rc == 0)
		fm_reg_fini();
	return rc;
}

static void t_malformed(void)
{
	char logpath[160];
	char *log;

	snprintf(logpath, sizeof(logpath), "%s/log", tmpdir);
	fm_log_open(logpath, FM_LOG_INFO);

	TAP_EQ_INT(load_text("# comment\n\n[\\REGISTRY\\A]\n\"v\"=dword:1\n"), 0);
	TAP_EQ_INT(load_text("[\\REGISTRY\\A]\n\"v\"=dword:1\n\"w\"=word:2\n"), -EINVAL);
	log = read_file(logpath);
	TAP_CHECK(log && strstr(log, ":3: unknown type") != NULL);
	TAP_EQ_INT(load_text("\"v\"=dword:1\n"), -EINVAL);
	log = read_file(logpath);
	TAP_CHECK(log && strstr(log, ":1: value before any [key]") != NULL);
	TAP_EQ_INT(load_text("[\\REGISTRY\\A]\n\n\n\"v\"=sz:\"unterminated\n"), -EINVAL);
	log = read_file(logpath);
	TAP_CHECK(log && strstr(log, ":4: unterminated string") != NULL);
	TAP_EQ_INT(load_text("[\\REGISTRY\\A\n"), -EINVAL);
	TAP_EQ_INT(load_text("[REGISTRY\\A]\n"), -EINVAL);
	TAP_EQ_INT(load_text("[\\REGISTRY\\\\A]\n"), -EINVAL);
	TAP_EQ_INT(load_text("[\\A]\n\"v\"=dword:0x100000000\n"), -EINVAL);
	TAP_EQ_INT(load_text("[\\A]\n\"v\"=qword:-1\n"), -EINVAL);
	TAP_EQ_INT(load_text("[\\A]\n\"v\"=hex:1,2\n"), -EINVAL);
	TAP_EQ_INT(load_text("[\\A]\n\"v\"=hex:01,\n"), -EINVAL);
	TAP_EQ_INT(load_text("[\\A]\n\"v\"=hex(zz):01\n"), -EINVAL);
	TAP_EQ_INT(load_text("[\\A]\n\"v\"=sz:\"a\" junk\n"), -EINVAL);
	TAP_EQ_INT(load_text("[\\A]\n\"v\"=sz:\"\\q\"\n"), -EINVAL);
	TAP_EQ_INT(load_text("[\\A]\n\"v\"=sz:\"\\x00\"\n"), -EINVAL);
	TAP_EQ_INT(load_text("[\\A]\n\"v\"=sz:\"\xff\"\n"), -EINVAL);
	TAP_EQ_INT(load_text("[\\A]\n\"v\"=multi_sz:\"a\"\"b\"\n"), -EINVAL);
	TAP_EQ_INT(load_text("[\\A]\n\"v\"=multi_sz:\"a\",\"\"\n"), -EINVAL);
	TAP_EQ_INT(load_text("[\\A]\n\"v\"=dword:1\n\"V\"=dword:2\n"), -EINVAL);
	TAP_EQ_INT(load_text("[\\A]\n\"v\"dword:1\n"), -EINVAL);
	TAP_EQ_INT(load_text("[\\A]\nv=dword:1\n"), -EINVAL);
	TAP_EQ_INT(load_text("[\\A]\n\"v\"=:1\n"), -EINVAL);
	/* A failed load leaves no registry behind. */
	TAP_EQ_INT(load_text("garbage"), -EINVAL);
	{
		struct fm_regkey *k;

		TAP_EQ_INT(fm_reg_open("\\A", 0, &k), -ENODEV);
	}
	fm_log_open(NULL, FM_LOG_INFO);
	unlink(logpath);
	unlink(regfile);
}

static void t_encode(void)
{
	void *d;
	size_t len;
	uint32_t t;
	const char *one[] = {"0x10"};
	const char *hex[] = {"01,ff"};
	const char *bad[] = {"12x"};
	const char *two[] = {"a", "b"};

	TAP_EQ_INT(fm_reg_type_from_name("dword", &t), 0);
	TAP_EQ_INT(t, FM_REG_DWORD);
	TAP_EQ_INT(fm_reg_type_from_name("word", &t), -EINVAL);
	TAP_EQ_STR(fm_reg_type_name(FM_REG_MULTI_SZ), "REG_MULTI_SZ");
	TAP_EQ_INT(fm_reg_encode(FM_REG_DWORD, one, 1, &d, &len), 0);
	TAP_EQ_INT(len, 4);
	TAP_CHECK(memcmp(d, "\x10\0\0\0", 4) == 0);
	fm_free(d);
	TAP_EQ_INT(fm_reg_encode(FM_REG_QWORD, one, 1, &d, &len), 0);
	TAP_EQ_INT(len, 8);
	fm_free(d);
	TAP_EQ_INT(fm_reg_encode(FM_REG_BINARY, hex, 1, &d, &len), 0);
	TAP_EQ_INT(len, 2);
	fm_free(d);
	TAP_EQ_INT(fm_reg_encode(FM_REG_MULTI_SZ, two, 2, &d, &len), 0);
	TAP_EQ_INT(len, 10);
	TAP_CHECK(memcmp(d, "a\0\0\0b\0\0\0\0\0", 10) == 0);
	fm_free(d);
	TAP_EQ_INT(fm_reg_encode(FM_REG_DWORD, bad, 1, &d, &len), -EINVAL);
	TAP_EQ_INT(fm_reg_encode(FM_REG_SZ, two, 2, &d, &len), -EINVAL);
	TAP_EQ_INT(fm_reg_encode(99, two, 1, &d, &len), -EINVAL);
}

static void t_alloc_failure(void)
{
	struct fm_regkey *k;
	int rc = -ENOMEM;

	/* Every allocation point fails cleanly; eventually the operation succeeds. */
	TAP_EQ_INT(fm_reg_init(NULL), 0);
	for (long n = 0; n < 50 && rc == -ENOMEM; n++) {
		fm_alloc_fail_after(n);
		rc = fm_reg_open(SVC "\\Instances\\X", 1, &k);
		fm_alloc_fail_after(-1);
		if (rc == 0) {
			TAP_EQ_INT(fm_reg_set_string(k, "Altitude", "1"), 0);
			fm_reg_close(k);
		}
	}
	TAP_EQ_INT(rc, 0);
	fm_reg_fini();
}

static void *hammer(void *arg)
{
	long id = (long)arg;
	char path[160], name[64];
	int errors = 0;

	snprintf(path, sizeof(path), "%s\\T%ld\\Sub", FM_REG_SERVICES, id);
	for (int i = 0; i < 2000; i++) {
		struct fm_regkey *k, *svc;
		uint32_t v = 0;

		if (fm_reg_open(path, 1, &k)) {
			errors++;
			continue;
		}
		if (fm_reg_set_dword(k, "V", (uint32_t)i) || fm_reg_get_dword(k, "v", &v) ||
		    v != (uint32_t)i)
			errors++;
		if (fm_reg_open(FM_REG_SERVICES, 0, &svc) == 0) {
			for (unsigned int j = 0; fm_reg_enum_key(svc, j, name, sizeof(name)) == 0;
			     j++)
				;
			fm_reg_close(svc);
		}
		if (i % 3 == 0 && fm_reg_open(path, 0, &svc) == 0) {
			/* Delete through one handle while another is still open. */
			if (fm_reg_delete_key(svc))
				errors++;
			fm_reg_close(svc);
			if (fm_reg_set_dword(k, "V", 1) != -ENOENT)
				errors++;
		}
		fm_reg_close(k);
	}
	return (void *)(long)errors;
}

static void t_threads(void)
{
	pthread_t th[4];
	void *ret;
	long total = 0;

	TAP_EQ_INT(fm_reg_init(NULL), 0);
	for (long i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, hammer, (void *)i);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], &ret);
		total += (long)ret;
	}
	TAP_EQ_INT(total, 0);
	fm_reg_fini();
}

/*
 * A file with thousands of subkeys (out of order), values and strings loads in linear work:
 * bounded by what the loader allocates (it once took the rest of the line for every string of
 * a multi_sz, and compared each value name with all before it).
 */
static void t_load_linear(void)
{
	enum { N = 20000 };
	struct fm_alloc_stats a, b;
	struct fm_regkey *k;
	char name[32], prev[32] = "";
	size_t len, total = 0, cap = (size_t)N * 48 + 256;
	char *text = malloc(cap);
	FILE *f;
	int rc;

	if (!text) {
		TAP_CHECK(text != NULL);
		return;
	}
	text[0] = '\0';
	for (int i = N; i > 0; i--)
		total += (size_t)sprintf(text + total, "[\\L\\k%05d]\n", i);
	total += (size_t)sprintf(text + total, "[\\L\\V]\n");
	for (int i = 0; i < N; i++)
		total += (size_t)sprintf(text + total, "\"v%05d\"=dword:%d\n", i, i);
	total += (size_t)sprintf(text + total, "[\\L\\M]\n\"m\"=multi_sz:");
	for (int i = 0; i < N; i++)
		total += (size_t)sprintf(text + total, i ? ",\"ab\"" : "\"ab\"");
	total += (size_t)sprintf(text + total, "\n[\\l\\K00007]\n\"late\"=dword:7\n");
	f = fopen(regfile, "w");
	if (f) {
		fwrite(text, 1, total, f);
		fclose(f);
	}
	free(text);
	fm_alloc_thread_stats(&a);
	rc = fm_reg_init(regfile);
	fm_alloc_thread_stats(&b);
	TAP_EQ_INT(rc, 0);
	printf("# %zu bytes loaded with %lu allocations, %llu bytes\n", total, b.calls - a.calls,
	       b.bytes - a.bytes);
	TAP_CHECK(b.bytes - a.bytes < 64 * (unsigned long long)total);
	TAP_CHECK(b.calls - a.calls < 8 * (unsigned long)N);
	if (rc)
		return;
	/* Subkeys enumerate sorted; a later section in other case reopened the same key. */
	TAP_EQ_INT(fm_reg_open("\\L", 0, &k), 0);
	for (unsigned int i = 0; i < N + 2; i++) {
		if (fm_reg_enum_key(k, i, name, sizeof(name)) != 0) {
			TAP_EQ_INT(i, N + 2);
			break;
		}
		TAP_CHECK(strcasecmp(prev, name) < 0);
		snprintf(prev, sizeof(prev), "%s", name);
	}
	fm_reg_close(k);
	TAP_EQ_INT(fm_reg_open("\\L\\k00007", 0, &k), 0);
	len = 4;
	TAP_EQ_INT(fm_reg_get_value(k, "late", NULL, name, &len), 0);
	fm_reg_close(k);
	TAP_EQ_INT(fm_reg_open("\\L\\M", 0, &k), 0);
	len = 0;
	TAP_EQ_INT(fm_reg_get_value(k, "m", NULL, NULL, &len), -ENOSPC);
	TAP_EQ_INT(len, (N * 3 + 1) * 2);
	fm_reg_close(k);
	fm_reg_fini();
	/* A value repeated in a second section of the same key is still a duplicate. */
	TAP_EQ_INT(load_text("[\\A\\b]\n\"v\"=dword:1\n[\\C]\n[\\a\\B]\n\"V\"=dword:2\n"), -EINVAL);
	unlink(regfile);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fm-reg-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(regfile, sizeof(regfile), "%s/registry", tmpdir);
	TAP_RUN(t_types);
	TAP_RUN(t_case_insensitive);
	TAP_RUN(t_enumerate);
	TAP_RUN(t_delete_subtree);
	TAP_RUN(t_round_trip);
	TAP_RUN(t_missing_file);
	TAP_RUN(t_atomic_write);
	TAP_RUN(t_malformed);
	TAP_RUN(t_encode);
	TAP_RUN(t_alloc_failure);
	TAP_RUN(t_threads);
	TAP_RUN(t_load_linear);
	rmdir(tmpdir);
	return tap_done();
}
