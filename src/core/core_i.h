/* Private object model of the filter manager core: filters, volumes, instances, stacks. */
#ifndef FM_CORE_CORE_I_H
#define FM_CORE_CORE_I_H

#include "core/core.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

/* Locking: fm__model_lock (recursive) guards every list below and every state change of
 * filters, volumes and instances.  The dispatch hot path never takes it, nor any other lock:
 * it reads the volume's current stack inside a per-thread section (dispatch.c) that keeps a
 * stack it uses from being freed. */
extern pthread_mutex_t fm__model_lock;
void fm__model_enter(void);
void fm__model_leave(void);

/* Copy a string into a fixed buffer, truncating (listing fields are for display). */
static inline void fm__copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ---- Altitudes: decimal strings compared exactly ---- */

#define FM_ALTITUDE_MAX 64
/* Normalize "0370020.50" -> "370020.5"; -EINVAL if not a non-negative decimal number. */
int fm__altitude_normalize(const char *in, char *out, size_t cap);
/* <0, 0, >0 as a < b, a == b, a > b; both normalized. */
int fm__altitude_cmp(const char *a, const char *b);

/* ---- Filters ---- */

enum fm_filter_state {
	FM_FILTER_LOADING,     /* DriverEntry running, not registered */
	FM_FILTER_REGISTERED,  /* FltRegisterFilter succeeded */
	FM_FILTER_FILTERING,   /* FltStartFiltering succeeded */
	FM_FILTER_UNREGISTERED /* FltUnregisterFilter done; image may still be mapped */
};

/* One instance definition from the service key (Instances\<name>). */
struct fm_instance_def {
	char name[128];
	char altitude[FM_ALTITUDE_MAX];
	uint32_t flags; /* 0x1: no automatic attachment, 0x2: no manual attachment */
};

/* First member of every object a PFLT_* handle points to, so FltObjectReference can tell. */
enum { FM_MAGIC_FILTER = 0x544c4946, FM_MAGIC_VOLUME = 0x4c4f5646, FM_MAGIC_INSTANCE = 0x54534e46 };

struct fm_filter {
	uint32_t magic;
	char service[128];
	char altitude[FM_ALTITUDE_MAX]; /* of the default instance, for `fltmc filters` */
	void *image;			/* dlopen handle */
	DRIVER_OBJECT driver;
	DRIVER_EXTENSION driver_ext;
	WCHAR driver_name_buf[160];
	WCHAR service_key_buf[64];
	UNICODE_STRING registry_path;
	WCHAR registry_path_buf[256];
	enum fm_filter_state state;	 /* model lock */
	atomic_bool registered;		 /* FltRegisterFilter succeeded and not undone */
	FLT_REGISTRATION reg;		 /* the filter's registration, copied */
	FLT_OPERATION_REGISTRATION *ops; /* copied array, ends with IRP_MJ_OPERATION_END */
	size_t nops;
	struct fm_instance_def *defs; /* from the registry at registration */
	size_t ndefs;
	size_t default_def; /* index into defs of DefaultInstance */
	atomic_long refs;   /* rundown: FltObjectReference, in-flight callbacks */
	/* registered, unloading, dismounting: written under the model lock, also read without
	 * it (context and port calls from filter threads), hence atomic. */
	atomic_bool unloading;
	bool verifier;		      /* registry value Verifier, read at load */
	atomic_long verifier_reports; /* misuse reports while the verifier was on */
	struct fm_filter *next;	      /* fm__filters list, model lock */
	/* contexts (src/core/context.c): the filter's context registrations, copied and checked
	 * at FltRegisterFilter, ending with FLT_CONTEXT_END; freed with the filter. */
	FLT_CONTEXT_REGISTRATION *ctx_reg;
	size_t nctx_reg;
};

extern struct fm_filter *fm__filters;

/* Thread-local: the filter whose code is running (DbgPrint tags, verifier).  libfltmgr is
 * never dlopened (the daemon and the filters link it), so the cheap TLS model applies. */
extern __thread struct fm_filter *fm__tls_filter __attribute__((tls_model("initial-exec")));

