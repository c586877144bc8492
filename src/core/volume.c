/* Volumes as the filter manager sees them, and the file objects opened on them. */
#include "core/core_i.h"
#include "common/alloc.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct fm_volume *fm__volumes;
static unsigned int next_volume_number = 1;

void fm__volume_get(struct fm_volume *vol)
{
	atomic_fetch_add(&vol->refs, 1);
}

void fm__volume_put(struct fm_volume *vol)
{
	if (atomic_fetch_sub(&vol->refs, 1) == 1)
		fm_free(vol);
}

int fm_volume_create(const struct fm_volume_params *p, struct fm_volume **out)
{
	struct fm_volume *vol;
	long n;

	if (!p || !p->lower || !p->mount_point || !p->backing_dir || !out)
		return -EINVAL;
	vol = fm_calloc(1, sizeof(*vol));
	if (!vol)
		return -ENOMEM;
	vol->magic = FM_MAGIC_VOLUME;
	snprintf(vol->mount_point, sizeof(vol->mount_point), "%s", p->mount_point);
	snprintf(vol->backing_dir, sizeof(vol->backing_dir), "%s", p->backing_dir);
	snprintf(vol->backing_fs, sizeof(vol->backing_fs), "%s",
		 p->backing_fs ? p->backing_fs : "unknown");
	vol->fs_type = p->fs_type ? p->fs_type : FLT_FSTYPE_NTFS;
	vol->sector_size = p->sector_size ? p->sector_size : 512;
	vol->lower = p->lower;
	vol->lower_ctx = p->lower_ctx;
	atomic_store(&vol->refs, 1);

	fm__model_enter();
	vol->number = next_volume_number++;
	snprintf(vol->device, sizeof(vol->device), "\\Device\\HarddiskVolume%u", vol->number);
	/* The device name is plain ASCII with NT separators: widen it as is. */
	for (n = 0; vol->device[n] && (size_t)n < sizeof(vol->device_w_buf) / sizeof(WCHAR) - 1;
	     n++)
		vol->device_w_buf[n] = (WCHAR)vol->device[n];
	vol->device_w_buf[n] = 0;
	vol->device_w.Buffer = vol->device_w_buf;
	vol->device_w.Length = (USHORT)((n > 0 ? n : 0) * (long)sizeof(WCHAR));
	vol->device_w.MaximumLength = vol->device_w.Length;
	if (fm__volume_rebuild_stack(vol) < 0) {
		fm__model_leave();
		fm_free(vol);
		return -ENOMEM;
	}
	vol->next = fm__volumes;
	fm__volumes = vol;
	fm_log(FM_LOG_INFO, NULL, "volume %s mounted at %s (backing %s, %s)", vol->device,
	       vol->mount_point, vol->backing_dir, vol->backing_fs);
	fm__volume_auto_attach(vol, NULL, FLTFL_INSTANCE_SETUP_NEWLY_MOUNTED_VOLUME);
	fm__model_leave();
	*out = vol;
	return 0;
}

void fm_volume_destroy(struct fm_volume *vol)
{
	struct fm_stack *st;

	if (!vol)
		return;
	fm__model_enter();
	vol->dismounting = true;
	while (vol->instances)
		fm__instance_teardown(vol->instances, FLTFL_INSTANCE_TEARDOWN_VOLUME_DISMOUNT);
	for (struct fm_volume **pp = &fm__volumes; *pp; pp = &(*pp)->next) {
		if (*pp == vol) {
			*pp = vol->next;
			break;
		}
	}
	st = atomic_exchange(&vol->stack, NULL);
	fm__model_leave();
	if (st)
		fm__stack_retire(st);
	fm_log(FM_LOG_INFO, NULL, "volume %s dismounted", vol->device);
	fm__volume_put(vol);
}

void *fm_volume_lower_ctx(const struct fm_volume *vol)
{
	return vol->lower_ctx;
}

const char *fm_volume_device_name(const struct fm_volume *vol)
{
	return vol->device;
}

const UNICODE_STRING *fm_volume_device_name_w(const struct fm_volume *vol)
{
	return &vol->device_w;
}

const char *fm_volume_mount_point(const struct fm_volume *vol)
{
	return vol->mount_point;
}

