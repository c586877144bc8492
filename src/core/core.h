/* The filter manager core as the layers around it see it: volumes, I/O dispatch, filters. */
#ifndef FM_CORE_CORE_H
#define FM_CORE_CORE_H

/*
 * The core knows no FUSE and no sockets.  Below it, a volume's lower file system (the backing
 * directory, src/volume/lowerfs.c) executes IRPs; above it, the FUSE front-end
 * (src/volume/frontend.c) turns kernel requests into IRPs and the daemon (src/daemon) loads
 * filters and mounts volumes.  Errors: functions returning int give 0 / -errno; those
 * returning NTSTATUS follow the WDK.
 */

#include <fltKernel.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fm_volume;
struct fm_filter;
struct fm_instance;

/* ---- Volumes ------------------------------------------------------------------------- */

/*
 * What the core needs from a volume's lower file system.  Both are called from any thread.
 */
struct fm_lower_ops {
	/*
	 * Execute the operation described by data->Iopb (major/minor function, parameters,
	 * TargetFileObject) on the backing file system, set data->IoStatus and return its
	 * Status.  For IRP_MJ_CREATE it fills FileObject->FsContext (the stream) and
	 * FsContext2 (the handle); IRP_MJ_CLOSE releases them.  Who asked is in
	 * fm_irp_requestor(data).
	 */
	NTSTATUS (*dispatch)(struct fm_volume *vol, PFLT_CALLBACK_DATA data);
	/*
	 * The current volume-relative Linux path of an open stream (FileObject->FsContext),
	 * "" for the root, "dir/file" otherwise, NUL-terminated into buf.  Returns the length,
	 * -ENOENT if the file no longer has a name (deleted), -ENAMETOOLONG if cap is small.
	 */
	int (*stream_path)(struct fm_volume *vol, void *fs_context, char *buf, size_t cap);
	/* Nonzero if the stream is a directory. */
	int (*stream_is_dir)(struct fm_volume *vol, void *fs_context);
};

struct fm_volume_params {
	const char *mount_point;     /* Linux path where the volume is mounted (its "DOS name") */
	const char *backing_dir;     /* absolute path of the backing directory */
	const char *backing_fs;	     /* real file system type of the backing dir, for display */
	FLT_FILESYSTEM_TYPE fs_type; /* type reported to filters; FLT_FSTYPE_NTFS by default */
	ULONG sector_size;	     /* reported in FLT_VOLUME_PROPERTIES */
	const struct fm_lower_ops *lower;
	void *lower_ctx; /* the lower's own state, fm_volume_lower_ctx() */
};

/*
 * Create a volume object (device name \Device\HarddiskVolume<N>, N unique for the daemon's
 * life) and publish it: every filter that is filtering gets its instances attached
 * (InstanceSetupCallback with FLTFL_INSTANCE_SETUP_AUTOMATIC_ATTACHMENT |
 * FLTFL_INSTANCE_SETUP_NEWLY_MOUNTED_VOLUME) before this returns.  *out holds one reference.
 */
int fm_volume_create(const struct fm_volume_params *params, struct fm_volume **out);
/*
 * Dismount: tear down every instance on the volume (reason FLTFL_INSTANCE_TEARDOWN_VOLUME_DISMOUNT),
 * unpublish it, drop the creation reference.  The lower must stay usable until this returns.
 */
void fm_volume_destroy(struct fm_volume *vol);

void *fm_volume_lower_ctx(const struct fm_volume *vol);
/* "\Device\HarddiskVolume3" as UTF-8 and as the UNICODE_STRING filters see. */
const char *fm_volume_device_name(const struct fm_volume *vol);
const UNICODE_STRING *fm_volume_device_name_w(const struct fm_volume *vol);
const char *fm_volume_mount_point(const struct fm_volume *vol);

/*
 * True when no instance on the volume registered a callback for `major`: the front-end may
 * then skip building callback data and call the lower directly (the fast path).
 */
bool fm_volume_unfiltered(const struct fm_volume *vol, UCHAR major);

/* ---- File objects ---------------------------------------------------------------------- */

/*
 * Allocate a FILE_OBJECT for a volume: FileName is a copy of `nt_name` (volume-relative, e.g.
 * L"\\dir\\file.txt", may be NULL for none), everything else zero.  The core owns its private
 * state (names, stream-handle contexts).  Free with fm_file_object_free() after IRP_MJ_CLOSE
 * has been dispatched (or if IRP_MJ_CREATE failed).  NULL on allocation failure.
 */
