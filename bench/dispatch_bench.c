/* Dispatch micro-benchmark: IRP_MJ_READ through 0, 1 and 4 no-op filters over a fake lower. */
#include "core/core.h"
#include "core/registry.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_FILTERS 4

static PFLT_FILTER filters[MAX_FILTERS];
static int entry_index;

static NTSTATUS null_lower(struct fm_volume *vol, PFLT_CALLBACK_DATA data)
{
	(void)vol;
	data->IoStatus.Status = STATUS_SUCCESS;
	data->IoStatus.Information = data->Iopb->Parameters.Read.Length;
	return STATUS_SUCCESS;
}

static int fake_path(struct fm_volume *vol, void *fs_context, char *buf, size_t cap)
{
	(void)vol;
	(void)fs_context;
	return snprintf(buf, cap, "%s", "dir/file.txt");
}

static int fake_is_dir(struct fm_volume *vol, void *fs_context)
{
	(void)vol;
	(void)fs_context;
	return 0;
}

static const struct fm_lower_ops null_ops = {null_lower, fake_path, fake_is_dir};

static FLT_PREOP_CALLBACK_STATUS noop_pre(PFLT_CALLBACK_DATA d, PCFLT_RELATED_OBJECTS o, PVOID *ctx)
{
	(void)d;
	(void)o;
	*ctx = NULL;
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS noop_post(PFLT_CALLBACK_DATA d, PCFLT_RELATED_OBJECTS o,
					    PVOID ctx, FLT_POST_OPERATION_FLAGS flags)
{
	(void)d;
	(void)o;
	(void)ctx;
	(void)flags;
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static NTSTATUS noop_unload(FLT_FILTER_UNLOAD_FLAGS flags)
{
	PFLT_FILTER me = fm_current_filter();
	(void)flags;
	FltUnregisterFilter(me);
	return STATUS_SUCCESS;
}

static FLT_OPERATION_REGISTRATION noop_ops[IRP_MJ_MAXIMUM_FUNCTION + 2];

static FLT_REGISTRATION noop_reg = {
    sizeof(FLT_REGISTRATION),
    FLT_REGISTRATION_VERSION,
    0,
    NULL,
    noop_ops,
    noop_unload,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
};

static NTSTATUS noop_entry(PDRIVER_OBJECT drv, PUNICODE_STRING regpath)
{
	NTSTATUS st;
	PFLT_FILTER *slot = &filters[entry_index];
	(void)regpath;
	st = FltRegisterFilter(drv, &noop_reg, slot);
	if (!NT_SUCCESS(st))
		return st;
	st = FltStartFiltering(*slot);
	if (!NT_SUCCESS(st))
		FltUnregisterFilter(*slot);
	return st;
}

/* Services\<svc> with its default instance at `altitude`. */
static int reg_service(const char *svc, const char *altitude)
{
	char path[256], inst[128];
	struct fm_regkey *k;
	int rc;

	snprintf(inst, sizeof(inst), "%s Instance", svc);
	snprintf(path, sizeof(path), "%s\\%s\\Instances", FM_REG_SERVICES, svc);
	rc = fm_reg_open(path, 1, &k);
	if (rc)
		return rc;
	fm_reg_set_string(k, "DefaultInstance", inst);
	fm_reg_close(k);
	snprintf(path, sizeof(path), "%s\\%s\\Instances\\%s", FM_REG_SERVICES, svc, inst);
	rc = fm_reg_open(path, 1, &k);
	if (rc)
		return rc;
	fm_reg_set_string(k, "Altitude", altitude);
	fm_reg_set_dword(k, "Flags", 0);
	fm_reg_close(k);
	return 0;
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ns per dispatch of IRP_MJ_READ on vol, best of `rounds` rounds of n operations. */
static double time_reads(struct fm_volume *vol, PFILE_OBJECT fo, long n, int rounds)
{
	struct fm_requestor who = {.pid = 4242};
	double best = 0;

	for (int r = 0; r < rounds; r++) {
		double t0 = now_ns();
		for (long i = 0; i < n; i++) {
			struct fm_irp irp;
			fm_irp_init(&irp, vol, IRP_MJ_READ, 0, fo, &who);
			irp.iopb.Parameters.Read.Length = 4096;
			if (fm_irp_dispatch(&irp) != STATUS_SUCCESS) {
				fprintf(stderr, "dispatch_bench: read failed\n");
				exit(1);
			}
			fm_irp_cleanup(&irp);
		}
		double per = (now_ns() - t0) / (double)n;
		if (r == 0 || per < best)
			best = per;
	}
	return best;
}

int main(int argc, char **argv)
{
	long n = 2000000;
	int rounds = 3;
	static const char *const alts[MAX_FILTERS] = {"370010", "370020", "370030", "370040"};
	double ns[MAX_FILTERS + 1] = {0};
	struct fm_volume_params p = {0};
	struct fm_volume *vol = NULL;
	PFILE_OBJECT fo;
	int loaded = 0;
	unsigned int i, nops;

	if (argc > 1)
		n = strtol(argv[1], NULL, 10);
	if (argc > 2)
		rounds = atoi(argv[2]);
	if (n <= 0 || rounds <= 0) {
		fprintf(stderr, "usage: dispatch_bench [N [ROUNDS]]\n");
		return 2;
	}
	/*
	 * Every major function a minifilter may register for: not IRP_MJ_POWER nor
	 * IRP_MJ_DEVICE_CHANGE, and IRP_MJ_SHUTDOWN has no post-operation.
	 */
	nops = 0;
	for (i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++) {
		if (i == IRP_MJ_POWER || i == IRP_MJ_DEVICE_CHANGE)
			continue;
		noop_ops[nops].MajorFunction = (UCHAR)i;
		noop_ops[nops].PreOperation = noop_pre;
		noop_ops[nops].PostOperation = i == IRP_MJ_SHUTDOWN ? NULL : noop_post;
		nops++;
	}
	noop_ops[nops].MajorFunction = IRP_MJ_OPERATION_END;

	fm_log_open(NULL, FM_LOG_WARN);
	if (fm_reg_init(NULL) || fm_core_init()) {
		fprintf(stderr, "dispatch_bench: core init failed\n");
		return 1;
	}
	p.mount_point = "/bench";
	p.backing_dir = "/bench-backing";
	p.backing_fs = "tmpfs";
	p.lower = &null_ops;
	if (fm_volume_create(&p, &vol)) {
		fprintf(stderr, "dispatch_bench: volume create failed\n");
		return 1;
	}
	fo = fm_file_object_alloc(vol, u"\\dir\\file.txt", 13);
	if (!fo)
		return 1;

	/* Steps 0, 1 and 4 filters: load filters until `want` are attached, then time. */
	static const int steps[] = {0, 1, 4};
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		while (loaded < steps[s]) {
			char svc[32], msg[256] = "";
			snprintf(svc, sizeof(svc), "benchnoop%d", loaded + 1);
			if (reg_service(svc, alts[loaded])) {
				fprintf(stderr, "dispatch_bench: registry failed\n");
				return 1;
			}
			entry_index = loaded;
			NTSTATUS st = fm_filter_load_builtin(svc, noop_entry, msg, sizeof(msg));
			if (!NT_SUCCESS(st)) {
				fprintf(stderr, "dispatch_bench: load %s: 0x%08x %s\n", svc,
					(unsigned int)st, msg);
				return 1;
			}
			loaded++;
		}
		/* A short warm-up so the first step does not pay for cold caches. */
		time_reads(vol, fo, n / 20 + 1, 1);
		ns[steps[s]] = time_reads(vol, fo, n, rounds);
		printf("bench: dispatch_read_%dfilters_ns_per_op %.1f ns\n", steps[s],
		       ns[steps[s]]);
	}
	printf("bench: dispatch_read_ns_per_filter_1 %.1f ns\n", ns[1] - ns[0]);
	printf("bench: dispatch_read_ns_per_filter_4 %.1f ns\n", (ns[4] - ns[0]) / 4.0);
	fflush(stdout);

	fm_file_object_free(fo);
	for (int k = loaded; k > 0; k--) {
		char svc[32];
		snprintf(svc, sizeof(svc), "benchnoop%d", k);
		fm_filter_unload(svc, true, NULL, 0);
	}
	fm_volume_destroy(vol);
	return 0;
}
