/* Instances: attaching a filter to a volume at an altitude, callback stacks, teardown. */
#include "core/core_i.h"
#include "common/alloc.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void fm__instance_get(struct fm_instance *inst)
{
	atomic_fetch_add(&inst->refs, 1);
}

void fm__instance_put(struct fm_instance *inst)
{
	if (atomic_fetch_sub(&inst->refs, 1) == 1) {
		fm__volume_put(inst->volume);
		fm_free(inst);
	}
}

/* ---- Stacks ---- */

void fm__stack_free(struct fm_stack *st)
{
	for (unsigned int m = 0; m < FM_NMAJOR; m++)
		fm_free(st->lists[m]);
	for (unsigned int i = 0; i < st->ninst; i++)
		fm__instance_put(st->inst[i]);
	fm_free(st->inst);
	fm_free(st);
}

int fm__volume_rebuild_stack(struct fm_volume *vol)
{
	struct fm_stack *st, *old;
	unsigned int n = 0, i = 0;

	for (struct fm_instance *in = vol->instances; in; in = in->next_on_volume)
		n++;
	st = fm_calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->inst = fm_calloc(n ? n : 1, sizeof(*st->inst));
	if (!st->inst) {
		fm_free(st);
		return -ENOMEM;
	}
	for (struct fm_instance *in = vol->instances; in; in = in->next_on_volume) {
		fm__instance_get(in);
		st->inst[i++] = in;
	}
	st->ninst = n;
	for (unsigned int m = 0; m < FM_NMAJOR; m++) {
		unsigned int k = 0;
		struct fm_cb_list *l;

		for (i = 0; i < n; i++) {
			const FLT_OPERATION_REGISTRATION *op =
			    fm__filter_op(st->inst[i]->filter, (UCHAR)m);
			if (op && (op->PreOperation || op->PostOperation))
				k++;
		}
		if (!k)
			continue;
		l = fm_calloc(1, sizeof(*l) + k * sizeof(l->e[0]));
		if (!l) {
			fm__stack_free(st);
			return -ENOMEM;
		}
		for (i = 0; i < n; i++) {
			const FLT_OPERATION_REGISTRATION *op =
			    fm__filter_op(st->inst[i]->filter, (UCHAR)m);
			if (!op || (!op->PreOperation && !op->PostOperation))
				continue;
			l->e[l->n].inst = st->inst[i];
			l->e[l->n].pre = op->PreOperation;
			l->e[l->n].post = op->PostOperation;
			l->e[l->n].flags = op->Flags;
			l->n++;
		}
		st->lists[m] = l;
	}
	old = atomic_exchange(&vol->stack, st);
	if (old)
		fm__stack_retire(old);
	return 0;
}

/* ---- Attach ---- */

static void related_objects(FLT_RELATED_OBJECTS *o, struct fm_instance *inst, PFILE_OBJECT fo)
{
	memset(o, 0, sizeof(*o));
	o->Size = sizeof(*o);
	o->Filter = inst->filter;
	o->Volume = inst->volume;
	o->Instance = inst;
	o->FileObject = fo;
}