PFILE_OBJECT fm_file_object_alloc(struct fm_volume *vol, const WCHAR *nt_name, size_t nt_len);
void fm_file_object_free(PFILE_OBJECT fo);
struct fm_volume *fm_file_object_volume(PFILE_OBJECT fo);

/*
 * The lower file system calls this just before it frees a stream (the object FsContext points
 * to): every stream and file context of every instance on it is deleted, their cleanup
 * callbacks run from here (on the calling thread, so the caller must not hold a lock that a
 * filter's cleanup callback could need).  `vol` may be NULL when the caller does not know it:
 * streams are identified by their address.  Any thread.
 */
void fm_volume_stream_gone(struct fm_volume *vol, void *fs_context);

/* ---- I/O dispatch ---------------------------------------------------------------------- */

/* Who asked for an operation.  pid 0 and KernelMode for filter-initiated I/O. */
struct fm_requestor {
	uint32_t pid;
	uint32_t uid;
	uint32_t gid;
	uint32_t umask;
};

struct fm_irp;

/*
 * Called once when a dispatched operation has fully completed (all post-operations done).
 * data->IoStatus holds the outcome.  May run on another thread than the one that called
 * fm_irp_dispatch() if a filter pended the operation.
 */
typedef void (*fm_irp_done_cb)(struct fm_irp *irp, void *arg);

/*
 * One operation's control block.  Callers allocate it (usually on the stack), call
 * fm_irp_init(), fill data.Iopb->Parameters, then fm_irp_dispatch().  The layout below the
 * public members is private to the core.
 */
struct fm_irp {
	FLT_CALLBACK_DATA data;
	FLT_IO_PARAMETER_BLOCK iopb;
	struct fm_requestor who;
	struct fm_volume *vol;
	fm_irp_done_cb done;
	void *done_arg;
	/*
	 * Filter-initiated I/O: the instance that issued it.  Only instances below it (lower
	 * altitude) see the operation.  NULL for I/O from processes.
	 */
	struct fm_instance *issuer;
	/*
	 * Optional: while a synchronous dispatch waits for a pended operation it asks this
	 * every few milliseconds whether the requester gave up (a FUSE interrupt); if so the
	 * operation is cancelled through the filter's cancel routine or cancel-safe queue.
	 */
	bool (*cancel_check)(void *arg);
	void *cancel_arg;
	/*
	 * The lower file system's note of the errno behind the failure status it set (0: none),
	 * kept with the operation rather than the thread: a pended operation reaches the lower
	 * on the thread that completes it.  fm_irp_init clears it.
	 */
	NTSTATUS lower_status;
	int lower_errno;
	/* Private to the core from here on. */
	struct fm_irp_private *priv;
	unsigned char inline_priv[1024] __attribute__((aligned(16)));
};

/*
 * Prepare an IRP-based operation (FLTFL_CALLBACK_DATA_IRP_OPERATION, RequestorMode UserMode
 * unless `who` is NULL, which means KernelMode / pid 0).  The file object may be NULL only for
 * operations that have none.
 */
void fm_irp_init(struct fm_irp *irp, struct fm_volume *vol, UCHAR major, UCHAR minor,
		 PFILE_OBJECT fo, const struct fm_requestor *who);

/*
 * Run the operation through the volume's filter stack and the lower file system.  Returns
 * STATUS_PENDING if a filter pended it, in which case irp->done will be called later (the irp
 * must then stay valid until done runs: allocate it on the heap when done is set); otherwise
 * returns the final IoStatus.Status and does not call done.  Without a done callback the call
 * waits for a pended operation to finish (the skeleton's synchronous path).
 */
NTSTATUS fm_irp_dispatch(struct fm_irp *irp);

/* Cancel a pended operation (FltCancelIo semantics); true if a cancel routine ran. */
bool fm_irp_cancel(struct fm_irp *irp);

/* Release anything the dispatch attached to the irp (swapped buffers etc.). */
void fm_irp_cleanup(struct fm_irp *irp);

/* From callback data back to its control block / requestor (for the lower file system). */
struct fm_irp *fm_irp_from_data(PFLT_CALLBACK_DATA data);
const struct fm_requestor *fm_irp_requestor(PFLT_CALLBACK_DATA data);

/* ---- Filters ----------------------------------------------------------------------------- */