static inline struct fm_filter *fm__enter_filter(struct fm_filter *f)
{
	struct fm_filter *prev = fm__tls_filter;
	fm__tls_filter = f;
	return prev;
}

static inline void fm__leave_filter(struct fm_filter *prev)
{
	fm__tls_filter = prev;
}

/* Thread-local: the operation whose pre- or post-operation callback is running (crashinfo.c). */
struct fm__tls_op {
	PFLT_CALLBACK_DATA data;
	bool post;
};
extern __thread struct fm__tls_op fm__tls_op __attribute__((tls_model("initial-exec")));

/* Pre/post callbacks of filter f for major function code `major` (UCHAR, incl. pseudo codes). */
const FLT_OPERATION_REGISTRATION *fm__filter_op(const struct fm_filter *f, UCHAR major);

/* ---- Instances ---- */

struct fm_instance {
	uint32_t magic;
	struct fm_filter *filter;
	struct fm_volume *volume;
	char name[128];
	char altitude[FM_ALTITUDE_MAX];
	uint32_t setup_flags;
	atomic_long refs; /* stacks holding it, FltObjectReference, creation ref */
	/* Set once teardown starts; dispatch reads it without a barrier of its own (see
	 * fm__instance_quiesce in dispatch.c for why that is enough). */
	atomic_bool tearing_down;
	bool attached;			    /* on vol->instances, model lock */
	struct fm_instance *next_on_volume; /* model lock */
};

/* Attach f to vol by its definition `def` at an altitude (NULL: the definition's). */
NTSTATUS fm__instance_attach(struct fm_filter *f, struct fm_volume *vol,
			     const struct fm_instance_def *def, const char *altitude,
			     const char *name, ULONG setup_flags, struct fm_instance **out);
/* Tear an attached instance down with `reason` (FLTFL_INSTANCE_TEARDOWN_*). Model lock held. */
void fm__instance_teardown(struct fm_instance *inst, ULONG reason);
void fm__instance_get(struct fm_instance *inst);
void fm__instance_put(struct fm_instance *inst);

/* ---- Volumes and their stacks ---- */

/* One major function's callback list: instances top (highest altitude) first. */
struct fm_cb_entry {
	struct fm_instance *inst;
	PFLT_PRE_OPERATION_CALLBACK pre;
	PFLT_POST_OPERATION_CALLBACK post;
	ULONG flags;
};

struct fm_cb_list {
	unsigned int n;
	struct fm_cb_entry e[];
};

#define FM_NMAJOR 256 /* indexed by the UCHAR major code, pseudo codes included */

/*
 * An immutable snapshot of a volume's instances, rebuilt on attach/detach.  Operations take no
 * reference on it: a stack replaced by a rebuild is retired (fm__stack_retire) and freed once
 * no operation in flight uses it (dispatch.c).
 */
struct fm_stack {
	atomic_bool retired;
	bool in_use;		       /* scratch of the reclaim scan (dispatch.c) */
	struct fm_stack *retired_next; /* the retired list (dispatch.c) */
	unsigned int ninst;
	struct fm_instance **inst;	     /* highest altitude first */
	struct fm_cb_list *lists[FM_NMAJOR]; /* NULL when nobody registered */
};

struct fm_volume {
	uint32_t magic;
	unsigned int number; /* HarddiskVolume<number> */
	char device[64];
	WCHAR device_w_buf[64];
	UNICODE_STRING device_w;
	char mount_point[4096];
	char backing_dir[4096];
	char backing_fs[32];
	FLT_FILESYSTEM_TYPE fs_type;
	ULONG sector_size;
	const struct fm_lower_ops *lower;
	void *lower_ctx;
	atomic_long refs;
	atomic_bool dismounting;	  /* written under the model lock */
	struct fm_instance *instances;	  /* attached, model lock, highest altitude first */
	_Atomic(struct fm_stack *) stack; /* swapped by fm__volume_rebuild_stack (model lock) */
	struct fm_volume *next;		  /* fm__volumes list, model lock */
	/* volinfo.c: the file system's volume device object, the disk's, and the VPB joining
	 * them; filled on first use (dev_ready), they live as long as the volume object. */
	DEVICE_OBJECT dev_fs, dev_disk;
	VPB vpb;
	atomic_bool dev_ready;
};

