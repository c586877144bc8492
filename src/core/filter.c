/* Filters: loading an image, DriverEntry, registration, start, unregistration and unload. */
#include "core/core_i.h"
#include "core/port.h"
#include "core/registry.h"
#include "common/alloc.h"
#include "common/log.h"
#include "common/ntname.h"
#include "common/status.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

pthread_mutex_t fm__model_lock;
struct fm_filter *fm__filters;
__thread struct fm_filter *fm__tls_filter __attribute__((tls_model("initial-exec")));

/* The filter whose DriverEntry is running: FltRegisterFilter checks its DriverObject. */
static struct fm_filter *loading_filter;

void fm__model_enter(void)
{
	pthread_mutex_lock(&fm__model_lock);
}

void fm__model_leave(void)
{
	pthread_mutex_unlock(&fm__model_lock);
}

int fm_core_init(void)
{
	static bool done;
	pthread_mutexattr_t a;

	if (done)
		return 0;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&fm__model_lock, &a);
	pthread_mutexattr_destroy(&a);
	done = true;
	return 0;
}

struct fm_filter *fm_current_filter(void)
{
	return fm__tls_filter;
}

struct fm_filter *fm_swap_current_filter(struct fm_filter *f)
{
	return fm__enter_filter(f);
}

const char *fm_filter_name(const struct fm_filter *f)
{
	return f ? f->service : NULL;
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

/* UTF-8 -> counted UTF-16 in a caller buffer; returns the length in WCHARs or -errno. */
static long to_wide(const char *s, WCHAR *out, size_t cap)
{
	return fm_name_to_nt(s, strlen(s), (uint16_t *)out, cap, 0);
}

static struct fm_filter *find_filter(const char *service)
{
	for (struct fm_filter *f = fm__filters; f; f = f->next)
		if (strcasecmp(f->service, service) == 0)
			return f;
	return NULL;
}

const FLT_OPERATION_REGISTRATION *fm__filter_op(const struct fm_filter *f, UCHAR major)
{
	for (size_t i = 0; i < f->nops; i++)
		if (f->ops[i].MajorFunction == major)
			return &f->ops[i];
	return NULL;
}

/* Read Instances\* of the service key into f->defs.  STATUS_OBJECT_NAME_NOT_FOUND when the
 * key, DefaultInstance or its Altitude is missing (R4). */
static NTSTATUS read_instance_defs(struct fm_filter *f)
{
	char path[512], def_name[128], sub[128];
	struct fm_regkey *key = NULL, *ik = NULL;
	struct fm_instance_def *defs = NULL;
	size_t n = 0;
	NTSTATUS st = STATUS_OBJECT_NAME_NOT_FOUND;
	int rc;

	snprintf(path, sizeof(path), "%s\\%s\\Instances", FM_REG_SERVICES, f->service);
	rc = fm_reg_open(path, 0, &key);
	if (rc == -ENOMEM)
		return STATUS_INSUFFICIENT_RESOURCES;
	if (rc < 0) {
		fm_log(FM_LOG_ERROR, f->service, "service key has no Instances subkey");
		return STATUS_OBJECT_NAME_NOT_FOUND;
	}
	rc = fm_reg_get_string(key, "DefaultInstance", def_name, sizeof(def_name));
	if (rc < 0) {
		/* Out of memory is not a missing value: the filter gets the real reason. */
		if (rc == -ENOMEM)
			st = STATUS_INSUFFICIENT_RESOURCES;
		else
			fm_log(FM_LOG_ERROR, f->service, "Instances has no DefaultInstance value");
		goto out;
	}
	for (unsigned int i = 0; (rc = fm_reg_enum_key(key, i, sub, sizeof(sub))) == 0; i++) {
		struct fm_instance_def *d, *grown;
		char alt[FM_ALTITUDE_MAX];
		uint32_t flags = 0;

		rc = fm_reg_open_sub(key, sub, 0, &ik);
		if (rc == -ENOMEM)
			break;
		if (rc < 0)
			continue;
		rc = fm_reg_get_string(ik, "Altitude", alt, sizeof(alt));
		if (rc == 0) {
			rc = fm_reg_get_dword(ik, "Flags", &flags);
			if (rc != -ENOMEM)
				rc = 0;
		}
		fm_reg_close(ik);
		if (rc == -ENOMEM)
			break;
		if (rc < 0) {
			fm_log(FM_LOG_WARN, f->service, "instance '%s' has no Altitude; ignored",
			       sub);
			continue;
		}
		grown = fm_realloc(defs, (n + 1) * sizeof(*defs));
		if (!grown) {
			st = STATUS_INSUFFICIENT_RESOURCES;
			goto out;
		}
		defs = grown;
		d = &defs[n];
		memset(d, 0, sizeof(*d));
		snprintf(d->name, sizeof(d->name), "%s", sub);
		if (fm__altitude_normalize(alt, d->altitude, sizeof(d->altitude)) < 0) {
			fm_log(FM_LOG_WARN, f->service,
			       "instance '%s' has an invalid altitude '%s'; ignored", sub, alt);
			continue;
		}
		d->flags = flags;
		n++;
	}
	if (rc == -ENOMEM) {
		st = STATUS_INSUFFICIENT_RESOURCES;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(defs[i].name, def_name) == 0) {
			f->default_def = i;
			f->defs = defs;
			f->ndefs = n;
			snprintf(f->altitude, sizeof(f->altitude), "%s", defs[i].altitude);
			defs = NULL;
			st = STATUS_SUCCESS;
			goto out;
		}
	}
	fm_log(FM_LOG_ERROR, f->service, "DefaultInstance '%s' is not defined under Instances",
	       def_name);
out:
	fm_free(defs);
	fm_reg_close(key);
	return st;
}

