/*
 * What filters learn about the model: FILTER_* / INSTANCE_* information (FltGetFilterInformation,
 * the Flt*Enumerate*Information routines) and each volume's device objects.
 */
#include "core/core_i.h"
#include "common/alloc.h"

#include <ntifs.h>

#include <string.h>

/* ---- Information buffers ---- */

/* Bytes of s as UTF-16 (the names here are ASCII or UTF-8; non-ASCII bytes become U+FFFD). */
static size_t wlen(const char *s)
{
	return strlen(s) * sizeof(WCHAR);
}

/* Write s as UTF-16 at buf + off; returns its length in bytes. */
static USHORT wput(void *buf, size_t off, const char *s)
{
	WCHAR *w = (WCHAR *)((UCHAR *)buf + off);
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		WCHAR ch = c < 0x80 ? c : 0xfffd;
		memcpy(w + i, &ch, sizeof(ch));
	}
	return (USHORT)(n * sizeof(WCHAR));
}

/* Start of a variable part: after `fixed`, aligned for WCHARs. */
static size_t names_at(size_t fixed)
{
	return (fixed + 1) & ~(size_t)1;
}

static ULONG filter_instances(const struct fm_filter *f)
{
	ULONG n = 0;

	for (struct fm_volume *v = fm__volumes; v; v = v->next)
		for (struct fm_instance *in = v->instances; in; in = in->next_on_volume)
			n += in->filter == f;
	return n;
}

/* Model lock held.  STATUS_BUFFER_TOO_SMALL with *ret = the size needed. */
static NTSTATUS filter_info(const struct fm_filter *f, FILTER_INFORMATION_CLASS cls, PVOID buf,
			    ULONG size, PULONG ret)
{
	size_t fixed, need, off;

	switch (cls) {
	case FilterFullInformation:
		fixed = offsetof(FILTER_FULL_INFORMATION, FilterNameBuffer);
		need = fixed + wlen(f->service);
		break;
	case FilterAggregateBasicInformation:
		fixed = names_at(sizeof(FILTER_AGGREGATE_BASIC_INFORMATION));
		need = fixed + wlen(f->service) + wlen(f->altitude);
		break;
	case FilterAggregateStandardInformation:
		fixed = names_at(sizeof(FILTER_AGGREGATE_STANDARD_INFORMATION));
		need = fixed + wlen(f->service) + wlen(f->altitude);
		break;
	default:
		return STATUS_INVALID_PARAMETER;
	}
	*ret = (ULONG)need;
	if (!buf || size < need)
		return STATUS_BUFFER_TOO_SMALL;
	memset(buf, 0, fixed);
	off = fixed;
	if (cls == FilterFullInformation) {
		FILTER_FULL_INFORMATION *i = buf;

		i->FrameID = 0;
		i->NumberOfInstances = filter_instances(f);
		i->FilterNameLength = wput(buf, fixed, f->service);
	} else if (cls == FilterAggregateBasicInformation) {
		FILTER_AGGREGATE_BASIC_INFORMATION *i = buf;

		i->Flags = FLTFL_AGGREGATE_INFO_IS_MINIFILTER;
		i->Type.MiniFilter.FrameID = 0;
		i->Type.MiniFilter.NumberOfInstances = filter_instances(f);
		i->Type.MiniFilter.FilterNameBufferOffset = (USHORT)off;
		i->Type.MiniFilter.FilterNameLength = wput(buf, off, f->service);
		off += i->Type.MiniFilter.FilterNameLength;
		i->Type.MiniFilter.FilterAltitudeBufferOffset = (USHORT)off;
		i->Type.MiniFilter.FilterAltitudeLength = wput(buf, off, f->altitude);
	} else {
		FILTER_AGGREGATE_STANDARD_INFORMATION *i = buf;

		i->Flags = FLTFL_AGGREGATE_INFO_IS_MINIFILTER;
		i->Type.MiniFilter.Flags = 0;
		i->Type.MiniFilter.FrameID = 0;
		i->Type.MiniFilter.NumberOfInstances = filter_instances(f);
		i->Type.MiniFilter.FilterNameBufferOffset = (USHORT)off;
		i->Type.MiniFilter.FilterNameLength = wput(buf, off, f->service);
		off += i->Type.MiniFilter.FilterNameLength;
		i->Type.MiniFilter.FilterAltitudeBufferOffset = (USHORT)off;
		i->Type.MiniFilter.FilterAltitudeLength = wput(buf, off, f->altitude);
	}
	return STATUS_SUCCESS;
}

