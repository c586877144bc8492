/* Unit tests of fltmc's INF reader: the usual minifilter INF, errors, and random damage. */
#include "tap.h"

#include "cli/inf.h"
#include "common/alloc.h"
#include "core/registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char sample[] =
    "; comment\n"
    "[Version]\n"
    "Signature = \"$Windows NT$\"\n"
    "[DefaultInstall.NTamd64.Services]\n"
    "AddService = %ServiceName%,,Svc.Service   ; trailing comment\n"
    "[Svc.Service]\n"
    "ServiceBinary = %12%\\%DriverName%.sys\n"
    "AddReg = Svc.AddRegistry,Svc.More\n"
    "[Svc.AddRegistry]\n"
    "HKR,,\"DebugFlags\",0x00010001,0xc\n"
    "HKR,\"Parameters\\Instances\",\"DefaultInstance\",0x00000000,%DefaultInstance%\n"
    "HKR,\"Parameters\\Instances\\\"%Inst.Name%,\"Altitude\",0x00000000,%Inst.Altitude%\n"
    "HKR,\"Parameters\\Instances\\\"%Inst.Name%,\"Flags\",0x00010001,%Inst.Flags%\n"
    "HKLM,\"System\\X\",\"Y\",0,\"z\"\n"
    "HKR,,\"Gone\",0x00000004\n"
    "[svc.more]\n"
    "HKR,\"P\",\"List\",0x00010000,\"a\",\"b;c\", \\\n"
    "   \"d\"\n"
    "HKR,\"P\",\"Q\",,\"say \"\"hi\"\"\"\n"
    "HKR,\"P\",\"Pct\",0x00020000,\"100%% %Unknown% %12%\"\n"
    "HKR,\"P\",\"Big\",0x000b0001,00,00,00,00,01,00,00,00\n"
    "[Strings]\n"
    "ServiceName = \"mysvc\"\n"
    "DriverName = mysvc\n"
    "DefaultInstance = \"My Instance\"\n"
    "Inst.Name = \"My Instance\"\n"
    "Inst.Altitude = \"385250.5\"\n"
    "Inst.Flags = 0x2\n";

static const struct fm_inf_value *find(const struct fm_inf_service *s, const char *sub,
				       const char *name)
{
	for (size_t i = 0; i < s->nvalues; i++)
		if (strcmp(s->values[i].subkey, sub) == 0 && strcmp(s->values[i].name, name) == 0)
			return &s->values[i];
	return NULL;
}

static void t_sample(void)
{
	struct fm_inf_service s;
	const struct fm_inf_value *v;
	char err[200] = "";

	TAP_EQ_INT(fm_inf_parse(sample, &s, err, sizeof(err)), 0);
	TAP_EQ_STR(s.name, "mysvc");
	TAP_EQ_STR(s.binary, "%12%\\mysvc.sys");
	TAP_EQ_STR(s.default_instance, "My Instance");
	TAP_EQ_STR(s.altitude, "385250.5");
	TAP_EQ_INT(s.flags, 2);
	TAP_EQ_INT(s.skipped, 2);
	TAP_EQ_INT(s.nvalues, 8);
	v = find(&s, "", "DebugFlags");
	TAP_CHECK(v && v->type == FM_REG_DWORD && v->len == 4 && v->data[0] == 0xc);
	v = find(&s, "P", "List");
	TAP_CHECK(v && v->type == FM_REG_MULTI_SZ && v->len == (2 + 4 + 2 + 1) * 2);
	v = find(&s, "P", "Q");
	TAP_CHECK(v && v->type == FM_REG_SZ && v->len == 9 * 2);
	v = find(&s, "P", "Pct");
	TAP_CHECK(v && v->type == FM_REG_EXPAND_SZ);
	if (v) {
		/* "100% %Unknown% %12%" + NUL */
		TAP_EQ_INT(v->len, 20 * 2);
		TAP_CHECK(v->data[6] == '%' && v->data[10] == '%');
	}
	v = find(&s, "P", "Big");
	TAP_CHECK(v && v->type == FM_REG_QWORD && v->len == 8 && v->data[4] == 1);
	fm_inf_free(&s);
}

