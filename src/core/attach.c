/* Manual attach and detach, enumeration and navigation of filters, volumes and instances. */
#include "core/core_i.h"
#include "common/alloc.h"
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A counted UTF-16 name as UTF-8 in a caller buffer; false if it is missing or too long. */
static bool narrow(PCUNICODE_STRING in, char *out, size_t cap)
{
	ANSI_STRING a;

	if (!in || !in->Buffer)
		return false;
	if (!NT_SUCCESS(RtlUnicodeStringToAnsiString(&a, in, TRUE)))
		return false;
	if ((size_t)a.Length + 1 > cap) {
		RtlFreeAnsiString(&a);
		return false;
	}
	memcpy(out, a.Buffer, a.Length);
	out[a.Length] = '\0';
	RtlFreeAnsiString(&a);
	return true;
}

static const struct fm_instance_def *find_def(const struct fm_filter *f, const char *name)
{
	if (!name)
		return f->ndefs ? &f->defs[f->default_def] : NULL;
	for (size_t i = 0; i < f->ndefs; i++)
		if (strcasecmp(f->defs[i].name, name) == 0)
			return &f->defs[i];
	return NULL;
}

/* Attach by definition name (NULL: default) or at an explicit altitude.  Model lock held. */
static NTSTATUS attach_locked(struct fm_filter *f, struct fm_volume *vol, const char *inst_name,
			      const char *altitude, struct fm_instance **out)
{
	const struct fm_instance_def *def = find_def(f, altitude ? NULL : inst_name);
	struct fm_instance_def adhoc;

	if (!f->registered || f->state != FM_FILTER_FILTERING)
		return STATUS_FLT_FILTER_NOT_READY;
	if (altitude) {
		/* FltAttachVolumeAtAltitude: an instance the registry need not know. */
		memset(&adhoc, 0, sizeof(adhoc));
		snprintf(adhoc.name, sizeof(adhoc.name), "%s",
			 inst_name ? inst_name : (def ? def->name : f->service));
		if (fm__altitude_normalize(altitude, adhoc.altitude, sizeof(adhoc.altitude)) < 0)
			return STATUS_INVALID_PARAMETER;
		def = &adhoc;
	}
	if (!def)
		return STATUS_OBJECT_NAME_NOT_FOUND;
	return fm__instance_attach(f, vol, def, NULL, NULL, FLTFL_INSTANCE_SETUP_MANUAL_ATTACHMENT,
				   out);
}

/* The highest instance of f on vol named `name` (any name when NULL). Model lock held. */
static struct fm_instance *find_instance(struct fm_filter *f, struct fm_volume *vol,
					 const char *name)
{
	for (struct fm_instance *in = vol->instances; in; in = in->next_on_volume)
		if (in->filter == f && (!name || strcasecmp(in->name, name) == 0))
			return in;
	return NULL;
}