int fm_list_volumes(struct fm_volume_info **out, size_t *n)
{
	size_t cnt = 0, i = 0;
	struct fm_volume_info *a;

	fm__model_enter();
	for (struct fm_volume *v = fm__volumes; v; v = v->next)
		cnt++;
	a = calloc(cnt ? cnt : 1, sizeof(*a));
	if (!a) {
		fm__model_leave();
		return -ENOMEM;
	}
	for (struct fm_volume *v = fm__volumes; v; v = v->next, i++) {
		fm__copy_str(a[i].dos_name, sizeof(a[i].dos_name), v->mount_point);
		fm__copy_str(a[i].device, sizeof(a[i].device), v->device);
		snprintf(a[i].fs_type, sizeof(a[i].fs_type), "%s",
			 v->fs_type == FLT_FSTYPE_NTFS	  ? "NTFS"
			 : v->fs_type == FLT_FSTYPE_FAT	  ? "FAT"
			 : v->fs_type == FLT_FSTYPE_REFS  ? "REFS"
			 : v->fs_type == FLT_FSTYPE_EXFAT ? "EXFAT"
							  : "RAW");
		fm__copy_str(a[i].backing_dir, sizeof(a[i].backing_dir), v->backing_dir);
		fm__copy_str(a[i].backing_fs, sizeof(a[i].backing_fs), v->backing_fs);
		for (struct fm_instance *in = v->instances; in; in = in->next_on_volume)
			a[i].num_instances++;
	}
	fm__model_leave();
	*out = a;
	*n = cnt;
	return 0;
}

/* ---- File objects ---- */

/*
 * File objects come from a small per-thread cache of blocks with room for a name of up to
 * FO_NAME_ROOM characters, so opening a file (and IRP_MJ_QUERY_OPEN for a lookup or getattr)
 * allocates nothing once a thread has run a few: a block goes back to the cache of the thread
 * that frees it, up to FO_CACHE blocks, and a thread's cache is freed when it exits.  Under
 * AddressSanitizer there is no cache, so a file object used after its free is still caught.
 */
#define FO_NAME_ROOM 128
#if defined(__SANITIZE_ADDRESS__)
#define FO_CACHE 0
#else
#define FO_CACHE 32
#endif

struct fo_block {
	struct fm_file f;
	WCHAR name[FO_NAME_ROOM];
};

#if FO_CACHE
static __thread struct fo_block *fo_cache[FO_CACHE];
static __thread unsigned int fo_cached;
static pthread_key_t fo_key;
static pthread_once_t fo_once = PTHREAD_ONCE_INIT;

static void fo_cache_exit(void *arg)
{
	(void)arg;
	while (fo_cached)
		fm_free(fo_cache[--fo_cached]);
}

static void fo_cache_init(void)
{
	pthread_key_create(&fo_key, fo_cache_exit);
}
#endif

PFILE_OBJECT fm_file_object_alloc(struct fm_volume *vol, const WCHAR *nt_name, size_t nt_len)
{
	struct fo_block *b;
	struct fm_file *f;

	if (nt_len > 32767)
		return NULL;
#if FO_CACHE
	if (fo_cached) {
		b = fo_cache[--fo_cached];
		memset(&b->f, 0, sizeof(b->f));
	} else
#endif
	{
		b = fm_calloc(1, sizeof(*b));
		if (!b)
			return NULL;
	}
	f = &b->f;
	f->vol = vol;
	f->fo.Type = 5; /* IO_TYPE_FILE */
	f->fo.Size = sizeof(FILE_OBJECT);
	if (nt_name) {
		if (nt_len < FO_NAME_ROOM) {
			f->name_buf = b->name;
			f->name_inline = true;
		} else {
			f->name_buf = fm_malloc((nt_len + 1) * sizeof(WCHAR));
			if (!f->name_buf) {
				fm_free(b);
				return NULL;
			}
		}
		memcpy(f->name_buf, nt_name, nt_len * sizeof(WCHAR));
		f->name_buf[nt_len] = 0;
		f->fo.FileName.Buffer = f->name_buf;
		f->fo.FileName.Length = (USHORT)(nt_len * sizeof(WCHAR));
		f->fo.FileName.MaximumLength = (USHORT)((nt_len + 1) * sizeof(WCHAR));
	}
	fm__volume_get(vol);
	return &f->fo;
}