static bool valid_major(UCHAR m)
{
	/* Real IRP codes, and the pseudo codes the WDK defines for fast I/O and FsFilter callbacks. */
	if (m <= IRP_MJ_MAXIMUM_FUNCTION)
		return true;
	/* -7 is IRP_MJ_QUERY_OPEN; -8 to -12 are not defined. */
	return m >= (UCHAR)-20 && m != (UCHAR)-8 && m != (UCHAR)-9 && m != (UCHAR)-10 &&
	       m != (UCHAR)-11 && m != (UCHAR)-12;
}

static NTSTATUS validate_registration(const FLT_REGISTRATION *r, size_t *nops)
{
	size_t n = 0;

	if (r->Size != sizeof(FLT_REGISTRATION)) {
		fm_log(FM_LOG_ERROR, fm_filter_name(fm__tls_filter),
		       "FltRegisterFilter: Size is %u, expected %zu", r->Size,
		       sizeof(FLT_REGISTRATION));
		return STATUS_INVALID_PARAMETER;
	}
	/* Minor revisions of version 2 register; another major version does not (R4). */
	if ((r->Version & 0xff00) != 0x0200 || r->Version > 0x0203) {
		fm_log(FM_LOG_ERROR, fm_filter_name(fm__tls_filter),
		       "FltRegisterFilter: unsupported Version 0x%04x", r->Version);
		return STATUS_INVALID_PARAMETER;
	}
	if (r->OperationRegistration) {
		for (const FLT_OPERATION_REGISTRATION *o = r->OperationRegistration;
		     o->MajorFunction != IRP_MJ_OPERATION_END; o++, n++) {
			if (n >= 512 || !valid_major(o->MajorFunction) ||
			    o->MajorFunction == IRP_MJ_POWER ||
			    o->MajorFunction == IRP_MJ_DEVICE_CHANGE || o->Reserved1 != NULL ||
			    (o->MajorFunction == IRP_MJ_SHUTDOWN && o->PostOperation)) {
				fm_log(FM_LOG_ERROR, fm_filter_name(fm__tls_filter),
				       "FltRegisterFilter: invalid operation registration #%zu "
				       "(major 0x%02x)",
				       n, o->MajorFunction);
				return STATUS_INVALID_PARAMETER;
			}
		}
	}
	if (r->ContextRegistration) {
		size_t k = 0;
		for (const FLT_CONTEXT_REGISTRATION *c = r->ContextRegistration;
		     c->ContextType != FLT_CONTEXT_END; c++, k++) {
			USHORT t = c->ContextType;
			if (k >= 64 || (t != FLT_VOLUME_CONTEXT && t != FLT_INSTANCE_CONTEXT &&
					t != FLT_FILE_CONTEXT && t != FLT_STREAM_CONTEXT &&
					t != FLT_STREAMHANDLE_CONTEXT &&
					t != FLT_TRANSACTION_CONTEXT && t != FLT_SECTION_CONTEXT)) {
				fm_log(FM_LOG_ERROR, fm_filter_name(fm__tls_filter),
				       "FltRegisterFilter: invalid context registration #%zu", k);
				return STATUS_INVALID_PARAMETER;
			}
		}
	}
	*nops = n;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltRegisterFilter(PDRIVER_OBJECT Driver, const FLT_REGISTRATION *Registration,
				  PFLT_FILTER *RetFilter)
{
	struct fm_filter *f;
	size_t nops = 0;
	NTSTATUS st;

	if (!Driver || !Registration || !RetFilter)
		return STATUS_INVALID_PARAMETER;
	*RetFilter = NULL;
	fm__model_enter();
	f = loading_filter;
	/* A driver registers only itself, from its own DriverEntry (R3). */
	if (!f || Driver != &f->driver) {
		fm__model_leave();
		fm_log(FM_LOG_ERROR, fm_filter_name(fm__tls_filter),
		       "FltRegisterFilter: DriverObject is not the one DriverEntry received");
		return STATUS_INVALID_PARAMETER;
	}
	if (f->registered) {
		fm__model_leave();
		return STATUS_FLT_INSTANCE_NAME_COLLISION;
	}
	st = validate_registration(Registration, &nops);
	if (!NT_SUCCESS(st))
		goto out;
	st = read_instance_defs(f);
	if (!NT_SUCCESS(st))
		goto out;
	f->ops = fm_calloc(nops + 1, sizeof(*f->ops));
	if (!f->ops) {
		st = STATUS_INSUFFICIENT_RESOURCES;
		goto out_defs;
	}
	if (nops)
		memcpy(f->ops, Registration->OperationRegistration, nops * sizeof(*f->ops));
	f->ops[nops].MajorFunction = IRP_MJ_OPERATION_END;
	f->nops = nops;
	st = fm__contexts_register(f, Registration->ContextRegistration);
	if (!NT_SUCCESS(st)) {
		fm_free(f->ops);
		f->ops = NULL;
		goto out_defs;
	}
	f->reg = *Registration;
	f->registered = true;
	f->state = FM_FILTER_REGISTERED;
	atomic_store(&f->refs, 1);
	*RetFilter = f;
	fm__model_leave();
	fm_log(FM_LOG_INFO, f->service, "registered (%zu operations, altitude %s)", nops,
	       f->altitude);
	return STATUS_SUCCESS;
out_defs:
	fm_free(f->defs);
	f->defs = NULL;
	f->ndefs = 0;
out:
	fm__model_leave();
	return st;
}

NTSTATUS FLTAPI FltStartFiltering(PFLT_FILTER Filter)
{
	struct fm_filter *f = Filter;

	if (!f)
		return STATUS_INVALID_PARAMETER;
	fm__model_enter();
	if (!f->registered || f->state != FM_FILTER_REGISTERED) {
		fm__model_leave();
		fm_verifier_misuse(f, "FltStartFiltering called %s",
				   f->state == FM_FILTER_FILTERING ? "twice"
								   : "on an unregistered filter");
		return STATUS_INVALID_PARAMETER;
	}
	f->state = FM_FILTER_FILTERING;
	for (struct fm_volume *v = fm__volumes; v; v = v->next)
		if (!v->dismounting)
			fm__volume_auto_attach(v, f, 0);
	fm__model_leave();
	return STATUS_SUCCESS;
}

/* Wait until only `base` references remain on the filter, logging who is slow. */
static void wait_filter_rundown(struct fm_filter *f, long base)
{
	struct timespec ts = {0, 1000000};
	unsigned int waited_ms = 0;

	while (atomic_load(&f->refs) > base) {
		nanosleep(&ts, NULL);
		if (++waited_ms % 5000 == 0)
			fm_log(FM_LOG_WARN, f->service,
			       "unregister still waiting for %ld reference(s) after %u s",
			       atomic_load(&f->refs) - base, waited_ms / 1000);
	}
}

static void unregister_locked(struct fm_filter *f, ULONG reason)
{
	struct fm_volume *v;

	if (!f->registered)
		return;
	f->unloading = true;
	/* ports (src/core/port.c): stop listening, disconnect clients (DisconnectNotify). */
	fm__ports_filter_close(f);
	for (v = fm__volumes; v; v = v->next) {
		struct fm_instance *i, *next;
		for (i = v->instances; i; i = next) {
			next = i->next_on_volume;
			if (i->filter == f)
				fm__instance_teardown(i, reason);
		}
	}
	fm__contexts_unregister(f);
	f->registered = false;
	f->state = FM_FILTER_UNREGISTERED;
}

VOID FLTAPI FltUnregisterFilter(PFLT_FILTER Filter)
{
	struct fm_filter *f = Filter;

	if (!f)
		return;
	fm__model_enter();
	unregister_locked(f, FLTFL_INSTANCE_TEARDOWN_FILTER_UNLOAD);
	fm__model_leave();
	/* Callbacks of this filter still running on other threads hold references. */
	wait_filter_rundown(f, 1);
}

static void filter_free(struct fm_filter *f)
{
	fm__contexts_filter_free(f);
	if (f->image)
		dlclose(f->image);
	fm_free(f->ops);
	fm_free(f->defs);
	fm_free(f);
}

static void unlink_filter(struct fm_filter *f)
{
	for (struct fm_filter **pp = &fm__filters; *pp; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			return;
		}
	}
}