/* `detached`: the filter asking has no instance on the volume (FLTFL_VSI_DETACHED_VOLUME). */
static NTSTATUS volume_info(const struct fm_volume *v, bool detached,
			    FILTER_VOLUME_INFORMATION_CLASS cls, PVOID buf, ULONG size, PULONG ret)
{
	size_t fixed, need;

	switch (cls) {
	case FilterVolumeBasicInformation:
		fixed = offsetof(FILTER_VOLUME_BASIC_INFORMATION, FilterVolumeName);
		break;
	case FilterVolumeStandardInformation:
		fixed = offsetof(FILTER_VOLUME_STANDARD_INFORMATION, FilterVolumeName);
		break;
	default:
		return STATUS_INVALID_PARAMETER;
	}
	need = fixed + wlen(v->device);
	*ret = (ULONG)need;
	if (!buf || size < need)
		return STATUS_BUFFER_TOO_SMALL;
	memset(buf, 0, fixed);
	if (cls == FilterVolumeBasicInformation) {
		FILTER_VOLUME_BASIC_INFORMATION *i = buf;

		i->FilterVolumeNameLength = wput(buf, fixed, v->device);
	} else {
		FILTER_VOLUME_STANDARD_INFORMATION *i = buf;

		i->Flags = detached ? FLTFL_VSI_DETACHED_VOLUME : 0;
		i->FrameID = 0;
		i->FileSystemType = v->fs_type;
		i->FilterVolumeNameLength = wput(buf, fixed, v->device);
	}
	return STATUS_SUCCESS;
}

/* INSTANCE_AGGREGATE_STANDARD_INFORMATION (FltGetInstanceInformation has the other classes). */
NTSTATUS fm__instance_info_aggregate(const struct fm_instance *in, PVOID buf, ULONG size,
				     PULONG ret)
{
	size_t fixed = names_at(sizeof(INSTANCE_AGGREGATE_STANDARD_INFORMATION)), off = fixed;
	size_t need = fixed + wlen(in->name) + wlen(in->altitude) + wlen(in->volume->device) +
		      wlen(in->filter->service);
	INSTANCE_AGGREGATE_STANDARD_INFORMATION *i = buf;

	*ret = (ULONG)need;
	if (!buf || size < need)
		return STATUS_BUFFER_TOO_SMALL;
	memset(buf, 0, fixed);
	i->Flags = FLTFL_IASI_IS_MINIFILTER;
	i->Type.MiniFilter.Flags = in->volume->dismounting ? FLTFL_IASIM_DETACHED_VOLUME : 0;
	i->Type.MiniFilter.FrameID = 0;
	i->Type.MiniFilter.VolumeFileSystemType = in->volume->fs_type;
	i->Type.MiniFilter.InstanceNameBufferOffset = (USHORT)off;
	i->Type.MiniFilter.InstanceNameLength = wput(buf, off, in->name);
	off += i->Type.MiniFilter.InstanceNameLength;
	i->Type.MiniFilter.AltitudeBufferOffset = (USHORT)off;
	i->Type.MiniFilter.AltitudeLength = wput(buf, off, in->altitude);
	off += i->Type.MiniFilter.AltitudeLength;
	i->Type.MiniFilter.VolumeNameBufferOffset = (USHORT)off;
	i->Type.MiniFilter.VolumeNameLength = wput(buf, off, in->volume->device);
	off += i->Type.MiniFilter.VolumeNameLength;
	i->Type.MiniFilter.FilterNameBufferOffset = (USHORT)off;
	i->Type.MiniFilter.FilterNameLength = wput(buf, off, in->filter->service);
	i->Type.MiniFilter.SupportedFeatures = 0;
	return STATUS_SUCCESS;
}

static bool filter_ok(PFLT_FILTER Filter)
{
	const struct fm_filter *f = Filter;

	return f && f->magic == FM_MAGIC_FILTER;
}

static bool volume_ok(PFLT_VOLUME Volume)
{
	const struct fm_volume *v = Volume;

	return v && v->magic == FM_MAGIC_VOLUME;
}

NTSTATUS FLTAPI FltGetFilterInformation(PFLT_FILTER Filter,
					FILTER_INFORMATION_CLASS InformationClass, PVOID Buffer,
					ULONG BufferSize, PULONG BytesReturned)
{
	NTSTATUS st;

	if (!filter_ok(Filter) || !BytesReturned)
		return STATUS_INVALID_PARAMETER;
	fm__model_enter();
	st = filter_info(Filter, InformationClass, Buffer, BufferSize, BytesReturned);
	fm__model_leave();
	return st;
}