static void t_errors(void)
{
	struct fm_inf_service s;
	char err[200];

	TAP_EQ_INT(fm_inf_parse("[Version]\n", &s, err, sizeof(err)), -EINVAL);
	TAP_CHECK(strstr(err, "AddService") != NULL);
	TAP_EQ_INT(fm_inf_parse("[A.Services]\nAddService=x,,Nope\n", &s, err, sizeof(err)),
		   -EINVAL);
	TAP_CHECK(strstr(err, "[Nope]") != NULL);
	TAP_EQ_INT(fm_inf_parse("[A.Services]\nAddService=x,,S\n[S]\nAddReg=R\n[R]\n"
				"HKR,,\"v\",0x00010001,notanumber\n",
				&s, err, sizeof(err)),
		   -EINVAL);
	TAP_CHECK(strstr(err, "line 6") != NULL);
	TAP_EQ_INT(fm_inf_parse("[A.Services]\nAddService=x,,S\n[S]\nAddReg=R\n[R]\n", &s, err,
				sizeof(err)),
		   -EINVAL);
	TAP_CHECK(strstr(err, "default instance") != NULL);
	TAP_EQ_INT(fm_inf_parse("[A.Services\n", &s, err, sizeof(err)), -EINVAL);
}

/* Damaged copies of the sample never crash (run under ASan) and never leak. */
static void t_damage(void)
{
	unsigned int seed = 7;
	size_t n = sizeof(sample) - 1;
	char *buf = malloc(n + 1);
	int ok = 0;

	for (int i = 0; buf && i < 5000; i++) {
		struct fm_inf_service s;
		char err[200];

		memcpy(buf, sample, n + 1);
		for (int m = 0; m < 1 + i % 5; m++) {
			static const char junk[] = "\"%,;[]\\\n=x0 ";

			buf[(size_t)rand_r(&seed) % n] =
			    junk[(size_t)rand_r(&seed) % (sizeof(junk) - 1)];
		}
		buf[(size_t)rand_r(&seed) % (n + 1)] = '\0';
		if (fm_inf_parse(buf, &s, err, sizeof(err)) == 0) {
			ok++;
			fm_inf_free(&s);
		}
	}
	free(buf);
	TAP_CHECK(ok > 0);
}

/* A growing text buffer for the pathological inputs. */
struct text {
	char *p;
	size_t len, cap;
};

static void put(struct text *t, const char *s)
{
	size_t n = strlen(s);

	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->p = realloc(t->p, t->cap);
		if (!t->p)
			abort();
	}
	memcpy(t->p + t->len, s, n + 1);
	t->len += n;
}

/* fm_inf_parse's result with what it allocated (through the fm_* wrappers) in *st. */
static int parse_counted(const char *text, struct fm_alloc_stats *st, char *err, size_t errcap)
{
	struct fm_alloc_stats a, b;
	struct fm_inf_service s;
	int rc;

	fm_alloc_thread_stats(&a);
	rc = fm_inf_parse(text, &s, err, errcap);
	fm_alloc_thread_stats(&b);
	st->calls = b.calls - a.calls;
	st->bytes = b.bytes - a.bytes;
	if (rc == 0)
		fm_inf_free(&s);
	return rc;
}

static const char head[] = "[A.Services]\nAddService=svc,,S\n[S]\nAddReg=R\n[R]\n"
			   "HKR,Instances,DefaultInstance,,i\n"
			   "HKR,Instances\\i,Altitude,,%alt%\n";

/*
 * Hostile shapes parse in work and memory linear in the input: a 64 KiB line of thousands of
 * fields, thousands of %strkey% substitutions, thousands of sections, long continuations.
 * Bounded by what the parser allocates through the fm_* wrappers, not by time.
 */
