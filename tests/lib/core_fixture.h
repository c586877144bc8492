/* Shared pieces of the core's unit tests: service keys, and volumes over a test's fake lower. */
#ifndef FM_TESTS_CORE_FIXTURE_H
#define FM_TESTS_CORE_FIXTURE_H

#include "core/core.h"
#include "core/registry.h"

#include <stdio.h>

#include "tap.h"

/* The current path the fake lower reports for every stream. */
static const char *fx_path = "f.txt";

static inline int fx_stream_path(struct fm_volume *vol, void *fs_context, char *buf, size_t cap)
{
	(void)vol;
	(void)fs_context;
	return snprintf(buf, cap, "%s", fx_path);
}

static inline int fx_stream_is_dir(struct fm_volume *vol, void *fs_context)
{
	(void)vol;
	(void)fs_context;
	return 0;
}

/* A volume at mount point mp whose lower is `dispatch` (streams from fx_stream_path). */
static inline struct fm_volume *fx_make_volume(const char *mp, const struct fm_lower_ops *ops)
{
	struct fm_volume_params p = {0};
	struct fm_volume *v = NULL;

	p.mount_point = mp;
	p.backing_dir = "/srv/fake";
	p.backing_fs = "tmpfs";
	p.lower = ops;
	TAP_EQ_INT(fm_volume_create(&p, &v), 0);
	return v;
}

/* Services\<svc> with one instance "<svc> Instance" at `altitude`, the default one. */
static inline void fx_reg_service(const char *svc, const char *altitude, uint32_t flags)
{
	char path[256], inst[128];
	struct fm_regkey *k;

	snprintf(inst, sizeof(inst), "%s Instance", svc);
	snprintf(path, sizeof(path), "%s\\%s\\Instances", FM_REG_SERVICES, svc);
	if (fm_reg_open(path, 1, &k) == 0) {
		fm_reg_set_string(k, "DefaultInstance", inst);
		fm_reg_close(k);
	}
	snprintf(path, sizeof(path), "%s\\%s\\Instances\\%s", FM_REG_SERVICES, svc, inst);
	if (fm_reg_open(path, 1, &k) == 0) {
		fm_reg_set_string(k, "Altitude", altitude);
		fm_reg_set_dword(k, "Flags", flags);
		fm_reg_close(k);
	}
}

/* A built-in filter's DriverEntry: register `reg` into *filter and start filtering. */
static inline NTSTATUS fx_register_and_start(PDRIVER_OBJECT drv, const FLT_REGISTRATION *reg,
					     PFLT_FILTER *filter)
{
	NTSTATUS st = FltRegisterFilter(drv, reg, filter);

	if (!NT_SUCCESS(st))
		return st;
	st = FltStartFiltering(*filter);
	if (!NT_SUCCESS(st))
		FltUnregisterFilter(*filter);
	return st;
}

#endif