NTSTATUS FLTAPI FltEnumerateFilterInformation(ULONG Index,
					      FILTER_INFORMATION_CLASS InformationClass,
					      PVOID Buffer, ULONG BufferSize, PULONG BytesReturned)
{
	NTSTATUS st = STATUS_NO_MORE_ENTRIES;
	ULONG i = 0;

	if (!BytesReturned)
		return STATUS_INVALID_PARAMETER;
	*BytesReturned = 0;
	fm__model_enter();
	for (struct fm_filter *f = fm__filters; f; f = f->next) {
		if (!f->registered)
			continue;
		if (i++ == Index) {
			st = filter_info(f, InformationClass, Buffer, BufferSize, BytesReturned);
			break;
		}
	}
	fm__model_leave();
	return st;
}

static bool has_instance(const struct fm_volume *v, const struct fm_filter *f)
{
	for (struct fm_instance *in = v->instances; in; in = in->next_on_volume)
		if (in->filter == f)
			return true;
	return false;
}

NTSTATUS FLTAPI FltGetVolumeInformation(PFLT_VOLUME Volume,
					FILTER_VOLUME_INFORMATION_CLASS InformationClass,
					PVOID Buffer, ULONG BufferSize, PULONG BytesReturned)
{
	NTSTATUS st;

	if (!volume_ok(Volume) || !BytesReturned)
		return STATUS_INVALID_PARAMETER;
	fm__model_enter();
	st = volume_info(Volume, false, InformationClass, Buffer, BufferSize, BytesReturned);
	fm__model_leave();
	return st;
}

NTSTATUS FLTAPI FltEnumerateVolumeInformation(PFLT_FILTER Filter, ULONG Index,
					      FILTER_VOLUME_INFORMATION_CLASS InformationClass,
					      PVOID Buffer, ULONG BufferSize, PULONG BytesReturned)
{
	NTSTATUS st = STATUS_NO_MORE_ENTRIES;
	ULONG i = 0;

	if (!filter_ok(Filter) || !BytesReturned)
		return STATUS_INVALID_PARAMETER;
	*BytesReturned = 0;
	fm__model_enter();
	for (struct fm_volume *v = fm__volumes; v; v = v->next) {
		if (v->dismounting)
			continue;
		if (i++ == Index) {
			st = volume_info(v, !has_instance(v, Filter), InformationClass, Buffer,
					 BufferSize, BytesReturned);
			break;
		}
	}
	fm__model_leave();
	return st;
}

static NTSTATUS instance_info(struct fm_instance *in, INSTANCE_INFORMATION_CLASS cls, PVOID buf,
			      ULONG size, PULONG ret)
{
	if (cls == InstanceAggregateStandardInformation)
		return fm__instance_info_aggregate(in, buf, size, ret);
	return FltGetInstanceInformation(in, cls, buf, size, ret);
}

NTSTATUS FLTAPI FltEnumerateInstanceInformationByFilter(PFLT_FILTER Filter, ULONG Index,
							INSTANCE_INFORMATION_CLASS InformationClass,
							PVOID Buffer, ULONG BufferSize,
							PULONG BytesReturned)
{
	NTSTATUS st = STATUS_NO_MORE_ENTRIES;
	ULONG i = 0;

	if (!filter_ok(Filter) || !BytesReturned)
		return STATUS_INVALID_PARAMETER;
	*BytesReturned = 0;
	fm__model_enter();
	for (struct fm_volume *v = fm__volumes; v && st == STATUS_NO_MORE_ENTRIES; v = v->next)
		for (struct fm_instance *in = v->instances; in; in = in->next_on_volume) {
			if (in->filter != (struct fm_filter *)Filter)
				continue;
			if (i++ == Index) {
				st = instance_info(in, InformationClass, Buffer, BufferSize,
						   BytesReturned);
				break;
			}
		}
	fm__model_leave();
	return st;
}

NTSTATUS FLTAPI FltEnumerateInstanceInformationByVolume(PFLT_VOLUME Volume, ULONG Index,
							INSTANCE_INFORMATION_CLASS InformationClass,
							PVOID Buffer, ULONG BufferSize,
							PULONG BytesReturned)
{
	struct fm_volume *v = Volume;
	NTSTATUS st = STATUS_NO_MORE_ENTRIES;
	ULONG i = 0;

	if (!volume_ok(Volume) || !BytesReturned)
		return STATUS_INVALID_PARAMETER;
	*BytesReturned = 0;
	fm__model_enter();
	for (struct fm_instance *in = v->instances; in; in = in->next_on_volume) {
		if (i++ == Index) {
			st = instance_info(in, InformationClass, Buffer, BufferSize, BytesReturned);
			break;
		}
	}
	fm__model_leave();
	return st;
}

/* ---- Device objects ---- */