static void t_linear(void)
{
	struct fm_alloc_stats st;
	struct text t = {0};
	char err[200], key[32];
	int rc;

	/* One AddReg line with 21845 binary fields (64 KiB). */
	put(&t, head);
	put(&t, "HKR,,Blob,1");
	for (int i = 0; i < 21845; i++)
		put(&t, ",a5");
	put(&t, "\n[Strings]\nalt=1000\n");
	rc = parse_counted(t.p, &st, err, sizeof(err));
	TAP_EQ_INT(rc, 0);
	TAP_CHECK(st.calls < 200);
	TAP_CHECK(st.bytes < 24 * t.len);
	printf("# 64 KiB line, 21845 fields: %lu allocations, %llu bytes (input %zu)\n", st.calls,
	       st.bytes, t.len);
	t.len = 0;

	/* 16384 substitutions of a 16-byte string in one REG_MULTI_SZ line. */
	put(&t, head);
	put(&t, "HKR,,Multi,0x00010000");
	for (int i = 0; i < 16384; i++)
		put(&t, ",%s%");
	put(&t, "\n[Strings]\nalt=1000\ns=\"0123456789abcdef\"\n");
	rc = parse_counted(t.p, &st, err, sizeof(err));
	TAP_EQ_INT(rc, 0);
	TAP_CHECK(st.calls < 200);
	/* 256 KiB of expanded text, twice that as UTF-16, plus the buffers it passes through. */
	TAP_CHECK(st.bytes < 4u << 20);
	printf("# 16384 substitutions: %lu allocations, %llu bytes (input %zu)\n", st.calls,
	       st.bytes, t.len);
	t.len = 0;

	/* Substitutions that would add more than 1 MiB are refused, with the line named. */
	put(&t, head);
	put(&t, "HKR,,Big,,\"");
	for (int i = 0; i < 40000; i++)
		put(&t, "%b%");
	put(&t, "\"\n[Strings]\nalt=1000\nb=");
	for (int i = 0; i < 64; i++)
		put(&t, "x");
	put(&t, "\n");
	rc = parse_counted(t.p, &st, err, sizeof(err));
	TAP_EQ_INT(rc, -EINVAL);
	TAP_CHECK(strstr(err, "line 8") && strstr(err, "substitutions"));
	TAP_CHECK(st.bytes < (4u << 20) + 16 * t.len);
	printf("# refused expansion: %s; %llu bytes\n", err, st.bytes);
	t.len = 0;

	/* 8192 sections and 8192 [Strings] keys, each key used once. */
	put(&t, head);
	put(&t, "HKR,,Many,0x00010000");
	for (int i = 0; i < 8192; i++) {
		snprintf(key, sizeof(key), ",%%k%d%%", i);
		put(&t, key);
	}
	put(&t, "\n");
	for (int i = 0; i < 8192; i++) {
		snprintf(key, sizeof(key), "[sec%d]\n", i);
		put(&t, key);
	}
	put(&t, "[Strings]\nalt=1000\n");
	for (int i = 0; i < 8192; i++) {
		snprintf(key, sizeof(key), "k%d=v%d\n", i, i);
		put(&t, key);
	}
	rc = parse_counted(t.p, &st, err, sizeof(err));
	TAP_EQ_INT(rc, 0);
	TAP_CHECK(st.calls < 400);
	TAP_CHECK(st.bytes < 32 * t.len);
	printf("# 8192 sections and keys: %lu allocations, %llu bytes (input %zu)\n", st.calls,
	       st.bytes, t.len);
	t.len = 0;

	/* A line continued 20000 times. */
	put(&t, head);
	put(&t, "HKR,,Cont,0x00010000");
	for (int i = 0; i < 20000; i++)
		put(&t, ",x\\\n");
	put(&t, ",y\n[Strings]\nalt=1000\n");
	rc = parse_counted(t.p, &st, err, sizeof(err));
	TAP_EQ_INT(rc, 0);
	TAP_CHECK(st.calls < 200);
	TAP_CHECK(st.bytes < 24 * t.len);
	free(t.p);
}

int main(void)
{
	TAP_RUN(t_sample);
	TAP_RUN(t_errors);
	TAP_RUN(t_damage);
	TAP_RUN(t_linear);
	return tap_done();
}