extern struct fm_volume *fm__volumes;

/* Rebuild vol->stack from vol->instances (model lock held). */
int fm__volume_rebuild_stack(struct fm_volume *vol);
/* A stack no longer published: freed (fm__stack_free) once no operation in flight uses it. */
void fm__stack_retire(struct fm_stack *st);
void fm__stack_free(struct fm_stack *st);
void fm__volume_get(struct fm_volume *vol);
void fm__volume_put(struct fm_volume *vol);

/* Attach every filtering filter's automatic instances to vol (model lock held). */
void fm__volume_auto_attach(struct fm_volume *vol, struct fm_filter *only, ULONG extra_flags);

/* ---- File objects ---- */

struct fm_file {
	FILE_OBJECT fo;
	struct fm_volume *vol;
	WCHAR *name_buf;  /* FileName storage we own (filters may replace FileName.Buffer) */
	bool name_inline; /* name_buf is the block's own room (volume.c), not an allocation */
	/* contexts: set once a stream-handle context was attached (lets the free skip a lookup). */
	atomic_bool has_handle_ctx;
	/* fltio (src/core/fltio.c): the instance a FltCreateFile open was issued from (a
	 * reference held until FltClose; its cleanup and close go below it), NULL for opens by
	 * processes; and whether FltCancelFileOpen already closed the file below a filter. */
	struct fm_instance *io_issuer;
	bool io_cancelled;
	/* ecp.c: the ECP list of the create in progress on this file object (borrowed from
	 * FltCreateFileEx2's caller or a filter's FltSetEcpListIntoCallbackData), else NULL. */
	PECP_LIST create_ecps;
};

static inline struct fm_file *fm__file(PFILE_OBJECT fo)
{
	return (struct fm_file *)fo;
}

/* ---- Dispatch ---- */

/* Life of a post node: FREE until its pre-operation asks for the post (ARMED), then claimed
 * by a compare-and-swap either by the operation (RUNNING, then DONE) or by a teardown that
 * drains it (DRAINED). */
enum { FM_NODE_FREE, FM_NODE_ARMED, FM_NODE_RUNNING, FM_NODE_DONE, FM_NODE_DRAINED };

/* One instance on an operation's way down that asked for its post-operation. */
struct fm_post_node {
	atomic_int state; /* FM_NODE_*; the fields below are fixed once ARMED */
	struct fm_instance *inst;
	PFLT_POST_OPERATION_CALLBACK post;
	PVOID ctx;
	FLT_IO_PARAMETER_BLOCK snap;	/* the parameters its pre-operation saw */
	ULONG data_flags;		/* callback data flags and mode when the pre-op ran, */
	KPROCESSOR_MODE requestor_mode; /* for the copy a draining post-op gets */
};

/* A thread that runs operations through filters: the operations it is running now, so a
 * teardown can find them (dispatch.c). */
struct fm_dispatch_thread;

enum fm_irp_state {
	FM_IRP_IDLE,
	FM_IRP_RUNNING,
	FM_IRP_PENDED_PRE,
	FM_IRP_PENDED_POST,
	FM_IRP_DONE,
};