/*
 * Load the minifilter registered under `service` (FltLoadFilter semantics): read ImagePath
 * from the service key, dlopen it, create its DRIVER_OBJECT, call DriverEntry at
 * PASSIVE_LEVEL.  Errors: STATUS_OBJECT_NAME_NOT_FOUND (no such service),
 * STATUS_IMAGE_ALREADY_LOADED, STATUS_INVALID_IMAGE_FORMAT (not a shared object),
 * STATUS_PROCEDURE_NOT_FOUND (no DriverEntry), or DriverEntry's own failure status (the
 * image is then unloaded without its unload callback, leftovers reported and cleaned).
 * `msg` (may be NULL) receives a one-line human explanation.
 */
NTSTATUS fm_filter_load(const char *service, char *msg, size_t msg_cap);

/* As fm_filter_load, with a DriverEntry linked into the process instead of an image: for
 * unit tests and embedders.  The service key must exist as for a normal load. */
NTSTATUS fm_filter_load_builtin(const char *service, PDRIVER_INITIALIZE entry, char *msg,
				size_t msg_cap);

/*
 * Unload (FltUnloadFilter when !mandatory; service stop when mandatory).  Fails with
 * STATUS_FLT_DO_NOT_DETACH when the filter refuses, STATUS_OBJECT_NAME_NOT_FOUND when not loaded.
 */
NTSTATUS fm_filter_unload(const char *service, bool mandatory, char *msg, size_t msg_cap);

/*
 * Start the core (call once, after fm_reg_init): object lists, work queues.  0 or -errno.
 * fm_core_shutdown unloads every filter (mandatory unload); volumes are the caller's to
 * unmount before or after.
 */
int fm_core_init(void);
void fm_core_shutdown(void);

/*
 * Manual attach (fltmc attach): `volume` is a mount point, backing directory or
 * \Device\HarddiskVolumeN; `instance` NULL = the default instance; `altitude` non-NULL attaches
 * at that altitude (FltAttachVolumeAtAltitude semantics).  InstanceSetupCallback gets
 * FLTFL_INSTANCE_SETUP_MANUAL_ATTACHMENT.  Errors as FltAttachVolume, plus
 * STATUS_FLT_FILTER_NOT_FOUND for an unknown filter.
 */
NTSTATUS fm_instance_attach(const char *filter, const char *volume, const char *instance,
			    const char *altitude, char *msg, size_t msg_cap);
/* Manual detach (fltmc detach): InstanceQueryTeardownCallback may refuse; NULL instance = the
 * filter's highest instance on the volume. */
NTSTATUS fm_instance_detach(const char *filter, const char *volume, const char *instance, char *msg,
			    size_t msg_cap);

/* ---- Listing, for fltmc ------------------------------------------------------------------ */

struct fm_filter_info {
	char name[128];
	unsigned int num_instances;
	char altitude[64];
	unsigned int frame;
};

struct fm_instance_info {
	char filter[128];
	char instance[128];
	char altitude[64];
	char volume[256];	/* mount point ("DOS name") */
	char volume_device[64]; /* \Device\HarddiskVolumeN */
	unsigned int frame;
	unsigned int flags;
};

struct fm_volume_info {
	char dos_name[256]; /* mount point */
	char device[64];    /* \Device\HarddiskVolumeN */
	char fs_type[32];   /* reported, e.g. "NTFS" */
	char backing_dir[256];
	char backing_fs[32];
	unsigned int num_instances;
};

/* Snapshots; free the array with free().  Return 0 or -errno. */
int fm_list_filters(struct fm_filter_info **out, size_t *n);
int fm_list_instances(struct fm_instance_info **out, size_t *n);
int fm_list_volumes(struct fm_volume_info **out, size_t *n);

/* ---- Execution context ---------------------------------------------------------------------- */

/*
 * The verifier.  fm_verifier_misuse reports something Windows' Driver Verifier would stop on:
 * always logged with the filter's name; with the verifier on for the filter (f NULL = the
 * current one), marked "VERIFIER:" with a backtrace.  The caller then recovers safely.
 */
bool fm_verifier_enabled(const struct fm_filter *f);
void fm_verifier_misuse(struct fm_filter *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The filter whose code the calling thread is running (for DbgPrint tags), or NULL. */
struct fm_filter *fm_current_filter(void);
/* Make f the calling thread's current filter; returns the previous one (a fiber that carries a
 * request to another thread takes it along). */
struct fm_filter *fm_swap_current_filter(struct fm_filter *f);
const char *fm_filter_name(const struct fm_filter *f);
/*
 * Describe the filter code the calling thread is running ("filter X, IRP_MJ_READ
 * pre-operation, file \\a.txt") into buf; "" when none.  Async-signal-safe: for fatal-signal
 * handlers.  Returns the length written.
 */
size_t fm_core_describe_current(char *buf, size_t cap);

#endif