static NTSTATUS detach_locked(struct fm_filter *f, struct fm_volume *vol, const char *name)
{
	struct fm_instance *inst = find_instance(f, vol, name);
	FLT_RELATED_OBJECTS objs;
	struct fm_filter *prev;
	NTSTATUS st;

	if (!inst)
		return STATUS_FLT_INSTANCE_NOT_FOUND;
	if (atomic_load(&inst->tearing_down) || f->unloading || vol->dismounting)
		return STATUS_FLT_DELETING_OBJECT;
	/* R12/R27: without a query-teardown routine an instance cannot be detached by hand. */
	if (!f->reg.InstanceQueryTeardownCallback)
		return STATUS_FLT_DO_NOT_DETACH;
	memset(&objs, 0, sizeof(objs));
	objs.Size = sizeof(objs);
	objs.Filter = f;
	objs.Volume = vol;
	objs.Instance = inst;
	prev = fm__enter_filter(f);
	st = f->reg.InstanceQueryTeardownCallback(&objs, 0);
	fm__leave_filter(prev);
	if (!NT_SUCCESS(st))
		return st;
	fm__instance_teardown(inst, FLTFL_INSTANCE_TEARDOWN_MANUAL);
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltAttachVolume(PFLT_FILTER Filter, PFLT_VOLUME Volume,
				PCUNICODE_STRING InstanceName, PFLT_INSTANCE *RetInstance)
{
	char name[128];
	NTSTATUS st;

	if (RetInstance)
		*RetInstance = NULL;
	if (!Filter || !Volume)
		return STATUS_INVALID_PARAMETER;
	if (InstanceName && !narrow(InstanceName, name, sizeof(name)))
		return STATUS_INVALID_PARAMETER;
	fm__model_enter();
	st = attach_locked(Filter, Volume, InstanceName ? name : NULL, NULL, RetInstance);
	fm__model_leave();
	return st;
}

NTSTATUS FLTAPI FltAttachVolumeAtAltitude(PFLT_FILTER Filter, PFLT_VOLUME Volume,
					  PCUNICODE_STRING Altitude, PCUNICODE_STRING InstanceName,
					  PFLT_INSTANCE *RetInstance)
{
	char name[128], alt[FM_ALTITUDE_MAX];
	NTSTATUS st;

	if (RetInstance)
		*RetInstance = NULL;
	if (!Filter || !Volume || !narrow(Altitude, alt, sizeof(alt)))
		return STATUS_INVALID_PARAMETER;
	if (InstanceName && !narrow(InstanceName, name, sizeof(name)))
		return STATUS_INVALID_PARAMETER;
	fm__model_enter();
	st = attach_locked(Filter, Volume, InstanceName ? name : NULL, alt, RetInstance);
	fm__model_leave();
	return st;
}

NTSTATUS FLTAPI FltDetachVolume(PFLT_FILTER Filter, PFLT_VOLUME Volume,
				PCUNICODE_STRING InstanceName)
{
	char name[128];
	NTSTATUS st;

	if (!Filter || !Volume)
		return STATUS_INVALID_PARAMETER;
	if (InstanceName && !narrow(InstanceName, name, sizeof(name)))
		return STATUS_INVALID_PARAMETER;
	fm__model_enter();
	st = detach_locked(Filter, Volume, InstanceName ? name : NULL);
	fm__model_leave();
	return st;
}

/* ---- For fltmc attach / detach ---- */

static struct fm_filter *filter_by_name(const char *name)
{
	for (struct fm_filter *f = fm__filters; f; f = f->next)
		if (strcasecmp(f->service, name) == 0)
			return f;
	return NULL;
}

/* A volume by mount point, backing directory or device name (trailing separator optional). */
static struct fm_volume *volume_by_name(const char *name)
{
	size_t n = strlen(name);

	while (n > 1 && (name[n - 1] == '/' || name[n - 1] == '\\'))
		n--;
	for (struct fm_volume *v = fm__volumes; v; v = v->next) {
		if (v->dismounting)
			continue;
		if ((strlen(v->mount_point) == n && strncmp(v->mount_point, name, n) == 0) ||
		    (strlen(v->backing_dir) == n && strncmp(v->backing_dir, name, n) == 0) ||
		    (strlen(v->device) == n && strncasecmp(v->device, name, n) == 0))
			return v;
	}
	return NULL;
}

static void set_msg(char *msg, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_msg(char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (!msg || !cap)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, cap, fmt, ap);
	va_end(ap);
}

NTSTATUS fm_instance_attach(const char *filter, const char *volume, const char *instance,
			    const char *altitude, char *msg, size_t msg_cap)
{
	struct fm_filter *f;
	struct fm_volume *v;
	struct fm_instance *inst = NULL;
	NTSTATUS st;

	fm__model_enter();
	f = filter_by_name(filter);
	v = volume_by_name(volume);
	if (!f || !v) {
		fm__model_leave();
		set_msg(msg, msg_cap, "no %s named '%s'", f ? "volume" : "loaded filter",
			f ? volume : filter);
		return f ? STATUS_INVALID_PARAMETER : STATUS_FLT_FILTER_NOT_FOUND;
	}
	st = attach_locked(f, v, instance, altitude, &inst);
	if (NT_SUCCESS(st)) {
		set_msg(msg, msg_cap, "attached %s to %s as \"%s\" at altitude %s", f->service,
			v->device, inst->name, inst->altitude);
		fm__instance_put(inst);
	} else {
		set_msg(msg, msg_cap, "attach of %s to %s failed", f->service, v->device);
	}
	fm__model_leave();
	return st;
}

NTSTATUS fm_instance_detach(const char *filter, const char *volume, const char *instance, char *msg,
			    size_t msg_cap)
{
	struct fm_filter *f;
	struct fm_volume *v;
	NTSTATUS st;

	fm__model_enter();
	f = filter_by_name(filter);
	v = volume_by_name(volume);
	if (!f || !v) {
		fm__model_leave();
		set_msg(msg, msg_cap, "no %s named '%s'", f ? "volume" : "loaded filter",
			f ? volume : filter);
		return f ? STATUS_INVALID_PARAMETER : STATUS_FLT_FILTER_NOT_FOUND;
	}
	st = detach_locked(f, v, instance);
	set_msg(msg, msg_cap,
		NT_SUCCESS(st) ? "detached %s from %s" : "detach of %s from %s failed", f->service,
		v->device);
	fm__model_leave();
	return st;
}

/* ---- Enumeration ---- */

NTSTATUS FLTAPI FltEnumerateFilters(PFLT_FILTER *FilterList, ULONG FilterListSize,
				    PULONG NumberFiltersReturned)
{
	ULONG n = 0, i = 0;

	if (!NumberFiltersReturned)
		return STATUS_INVALID_PARAMETER;
	fm__model_enter();
	for (struct fm_filter *f = fm__filters; f; f = f->next)
		if (f->registered)
			n++;
	*NumberFiltersReturned = n;
	if (!FilterList || FilterListSize < n) {
		fm__model_leave();
		return STATUS_BUFFER_TOO_SMALL;
	}
	for (struct fm_filter *f = fm__filters; f; f = f->next) {
		if (!f->registered)
			continue;
		atomic_fetch_add(&f->refs, 1);
		FilterList[i++] = f;
	}
	fm__model_leave();
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltEnumerateVolumes(PFLT_FILTER Filter, PFLT_VOLUME *VolumeList,
				    ULONG VolumeListSize, PULONG NumberVolumesReturned)
{
	ULONG n = 0, i = 0;

	if (!Filter || !NumberVolumesReturned)
		return STATUS_INVALID_PARAMETER;
	fm__model_enter();
	for (struct fm_volume *v = fm__volumes; v; v = v->next)
		if (!v->dismounting)
			n++;
	*NumberVolumesReturned = n;
	if (!VolumeList || VolumeListSize < n) {
		fm__model_leave();
		return STATUS_BUFFER_TOO_SMALL;
	}
	for (struct fm_volume *v = fm__volumes; v; v = v->next) {
		if (v->dismounting)
			continue;
		fm__volume_get(v);
		VolumeList[i++] = v;
	}
	fm__model_leave();
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltEnumerateInstances(PFLT_VOLUME Volume, PFLT_FILTER Filter,
				      PFLT_INSTANCE *InstanceList, ULONG InstanceListSize,
				      PULONG NumberInstancesReturned)
{
	ULONG n = 0, i = 0;

	if (!NumberInstancesReturned)
		return STATUS_INVALID_PARAMETER;
	fm__model_enter();
	for (struct fm_volume *v = fm__volumes; v; v = v->next) {
		if (Volume && v != Volume)
			continue;
		for (struct fm_instance *in = v->instances; in; in = in->next_on_volume)
			if (!Filter || in->filter == Filter)
				n++;
	}
	*NumberInstancesReturned = n;
	if (!InstanceList || InstanceListSize < n) {
		fm__model_leave();
		return STATUS_BUFFER_TOO_SMALL;
	}
	for (struct fm_volume *v = fm__volumes; v; v = v->next) {
		if (Volume && v != Volume)
			continue;
		for (struct fm_instance *in = v->instances; in; in = in->next_on_volume) {
			if (Filter && in->filter != Filter)
				continue;
			fm__instance_get(in);
			InstanceList[i++] = in;
		}
	}
	fm__model_leave();
	return STATUS_SUCCESS;
}

/* ---- Lookups and navigation ---- */

NTSTATUS FLTAPI FltGetFilterFromName(PCUNICODE_STRING FilterName, PFLT_FILTER *RetFilter)
{
	char name[128];
	struct fm_filter *f;

	if (!RetFilter || !narrow(FilterName, name, sizeof(name)))
		return STATUS_INVALID_PARAMETER;
	fm__model_enter();
	f = filter_by_name(name);
	if (f && f->registered)
		atomic_fetch_add(&f->refs, 1);
	fm__model_leave();
	*RetFilter = f && f->registered ? f : NULL;
	return *RetFilter ? STATUS_SUCCESS : STATUS_FLT_FILTER_NOT_FOUND;
}

NTSTATUS FLTAPI FltGetVolumeFromName(PFLT_FILTER Filter, PCUNICODE_STRING VolumeName,
				     PFLT_VOLUME *RetVolume)
{
	char name[4096];
	struct fm_volume *v;

	if (!Filter || !RetVolume || !narrow(VolumeName, name, sizeof(name)))
		return STATUS_INVALID_PARAMETER;
	fm__model_enter();
	v = volume_by_name(name);
	if (v)
		fm__volume_get(v);
	fm__model_leave();
	*RetVolume = v;
	return v ? STATUS_SUCCESS : STATUS_FLT_VOLUME_NOT_FOUND;
}

NTSTATUS FLTAPI FltGetVolumeInstanceFromName(PFLT_FILTER Filter, PFLT_VOLUME Volume,
					     PCUNICODE_STRING InstanceName,
					     PFLT_INSTANCE *RetInstance)
{
	char name[128];
	struct fm_instance *found = NULL;

	if (!RetInstance || (InstanceName && !narrow(InstanceName, name, sizeof(name))))
		return STATUS_INVALID_PARAMETER;
	fm__model_enter();
	for (struct fm_volume *v = fm__volumes; v && !found; v = v->next) {
		if (Volume && v != Volume)
			continue;
		for (struct fm_instance *in = v->instances; in && !found; in = in->next_on_volume)
			if ((!Filter || in->filter == Filter) &&
			    (!InstanceName || strcasecmp(in->name, name) == 0))
				found = in;
	}
	if (found)
		fm__instance_get(found);
	fm__model_leave();
	*RetInstance = found;
	return found ? STATUS_SUCCESS : STATUS_FLT_INSTANCE_NOT_FOUND;
}

NTSTATUS FLTAPI FltGetVolumeFromFileObject(PFLT_FILTER Filter, PFILE_OBJECT FileObject,
					   PFLT_VOLUME *RetVolume)
{
	struct fm_volume *v = fm_file_object_volume(FileObject);

	if (!Filter || !RetVolume || !v)
		return STATUS_INVALID_PARAMETER;
	fm__volume_get(v);
	*RetVolume = v;
	return STATUS_SUCCESS;
}

/* Neighbour of inst on its volume in altitude order (dir < 0: lower, > 0: upper). */
static NTSTATUS neighbour(struct fm_instance *inst, int dir, PFLT_INSTANCE *out)
{
	struct fm_instance *prev = NULL, *found = NULL;

	if (!inst || !out)
		return STATUS_INVALID_PARAMETER;
	fm__model_enter();
	for (struct fm_instance *in = inst->volume->instances; in; in = in->next_on_volume) {
		if (in == inst) {
			found = dir > 0 ? prev : in->next_on_volume;
			break;
		}
		prev = in;
	}
	if (found)
		fm__instance_get(found);
	fm__model_leave();
	*out = found;
	return found ? STATUS_SUCCESS : STATUS_NO_MORE_ENTRIES;
}

NTSTATUS FLTAPI FltGetLowerInstance(PFLT_INSTANCE CurrentInstance, PFLT_INSTANCE *LowerInstance)
{
	return neighbour(CurrentInstance, -1, LowerInstance);
}

NTSTATUS FLTAPI FltGetUpperInstance(PFLT_INSTANCE CurrentInstance, PFLT_INSTANCE *UpperInstance)
{
	return neighbour(CurrentInstance, 1, UpperInstance);
}

static NTSTATUS end_instance(struct fm_volume *vol, bool top, PFLT_INSTANCE *out)
{
	struct fm_instance *found = NULL;

	if (!vol || !out)
		return STATUS_INVALID_PARAMETER;
	fm__model_enter();
	for (struct fm_instance *in = vol->instances; in; in = in->next_on_volume) {
		found = in;
		if (top)
			break;
	}
	if (found)
		fm__instance_get(found);
	fm__model_leave();
	*out = found;
	return found ? STATUS_SUCCESS : STATUS_NO_MORE_ENTRIES;
}

NTSTATUS FLTAPI FltGetTopInstance(PFLT_VOLUME Volume, PFLT_INSTANCE *Instance)
{
	return end_instance(Volume, true, Instance);
}

NTSTATUS FLTAPI FltGetBottomInstance(PFLT_VOLUME Volume, PFLT_INSTANCE *Instance)
{
	return end_instance(Volume, false, Instance);
}

LONG FLTAPI FltCompareInstanceAltitudes(PFLT_INSTANCE Instance1, PFLT_INSTANCE Instance2)
{
	return fm__altitude_cmp(Instance1->altitude, Instance2->altitude);
}

NTSTATUS FLTAPI FltIsVolumeWritable(PVOID FltObject, PBOOLEAN IsWritable)
{
	if (!FltObject || !IsWritable)
		return STATUS_INVALID_PARAMETER;
	*IsWritable = TRUE;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltGetFileSystemType(PVOID FltObject, PFLT_FILESYSTEM_TYPE FileSystemType)
{
	uint32_t magic;

	if (!FltObject || !FileSystemType)
		return STATUS_INVALID_PARAMETER;
	magic = *(uint32_t *)FltObject;
	if (magic == FM_MAGIC_VOLUME)
		*FileSystemType = ((struct fm_volume *)FltObject)->fs_type;
	else if (magic == FM_MAGIC_INSTANCE)
		*FileSystemType = ((struct fm_instance *)FltObject)->volume->fs_type;
	else
		return STATUS_INVALID_PARAMETER;
	return STATUS_SUCCESS;
}

/* ---- Instance information ---- */

/* Append a narrow string as UTF-16 at `off` of buf; returns the byte length, or -1 if it does
 * not fit (the caller then reports the size needed). */
static long put_w(void *buf, size_t cap, size_t off, const char *s)
{
	size_t n = strlen(s);

	if (buf && off + n * sizeof(WCHAR) <= cap) {
		WCHAR *w = (WCHAR *)((char *)buf + off);
		for (size_t i = 0; i < n; i++)
			w[i] = (WCHAR)(unsigned char)s[i];
	}
	return (long)(n * sizeof(WCHAR));
}

NTSTATUS FLTAPI FltGetInstanceInformation(PFLT_INSTANCE Instance,
					  INSTANCE_INFORMATION_CLASS InformationClass, PVOID Buffer,
					  ULONG BufferSize, PULONG BytesReturned)
{
	struct fm_instance *in = Instance;
	size_t fixed, need, off;
	long l;

	if (!in || !BytesReturned)
		return STATUS_INVALID_PARAMETER;
	switch (InformationClass) {
	case InstanceBasicInformation:
		fixed = sizeof(INSTANCE_BASIC_INFORMATION);
		need = fixed + strlen(in->name) * sizeof(WCHAR);
		break;
	case InstancePartialInformation:
		fixed = sizeof(INSTANCE_PARTIAL_INFORMATION);
		need = fixed + (strlen(in->name) + strlen(in->altitude)) * sizeof(WCHAR);
		break;
	case InstanceFullInformation:
		fixed = sizeof(INSTANCE_FULL_INFORMATION);
		need = fixed + (strlen(in->name) + strlen(in->altitude) +
				strlen(in->volume->device) + strlen(in->filter->service)) *
				   sizeof(WCHAR);
		break;
	case InstanceAggregateStandardInformation:
		return fm__instance_info_aggregate(in, Buffer, BufferSize, BytesReturned);
	default:
		return STATUS_INVALID_PARAMETER;
	}
	*BytesReturned = (ULONG)need;
	if (!Buffer || BufferSize < need)
		return STATUS_BUFFER_TOO_SMALL;
	memset(Buffer, 0, fixed);
	off = fixed;
	/* Every variant starts with the Basic fields; Partial and Full extend them in order. */
	{
		PINSTANCE_FULL_INFORMATION f = Buffer;
		l = put_w(Buffer, BufferSize, off, in->name);
		f->InstanceNameLength = (USHORT)l;
		f->InstanceNameBufferOffset = (USHORT)off;
		off += (size_t)l;
		if (InformationClass != InstanceBasicInformation) {
			l = put_w(Buffer, BufferSize, off, in->altitude);
			f->AltitudeLength = (USHORT)l;
			f->AltitudeBufferOffset = (USHORT)off;
			off += (size_t)l;
		}
		if (InformationClass == InstanceFullInformation) {
			l = put_w(Buffer, BufferSize, off, in->volume->device);
			f->VolumeNameLength = (USHORT)l;
			f->VolumeNameBufferOffset = (USHORT)off;
			off += (size_t)l;
			l = put_w(Buffer, BufferSize, off, in->filter->service);
			f->FilterNameLength = (USHORT)l;
			f->FilterNameBufferOffset = (USHORT)off;
		}
	}
	return STATUS_SUCCESS;
}