NTSTATUS fm__instance_attach(struct fm_filter *f, struct fm_volume *vol,
			     const struct fm_instance_def *def, const char *altitude,
			     const char *name, ULONG setup_flags, struct fm_instance **out)
{
	struct fm_instance *inst, **pp;
	char alt[FM_ALTITUDE_MAX];
	FLT_RELATED_OBJECTS objs;
	NTSTATUS st = STATUS_SUCCESS;

	if (out)
		*out = NULL;
	if (!f->registered || f->state != FM_FILTER_FILTERING)
		return STATUS_FLT_FILTER_NOT_READY;
	if (f->unloading || vol->dismounting)
		return STATUS_FLT_DELETING_OBJECT;
	if (fm__altitude_normalize(altitude ? altitude : def->altitude, alt, sizeof(alt)) < 0)
		return STATUS_INVALID_PARAMETER;
	if (!name)
		name = def->name;
	for (struct fm_instance *in = vol->instances; in; in = in->next_on_volume) {
		if (strcasecmp(in->name, name) == 0)
			return STATUS_FLT_INSTANCE_NAME_COLLISION;
		if (fm__altitude_cmp(in->altitude, alt) == 0)
			return STATUS_OBJECT_NAME_COLLISION;
	}
	inst = fm_calloc(1, sizeof(*inst));
	if (!inst)
		return STATUS_INSUFFICIENT_RESOURCES;
	inst->magic = FM_MAGIC_INSTANCE;
	inst->filter = f;
	inst->volume = vol;
	fm__volume_get(vol);
	snprintf(inst->name, sizeof(inst->name), "%s", name);
	snprintf(inst->altitude, sizeof(inst->altitude), "%s", alt);
	inst->setup_flags = setup_flags;
	atomic_store(&inst->refs, 1);

	if (f->reg.InstanceSetupCallback) {
		struct fm_filter *prev = fm__enter_filter(f);
		related_objects(&objs, inst, NULL);
		st = f->reg.InstanceSetupCallback(&objs, setup_flags, FILE_DEVICE_DISK_FILE_SYSTEM,
						  vol->fs_type);
		fm__leave_filter(prev);
	}
	if (!NT_SUCCESS(st)) {
		fm_log(FM_LOG_INFO, f->service, "declined to attach to %s (0x%08X)", vol->device,
		       (unsigned int)st);
		/* Contexts its setup callback set die with the instance that never was. */
		fm__contexts_instance_teardown(inst);
		fm__instance_put(inst);
		return st == STATUS_SUCCESS ? STATUS_FLT_DO_NOT_ATTACH : st;
	}
	/* Keep the volume's list ordered by altitude, highest first. */
	for (pp = &vol->instances; *pp; pp = &(*pp)->next_on_volume)
		if (fm__altitude_cmp((*pp)->altitude, alt) < 0)
			break;
	inst->next_on_volume = *pp;
	*pp = inst;
	inst->attached = true;
	if (fm__volume_rebuild_stack(vol) < 0) {
		*pp = inst->next_on_volume;
		inst->attached = false;
		fm__instance_teardown(inst, FLTFL_INSTANCE_TEARDOWN_INTERNAL_ERROR);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	fm_log(FM_LOG_INFO, f->service, "instance '%s' attached to %s at altitude %s", inst->name,
	       vol->device, inst->altitude);
	if (out) {
		fm__instance_get(inst);
		*out = inst;
	}
	return STATUS_SUCCESS;
}

void fm__volume_auto_attach(struct fm_volume *vol, struct fm_filter *only, ULONG extra_flags)
{
	for (struct fm_filter *f = fm__filters; f; f = f->next) {
		if (only && f != only)
			continue;
		if (!f->registered || f->state != FM_FILTER_FILTERING || f->unloading)
			continue;
		for (size_t i = 0; i < f->ndefs; i++) {
			NTSTATUS st;

			if (f->defs[i].flags & 0x1)
				continue;
			st = fm__instance_attach(
			    f, vol, &f->defs[i], NULL, NULL,
			    FLTFL_INSTANCE_SETUP_AUTOMATIC_ATTACHMENT | extra_flags, NULL);
			if (!NT_SUCCESS(st) && st != STATUS_FLT_DO_NOT_ATTACH)
				fm_log(FM_LOG_WARN, f->service,
				       "automatic attach of '%s' to %s failed (0x%08X)",
				       f->defs[i].name, vol->device, (unsigned int)st);
		}
	}
}

/* ---- Teardown ---- */

void fm__instance_teardown(struct fm_instance *inst, ULONG reason)
{
	struct fm_volume *vol = inst->volume;
	struct fm_filter *f = inst->filter, *prev;
	FLT_RELATED_OBJECTS objs;

	if (inst->attached) {
		for (struct fm_instance **pp = &vol->instances; *pp; pp = &(*pp)->next_on_volume) {
			if (*pp == inst) {
				*pp = inst->next_on_volume;
				break;
			}
		}
		inst->attached = false;
		/* New operations no longer see the instance once the stack is rebuilt; if
		 * that fails the tearing_down flag below still keeps them away. */
		(void)fm__volume_rebuild_stack(vol);
	}
	atomic_store(&inst->tearing_down, true);
	/* From here no thread starts a callback of the instance (dispatch.c). */
	fm__dispatch_barrier();
	related_objects(&objs, inst, NULL);
	prev = fm__enter_filter(f);
	if (f->reg.InstanceTeardownStartCallback)
		f->reg.InstanceTeardownStartCallback(&objs, reason);
	fm__leave_filter(prev);
	/* Operations waiting for its post-operation are drained; those inside one of its
	 * callbacks (or pended by it) finish (R29, R30). */
	fm__instance_quiesce(inst);
	prev = fm__enter_filter(f);
	if (f->reg.InstanceTeardownCompleteCallback)
		f->reg.InstanceTeardownCompleteCallback(&objs, reason);
	fm__leave_filter(prev);
	fm_log(FM_LOG_INFO, f->service, "instance '%s' detached from %s", inst->name, vol->device);
	fm__contexts_instance_teardown(inst);
	fm__instance_put(inst);
}

/* ---- Listing ---- */

int fm_list_instances(struct fm_instance_info **out, size_t *n)
{
	size_t cnt = 0, i = 0;
	struct fm_instance_info *a;

	fm__model_enter();
	for (struct fm_volume *v = fm__volumes; v; v = v->next)
		for (struct fm_instance *in = v->instances; in; in = in->next_on_volume)
			cnt++;
	a = calloc(cnt ? cnt : 1, sizeof(*a));
	if (!a) {
		fm__model_leave();
		return -ENOMEM;
	}
	for (struct fm_volume *v = fm__volumes; v; v = v->next) {
		for (struct fm_instance *in = v->instances; in; in = in->next_on_volume, i++) {
			fm__copy_str(a[i].filter, sizeof(a[i].filter), in->filter->service);
			fm__copy_str(a[i].instance, sizeof(a[i].instance), in->name);
			fm__copy_str(a[i].altitude, sizeof(a[i].altitude), in->altitude);
			fm__copy_str(a[i].volume, sizeof(a[i].volume), v->mount_point);
			fm__copy_str(a[i].volume_device, sizeof(a[i].volume_device), v->device);
			a[i].flags = in->setup_flags;
		}
	}
	fm__model_leave();
	*out = a;
	*n = cnt;
	return 0;
}

/* ---- Object queries and references ---- */

NTSTATUS FLTAPI FltGetVolumeFromInstance(PFLT_INSTANCE Instance, PFLT_VOLUME *RetVolume)
{
	struct fm_instance *inst = Instance;

	if (!inst || !RetVolume)
		return STATUS_INVALID_PARAMETER;
	if (atomic_load(&inst->tearing_down))
		return STATUS_FLT_DELETING_OBJECT;
	fm__volume_get(inst->volume);
	*RetVolume = inst->volume;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltGetFilterFromInstance(PFLT_INSTANCE Instance, PFLT_FILTER *RetFilter)
{
	struct fm_instance *inst = Instance;

	if (!inst || !RetFilter)
		return STATUS_INVALID_PARAMETER;
	if (atomic_load(&inst->tearing_down))
		return STATUS_FLT_DELETING_OBJECT;
	atomic_fetch_add(&inst->filter->refs, 1);
	*RetFilter = inst->filter;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltObjectReference(PVOID FltObject)
{
	uint32_t magic;

	if (!FltObject)
		return STATUS_INVALID_PARAMETER;
	magic = *(uint32_t *)FltObject;
	switch (magic) {
	case FM_MAGIC_FILTER: {
		struct fm_filter *f = FltObject;
		if (f->unloading && !f->registered)
			return STATUS_FLT_DELETING_OBJECT;
		atomic_fetch_add(&f->refs, 1);
		return STATUS_SUCCESS;
	}
	case FM_MAGIC_VOLUME:
		fm__volume_get(FltObject);
		return STATUS_SUCCESS;
	case FM_MAGIC_INSTANCE: {
		struct fm_instance *inst = FltObject;
		if (atomic_load(&inst->tearing_down))
			return STATUS_FLT_DELETING_OBJECT;
		fm__instance_get(inst);
		return STATUS_SUCCESS;
	}
	default:
		return STATUS_INVALID_PARAMETER;
	}
}

VOID FLTAPI FltObjectDereference(PVOID FltObject)
{
	if (!FltObject)
		return;
	switch (*(uint32_t *)FltObject) {
	case FM_MAGIC_FILTER:
		atomic_fetch_sub(&((struct fm_filter *)FltObject)->refs, 1);
		break;
	case FM_MAGIC_VOLUME:
		fm__volume_put(FltObject);
		break;
	case FM_MAGIC_INSTANCE:
		fm__instance_put(FltObject);
		break;
	default:
		fm_log(FM_LOG_ERROR, fm_filter_name(fm__tls_filter),
		       "FltObjectDereference on something that is not a filter object");
	}
}