static NTSTATUS open_image(struct fm_filter *f, char *msg, size_t cap)
{
	char path[4096], key[512];
	struct fm_regkey *k;
	struct stat sb;
	int fd;
	unsigned char magic[4];
	ssize_t got;

	snprintf(key, sizeof(key), "%s\\%s", FM_REG_SERVICES, f->service);
	if (fm_reg_open(key, 0, &k) < 0) {
		set_msg(msg, cap, "no service '%s' is registered", f->service);
		return STATUS_OBJECT_NAME_NOT_FOUND;
	}
	if (fm_reg_get_string(k, "ImagePath", path, sizeof(path)) < 0) {
		fm_reg_close(k);
		set_msg(msg, cap, "service '%s' has no ImagePath", f->service);
		return STATUS_OBJECT_NAME_NOT_FOUND;
	}
	fm_reg_close(k);
	if (stat(path, &sb) < 0) {
		set_msg(msg, cap, "image '%s': %s", path, strerror(errno));
		return STATUS_OBJECT_NAME_NOT_FOUND;
	}
	/* Check the ELF magic ourselves: dlopen of arbitrary files gives vague errors. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	got = fd >= 0 ? read(fd, magic, sizeof(magic)) : -1;
	if (fd >= 0)
		close(fd);
	if (!S_ISREG(sb.st_mode) || got != 4 || memcmp(magic, "\177ELF", 4) != 0) {
		set_msg(msg, cap, "image '%s' is not a shared object", path);
		return STATUS_INVALID_IMAGE_FORMAT;
	}
	f->image = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!f->image) {
		set_msg(msg, cap, "image '%s' cannot be loaded: %s", path, dlerror());
		return STATUS_INVALID_IMAGE_FORMAT;
	}
	for (struct fm_filter *o = fm__filters; o; o = o->next) {
		if (o != f && o->image == f->image) {
			dlclose(f->image);
			f->image = NULL;
			set_msg(msg, cap, "image '%s' is already loaded as service '%s'", path,
				o->service);
			return STATUS_IMAGE_ALREADY_LOADED;
		}
	}
	return STATUS_SUCCESS;
}

static void init_driver_object(struct fm_filter *f)
{
	static const WCHAR fs_prefix[] = u"\\FileSystem\\";
	static const WCHAR reg_prefix[] =
	    u"\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\";
	size_t plen = sizeof(fs_prefix) / sizeof(WCHAR) - 1;
	size_t rlen = sizeof(reg_prefix) / sizeof(WCHAR) - 1;
	long n;

	memset(&f->driver, 0, sizeof(f->driver));
	memset(&f->driver_ext, 0, sizeof(f->driver_ext));
	f->driver.Type = 4; /* IO_TYPE_DRIVER */
	f->driver.Size = sizeof(DRIVER_OBJECT);
	f->driver.DriverExtension = &f->driver_ext;
	f->driver_ext.DriverObject = &f->driver;

	memcpy(f->driver_name_buf, fs_prefix, plen * sizeof(WCHAR));
	n = to_wide(f->service, f->driver_name_buf + plen,
		    sizeof(f->driver_name_buf) / sizeof(WCHAR) - plen);
	if (n < 0)
		n = 0;
	f->driver.DriverName.Buffer = f->driver_name_buf;
	f->driver.DriverName.Length = (USHORT)((plen + (size_t)n) * sizeof(WCHAR));
	f->driver.DriverName.MaximumLength = f->driver.DriverName.Length;

	n = to_wide(f->service, f->service_key_buf, sizeof(f->service_key_buf) / sizeof(WCHAR));
	if (n < 0)
		n = 0;
	f->driver_ext.ServiceKeyName.Buffer = f->service_key_buf;
	f->driver_ext.ServiceKeyName.Length = (USHORT)((size_t)n * sizeof(WCHAR));
	f->driver_ext.ServiceKeyName.MaximumLength = f->driver_ext.ServiceKeyName.Length;

	memcpy(f->registry_path_buf, reg_prefix, rlen * sizeof(WCHAR));
	memcpy(f->registry_path_buf + rlen, f->service_key_buf, (size_t)n * sizeof(WCHAR));
	f->registry_path_buf[rlen + (size_t)n] = 0;
	f->registry_path.Buffer = f->registry_path_buf;
	f->registry_path.Length = (USHORT)((rlen + (size_t)n) * sizeof(WCHAR));
	f->registry_path.MaximumLength = (USHORT)(f->registry_path.Length + sizeof(WCHAR));
}