/* A new field needs its zero value in priv_init (dispatch.c): the block is not memset. */
struct fm_irp_private {
	struct fm_stack *stack;
	const struct fm_cb_list *list;
	unsigned int pos;      /* next list entry whose pre-op runs */
	unsigned int npost;    /* nodes pushed */
	unsigned int post_pos; /* while walking up: nodes still to run */
	unsigned int nslots;   /* nodes[] entries (their state is FREE until used) */
	atomic_int state;
	/* Pended pre-op resumption: set by FltCompletePendedPreOperation. */
	FLT_PREOP_CALLBACK_STATUS pend_status;
	PVOID pend_ctx;
	ULONG pend_dirty;    /* the dirty flag as it was before the pended pre-op */
	bool heap;	     /* this block was allocated, not inline in the irp */
	bool pended_once;    /* wait_lock/wait_cond were initialized (at the first pend) */
	bool params_changed; /* a pre-operation kept changes to the parameters (dirty) */
	pthread_mutex_t wait_lock;
	pthread_cond_t wait_cond;
	bool waiter;
	/* The instance whose pre- or post-operation runs (or whose pre pended it) right now,
	 * NULL between callbacks; teardown waits while it names the instance being torn down,
	 * and leaves that operation's post node alone. */
	_Atomic(struct fm_instance *) cur;
	/* Where a teardown finds the operation: on the list of the thread running it (changed
	 * only by that thread, inside its list section), or parked while pended (the parked
	 * list's lock); both during hand-overs. */
	struct fm_dispatch_thread *td;
	struct fm_irp_private *tnext, **tpprev;
	bool parked;
	/* Cancellation (cancel.c): FM_CANCEL_* state, the routine or queue that handles it. */
	atomic_int cancel_state;
	atomic_bool canceled;
	PFLT_COMPLETE_CANCELED_CALLBACK cancel_cb;
	PFLT_CALLBACK_DATA_QUEUE cbdq;
	PFLT_CALLBACK_DATA_QUEUE_IO_CONTEXT cbdq_ctx;
	PMDL locked_mdl; /* made by FltLockUserBuffer; freed with the operation */
	struct fm_irp *irp;
	/* While pended in a pre-operation: the instance that pended it (parked list lock). */
	struct fm_instance *pended_by;
	struct fm_irp_private *pnext, **ppprev; /* the parked list */
	PMDL swapped_mdl; /* an instance's swapped-in MDL, during its post-operation */
	bool retain_mdl;  /* FltRetainSwappedBufferMdlAddress was called for it */
	struct fm_post_node *nodes;
	struct fm_post_node inline_nodes[];
};

enum { FM_CANCEL_NONE, FM_CANCEL_ROUTINE, FM_CANCEL_QUEUED, FM_CANCEL_RUNNING };

/* Verifier (verifier.c): the leak report at unload; name references still held by f are
 * counted, reported and detached from it (names.c). */
void fm__verifier_unload(struct fm_filter *f);
size_t fm__names_orphan(struct fm_filter *f);

/* Operations inst pended and never completed: reported and completed (verifier, teardown). */
size_t fm__instance_release_pended(struct fm_instance *inst);

/*
 * Teardown of inst, after tearing_down was set (R29): drain the operations waiting for its
 * post-operation, and wait until none of its callbacks runs and no operation it pended is
 * outstanding (after 2 s, with the verifier on, those are named and completed).
 */
void fm__instance_quiesce(struct fm_instance *inst);

/*
 * After setting a flag dispatch reads without a barrier of its own (tearing_down): once this
 * returns, every thread that starts a callback sees the flag, and every callback started
 * before is visible to the teardown's scan (membarrier(2), or a fence in dispatch).
 */
void fm__dispatch_barrier(void);

/* ---- Contexts (src/core/context.c) ---- */

/* FltRegisterFilter: check and copy the FLT_CONTEXT_REGISTRATION array (NULL: none) into f. */
NTSTATUS fm__contexts_register(struct fm_filter *f, const FLT_CONTEXT_REGISTRATION *reg);
/* Unregistration: delete every context of f still attached to an object. */
void fm__contexts_unregister(struct fm_filter *f);
/* Before the image goes: free contexts f never released (logged as leaks), the registrations. */
void fm__contexts_filter_free(struct fm_filter *f);
/* After TeardownComplete: delete the instance's contexts (and on dismount/unload the filter's
 * volume context).  Model lock held; cleanup callbacks run from here. */
void fm__contexts_instance_teardown(struct fm_instance *inst);
/* fm_file_object_free: delete the file object's stream-handle contexts. */
void fm__contexts_file_object_free(PFILE_OBJECT fo);