void fm_file_object_free(PFILE_OBJECT fo)
{
	struct fm_file *f;

	if (!fo)
		return;
	f = fm__file(fo);
	fm__contexts_file_object_free(fo);
	/* A filter that replaced FileName (IoReplaceFileObjectName) owns the pool buffer it
	 * installed only until the create completes; after that it is the file object's. */
	if (fo->FileName.Buffer && fo->FileName.Buffer != f->name_buf)
		ExFreePool(fo->FileName.Buffer);
	if (!f->name_inline)
		fm_free(f->name_buf);
	fm__volume_put(f->vol);
#if FO_CACHE
	if (fo_cached < FO_CACHE) {
		if (__builtin_expect(!fo_cached, 0)) {
			/* Once per thread: free the cache when the thread exits. */
			pthread_once(&fo_once, fo_cache_init);
			if (!pthread_getspecific(fo_key))
				pthread_setspecific(fo_key, (void *)1);
		}
		fo_cache[fo_cached++] = (struct fo_block *)f;
		return;
	}
#endif
	fm_free(f);
}

struct fm_volume *fm_file_object_volume(PFILE_OBJECT fo)
{
	return fo ? fm__file(fo)->vol : NULL;
}

/* ---- Volume queries ---- */

NTSTATUS FLTAPI FltGetVolumeName(PFLT_VOLUME Volume, PUNICODE_STRING VolumeName,
				 PULONG BufferSizeNeeded)
{
	struct fm_volume *vol = Volume;

	if (!vol)
		return STATUS_INVALID_PARAMETER;
	if (BufferSizeNeeded)
		*BufferSizeNeeded = vol->device_w.Length;
	if (!VolumeName)
		return BufferSizeNeeded ? STATUS_BUFFER_TOO_SMALL : STATUS_INVALID_PARAMETER;
	if (VolumeName->MaximumLength < vol->device_w.Length)
		return STATUS_BUFFER_TOO_SMALL;
	memcpy(VolumeName->Buffer, vol->device_w.Buffer, vol->device_w.Length);
	VolumeName->Length = vol->device_w.Length;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltGetVolumeProperties(PFLT_VOLUME Volume, PFLT_VOLUME_PROPERTIES Props,
				       ULONG Length, PULONG LengthReturned)
{
	static const WCHAR drv[] = u"\\FileSystem\\Ntfs", dev[] = u"\\Ntfs";
	struct fm_volume *vol = Volume;
	size_t need, drv_len = sizeof(drv) - sizeof(WCHAR), dev_len = sizeof(dev) - sizeof(WCHAR);
	char *tail;

	if (!vol || !LengthReturned)
		return STATUS_INVALID_PARAMETER;
	need = sizeof(*Props) + drv_len + dev_len + vol->device_w.Length;
	*LengthReturned = (ULONG)need;
	if (!Props || Length < sizeof(*Props))
		return STATUS_BUFFER_TOO_SMALL;
	memset(Props, 0, sizeof(*Props));
	Props->DeviceType = FILE_DEVICE_DISK_FILE_SYSTEM;
	Props->DeviceCharacteristics = 0;
	Props->DeviceObjectFlags = 0;
	Props->AlignmentRequirement = 0;
	Props->SectorSize = (USHORT)vol->sector_size;
	Props->Flags = 0;
	if (Length < need)
		return STATUS_BUFFER_OVERFLOW;
	/* The three names follow the structure, in one allocation, as on Windows. */
	tail = (char *)(Props + 1);
	memcpy(tail, drv, drv_len);
	Props->FileSystemDriverName.Buffer = (PWCH)tail;
	Props->FileSystemDriverName.Length = Props->FileSystemDriverName.MaximumLength =
	    (USHORT)drv_len;
	tail += drv_len;
	memcpy(tail, dev, dev_len);
	Props->FileSystemDeviceName.Buffer = (PWCH)tail;
	Props->FileSystemDeviceName.Length = Props->FileSystemDeviceName.MaximumLength =
	    (USHORT)dev_len;
	tail += dev_len;
	memcpy(tail, vol->device_w.Buffer, vol->device_w.Length);
	Props->RealDeviceName.Buffer = (PWCH)tail;
	Props->RealDeviceName.Length = Props->RealDeviceName.MaximumLength = vol->device_w.Length;
	return STATUS_SUCCESS;
}