/* The Verifier value (REG_DWORD, nonzero = on) under the service key. */
static void read_verifier_setting(struct fm_filter *f)
{
	char key[512];
	struct fm_regkey *k;
	uint32_t v = 0;

	snprintf(key, sizeof(key), "%s\\%s", FM_REG_SERVICES, f->service);
	if (fm_reg_open(key, 0, &k) == 0) {
		(void)fm_reg_get_dword(k, "Verifier", &v);
		fm_reg_close(k);
	}
	f->verifier = v != 0;
	if (f->verifier)
		fm_log(FM_LOG_INFO, f->service, "verifier on");
}

/* Load `service`: from its ImagePath when entry is NULL, else with a built-in entry point. */
static NTSTATUS load(const char *service, PDRIVER_INITIALIZE entry, char *msg, size_t msg_cap)
{
	struct fm_filter *f, *prev_tls;
	NTSTATUS st;
	KIRQL irql;

	set_msg(msg, msg_cap, "ok");
	if (!service || !*service || strlen(service) >= sizeof(f->service) ||
	    strpbrk(service, "\\/")) {
		set_msg(msg, msg_cap, "invalid service name");
		return STATUS_OBJECT_NAME_INVALID;
	}
	fm__model_enter();
	if (find_filter(service)) {
		fm__model_leave();
		set_msg(msg, msg_cap, "service '%s' is already loaded", service);
		return STATUS_IMAGE_ALREADY_LOADED;
	}
	f = fm_calloc(1, sizeof(*f));
	if (!f) {
		fm__model_leave();
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	f->magic = FM_MAGIC_FILTER;
	snprintf(f->service, sizeof(f->service), "%s", service);
	f->state = FM_FILTER_LOADING;
	if (!entry) {
		st = open_image(f, msg, msg_cap);
		if (!NT_SUCCESS(st))
			goto fail;
		entry = (PDRIVER_INITIALIZE)dlsym(f->image, "DriverEntry");
		if (!entry) {
			set_msg(msg, msg_cap, "image of '%s' exports no DriverEntry", service);
			st = STATUS_PROCEDURE_NOT_FOUND;
			goto fail;
		}
	}
	read_verifier_setting(f);
	init_driver_object(f);
	f->driver.DriverInit = entry;
	f->next = fm__filters;
	fm__filters = f;
	loading_filter = f;

	/* DriverEntry runs at PASSIVE_LEVEL in this (system) thread, with the filter as the
	 * current one so its DbgPrint output is tagged. */
	irql = KeGetCurrentIrql();
	prev_tls = fm__enter_filter(f);
	st = entry(&f->driver, &f->registry_path);
	fm__leave_filter(prev_tls);
	loading_filter = NULL;
	if (KeGetCurrentIrql() != irql) {
		fm_log(FM_LOG_ERROR, f->service, "DriverEntry returned at IRQL %u (entered at %u)",
		       KeGetCurrentIrql(), irql);
		KeLowerIrql(irql);
	}
	if (!NT_SUCCESS(st)) {
		/* R15: no unload callback; whatever it left registered is cleaned up and named. */
		if (f->registered) {
			fm_log(FM_LOG_ERROR, f->service,
			       "DriverEntry failed (0x%08X) but left its filter registered; "
			       "unregistering it",
			       (unsigned int)st);
			unregister_locked(f, FLTFL_INSTANCE_TEARDOWN_FILTER_UNLOAD |
						 FLTFL_INSTANCE_TEARDOWN_MANDATORY_FILTER_UNLOAD);
		}
		unlink_filter(f);
		fm__model_leave();
		wait_filter_rundown(f, atomic_load(&f->refs) > 0 ? 1 : 0);
		set_msg(msg, msg_cap, "DriverEntry of '%s' failed with %s (0x%08X)", service,
			fm_status_name(st) ? fm_status_name(st) : "an error", (unsigned int)st);
		fm_log(FM_LOG_WARN, service, "DriverEntry failed with 0x%08X; image unloaded",
		       (unsigned int)st);
		fm__verifier_unload(f);
		filter_free(f);
		return st;
	}
	fm__model_leave();
	fm_log(FM_LOG_INFO, service, "loaded (DriverEntry returned 0x%08X)", (unsigned int)st);
	return STATUS_SUCCESS;
fail:
	fm__model_leave();
	fm_log(FM_LOG_WARN, service, "load failed: %s", msg ? msg : "");
	filter_free(f);
	return st;
}

NTSTATUS fm_filter_load(const char *service, char *msg, size_t msg_cap)
{
	return load(service, NULL, msg, msg_cap);
}

NTSTATUS fm_filter_load_builtin(const char *service, PDRIVER_INITIALIZE entry, char *msg,
				size_t msg_cap)
{
	if (!entry)
		return STATUS_INVALID_PARAMETER;
	return load(service, entry, msg, msg_cap);
}

NTSTATUS fm_filter_unload(const char *service, bool mandatory, char *msg, size_t msg_cap)
{
	struct fm_filter *f, *prev_tls;
	PFLT_FILTER_UNLOAD_CALLBACK cb;
	NTSTATUS st;

	set_msg(msg, msg_cap, "ok");
	fm__model_enter();
	f = service ? find_filter(service) : NULL;
	if (!f || f->unloading) {
		fm__model_leave();
		set_msg(msg, msg_cap, "service '%s' is not loaded", service ? service : "");
		return STATUS_OBJECT_NAME_NOT_FOUND;
	}
	cb = f->reg.FilterUnloadCallback;
	/* R12/R76: no callback means never unloadable; a filter may refuse service stops. */
	if (!cb) {
		fm__model_leave();
		set_msg(msg, msg_cap, "'%s' has no unload routine and cannot be unloaded", service);
		return STATUS_FLT_DO_NOT_DETACH;
	}
	if (mandatory && (f->reg.Flags & FLTFL_REGISTRATION_DO_NOT_SUPPORT_SERVICE_STOP)) {
		fm__model_leave();
		set_msg(msg, msg_cap, "'%s' does not support being stopped", service);
		return STATUS_FLT_DO_NOT_DETACH;
	}
	f->unloading = true;
	prev_tls = fm__enter_filter(f);
	st = cb(mandatory ? FLTFL_FILTER_UNLOAD_MANDATORY : 0);
	fm__leave_filter(prev_tls);
	if (!NT_SUCCESS(st) && !mandatory) {
		f->unloading = false;
		fm__model_leave();
		set_msg(msg, msg_cap, "'%s' refused to unload: %s (0x%08X)", service,
			fm_status_name(st) ? fm_status_name(st) : "error", (unsigned int)st);
		return st;
	}
	if (f->registered) {
		fm_log(FM_LOG_ERROR, f->service,
		       "unload routine returned without FltUnregisterFilter; unregistering");
		unregister_locked(f, FLTFL_INSTANCE_TEARDOWN_FILTER_UNLOAD);
		fm__model_leave();
		wait_filter_rundown(f, 1);
		fm__model_enter();
	}
	unlink_filter(f);
	fm__model_leave();
	fm__verifier_unload(f);
	fm_log(FM_LOG_INFO, service, "unloaded");
	filter_free(f);
	return STATUS_SUCCESS;
}

void fm_core_shutdown(void)
{
	for (;;) {
		char name[128];
		struct fm_filter *f;

		fm__model_enter();
		f = fm__filters;
		if (f)
			snprintf(name, sizeof(name), "%s", f->service);
		fm__model_leave();
		if (!f)
			break;
		if (!NT_SUCCESS(fm_filter_unload(name, true, NULL, 0))) {
			/* Refused even a mandatory unload: detach it anyway and drop it. */
			fm__model_enter();
			f = find_filter(name);
			if (f) {
				unregister_locked(
				    f, FLTFL_INSTANCE_TEARDOWN_FILTER_UNLOAD |
					   FLTFL_INSTANCE_TEARDOWN_MANDATORY_FILTER_UNLOAD);
				unlink_filter(f);
			}
			fm__model_leave();
			if (f) {
				fm_log(FM_LOG_WARN, name,
				       "dropped at shutdown without its consent");
				/* Its image stays mapped: code of it may still be referenced. */
				f->image = NULL;
				filter_free(f);
			}
		}
	}
}

int fm_list_filters(struct fm_filter_info **out, size_t *n)
{
	size_t cnt = 0, i = 0;
	struct fm_filter_info *a;

	fm__model_enter();
	for (struct fm_filter *f = fm__filters; f; f = f->next)
		cnt++;
	a = calloc(cnt ? cnt : 1, sizeof(*a));
	if (!a) {
		fm__model_leave();
		return -ENOMEM;
	}
	for (struct fm_filter *f = fm__filters; f; f = f->next, i++) {
		fm__copy_str(a[i].name, sizeof(a[i].name), f->service);
		fm__copy_str(a[i].altitude, sizeof(a[i].altitude), f->altitude);
		for (struct fm_volume *v = fm__volumes; v; v = v->next)
			for (struct fm_instance *in = v->instances; in; in = in->next_on_volume)
				if (in->filter == f)
					a[i].num_instances++;
	}
	fm__model_leave();
	*out = a;
	*n = cnt;
	return 0;
}