/* The driver object both device objects name: the file system below every volume. */
static DRIVER_OBJECT fs_driver = {
    .Type = 4, /* IO_TYPE_DRIVER */
    .Size = sizeof(DRIVER_OBJECT),
    .DriverName = {sizeof(u"\\FileSystem\\fltmgrfs") - sizeof(WCHAR),
		   sizeof(u"\\FileSystem\\fltmgrfs"), (PWCH)u"\\FileSystem\\fltmgrfs"},
};

static pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER;

static void dev_fill(DEVICE_OBJECT *d, DEVICE_TYPE type, const struct fm_volume *v)
{
	d->Type = IO_TYPE_DEVICE;
	d->Size = sizeof(*d);
	d->ReferenceCount = 1;
	d->DriverObject = &fs_driver;
	d->DeviceType = type;
	d->StackSize = 1;
	d->AlignmentRequirement = 0; /* FILE_BYTE_ALIGNMENT */
	d->SectorSize = (USHORT)(v->sector_size ? v->sector_size : 512);
	d->Flags = DO_DIRECT_IO;
}

/* The volume's device objects, filled on first use. */
void fm__volume_devices(struct fm_volume *v)
{
	if (atomic_load(&v->dev_ready))
		return;
	pthread_mutex_lock(&dev_lock);
	if (!atomic_load(&v->dev_ready)) {
		dev_fill(&v->dev_fs, FILE_DEVICE_DISK_FILE_SYSTEM, v);
		dev_fill(&v->dev_disk, FILE_DEVICE_DISK, v);
		v->dev_disk.Characteristics = FILE_DEVICE_IS_MOUNTED;
		v->vpb.Type = 10; /* IO_TYPE_VPB */
		v->vpb.Size = sizeof(VPB);
		v->vpb.Flags = VPB_MOUNTED;
		v->vpb.DeviceObject = &v->dev_fs;
		v->vpb.RealDevice = &v->dev_disk;
		v->vpb.SerialNumber = v->number;
		v->vpb.ReferenceCount = 1;
		v->dev_disk.Vpb = &v->vpb;
		atomic_store(&v->dev_ready, true);
	}
	pthread_mutex_unlock(&dev_lock);
}

/*
 * Device objects are not reference counted (ObReferenceObject / ObDereferenceObject accept
 * them and do nothing, as for file objects): they live as long as the volume object, which a
 * filter keeps with its instance or its volume reference.
 */
NTSTATUS FLTAPI FltGetDeviceObject(PFLT_VOLUME Volume, PDEVICE_OBJECT *DeviceObject)
{
	if (!DeviceObject)
		return STATUS_INVALID_PARAMETER;
	*DeviceObject = NULL;
	if (!volume_ok(Volume))
		return STATUS_INVALID_PARAMETER;
	fm__volume_devices(Volume);
	*DeviceObject = &((struct fm_volume *)Volume)->dev_fs;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltGetDiskDeviceObject(PFLT_VOLUME Volume, PDEVICE_OBJECT *DiskDeviceObject)
{
	if (!DiskDeviceObject)
		return STATUS_INVALID_PARAMETER;
	*DiskDeviceObject = NULL;
	if (!volume_ok(Volume))
		return STATUS_INVALID_PARAMETER;
	fm__volume_devices(Volume);
	*DiskDeviceObject = &((struct fm_volume *)Volume)->dev_disk;
	return STATUS_SUCCESS;
}

/* The volume whose file-system or disk device object d is (a reference), or NULL. */
struct fm_volume *fm__volume_of_device(const void *d)
{
	struct fm_volume *found = NULL;

	fm__model_enter();
	for (struct fm_volume *v = fm__volumes; v && !found; v = v->next)
		if (atomic_load(&v->dev_ready) &&
		    (d == (void *)&v->dev_fs || d == (void *)&v->dev_disk)) {
			found = v;
			fm__volume_get(v);
		}
	fm__model_leave();
	return found;
}

NTSTATUS FLTAPI FltGetVolumeFromDeviceObject(PFLT_FILTER Filter, PDEVICE_OBJECT DeviceObject,
					     PFLT_VOLUME *RetVolume)
{
	struct fm_volume *v;

	if (!RetVolume)
		return STATUS_INVALID_PARAMETER;
	*RetVolume = NULL;
	if (!filter_ok(Filter) || !DeviceObject)
		return STATUS_INVALID_PARAMETER;
	v = fm__volume_of_device(DeviceObject);
	if (!v)
		return STATUS_FLT_VOLUME_NOT_FOUND;
	*RetVolume = v; /* the reference is the caller's: FltObjectDereference */
	return STATUS_SUCCESS;
}