/* fltio.c: the open behind FltCreateFile* and ZwCreateFile.  inst NULL: from the top of the
 * volume's stack (every instance sees it), and so are the handle's later cleanup and close. */
NTSTATUS fm__create_file(struct fm_instance *inst, PHANDLE FileHandle, PFILE_OBJECT *FileObject,
			 ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
			 PIO_STATUS_BLOCK IoStatusBlock, PLARGE_INTEGER AllocationSize,
			 ULONG FileAttributes, ULONG ShareAccess, ULONG CreateDisposition,
			 ULONG CreateOptions, PVOID EaBuffer, ULONG EaLength, ULONG Flags,
			 PECP_LIST ecps);

/* fltio_more.c: synchronous operations below `issuer` (NULL: from the top of the stack) on a
 * file object's volume, for the Flt* and Zw* routines.  *iosb gets the final IoStatus. */
NTSTATUS fm__io_read_write(struct fm_instance *issuer, PFILE_OBJECT fo, bool write,
			   PLARGE_INTEGER offset, ULONG len, PVOID buf, PULONG key,
			   PIO_STATUS_BLOCK iosb);
NTSTATUS fm__io_info(struct fm_instance *issuer, PFILE_OBJECT fo, bool set, PVOID buf, ULONG len,
		     FILE_INFORMATION_CLASS cls, PIO_STATUS_BLOCK iosb);
NTSTATUS fm__io_query_dir(struct fm_instance *issuer, PFILE_OBJECT fo, PVOID buf, ULONG len,
			  FILE_INFORMATION_CLASS cls, UCHAR sl_flags, PUNICODE_STRING name,
			  PIO_STATUS_BLOCK iosb);
NTSTATUS fm__io_volume(struct fm_instance *issuer, struct fm_volume *vol, PFILE_OBJECT fo, bool set,
		       PVOID buf, ULONG len, FS_INFORMATION_CLASS cls, PIO_STATUS_BLOCK iosb);
NTSTATUS fm__io_flush(struct fm_instance *issuer, PFILE_OBJECT fo, PIO_STATUS_BLOCK iosb);
NTSTATUS fm__io_query_ea(struct fm_instance *issuer, PFILE_OBJECT fo, PVOID buf, ULONG len,
			 BOOLEAN single, PVOID list, ULONG list_len, PULONG index, BOOLEAN restart,
			 PIO_STATUS_BLOCK iosb);
NTSTATUS fm__io_set_ea(struct fm_instance *issuer, PFILE_OBJECT fo, PVOID buf, ULONG len,
		       PIO_STATUS_BLOCK iosb);
NTSTATUS fm__io_control(struct fm_instance *issuer, PFILE_OBJECT fo, UCHAR major, ULONG code,
			PVOID in, ULONG in_len, PVOID out, ULONG out_len, PIO_STATUS_BLOCK iosb);
NTSTATUS fm__io_query_security(struct fm_instance *issuer, PFILE_OBJECT fo, SECURITY_INFORMATION si,
			       PVOID sd, ULONG len, PULONG needed);
NTSTATUS fm__io_set_security(struct fm_instance *issuer, PFILE_OBJECT fo, SECURITY_INFORMATION si,
			     PSECURITY_DESCRIPTOR sd);

/* volinfo.c: INSTANCE_AGGREGATE_STANDARD_INFORMATION of an instance; a volume's device objects
 * (filled on first use); the volume a device object belongs to (a reference) or NULL. */
NTSTATUS fm__instance_info_aggregate(const struct fm_instance *in, PVOID buf, ULONG size,
				     PULONG ret);
void fm__volume_devices(struct fm_volume *v);
struct fm_volume *fm__volume_of_device(const void *d);

/* ECPs (src/core/ecp.c): is `list` an ECP list allocated here? */
bool fm__ecp_list_valid(PECP_LIST list);

/* Names: "\Device\HarddiskVolumeN" + volume-relative path of a file object. */
NTSTATUS fm__file_nt_name(PFILE_OBJECT fo, bool normalized, WCHAR **out, USHORT *out_len);

#endif
