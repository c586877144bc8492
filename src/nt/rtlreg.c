/* RtlQueryRegistryValues and the small Rtl*Registry* helpers, over the Zw registry calls. */
#include <wdm.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

#define RR_TAG 'gRmF'
/* Strings handed to the caller are released with RtlFreeUnicodeString, which expects this tag. */
#define RR_STRING_TAG 'grtS'

static const WCHAR *const bases[] = {
    u"",
    u"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\",
    u"\\Registry\\Machine\\System\\CurrentControlSet\\Control\\",
    u"\\Registry\\Machine\\Software\\Microsoft\\Windows NT\\CurrentVersion\\",
    u"\\Registry\\Machine\\Hardware\\DeviceMap\\",
    u"\\Registry\\User\\.Default\\",
};

static size_t wlen(const WCHAR *s)
{
	size_t n = 0;

	while (s && s[n])
		n++;
	return n;
}

/* Open the key RelativeTo/Path names; *owned says whether the caller must close it. */
static NTSTATUS open_base(ULONG relative_to, PCWSTR path, bool create, HANDLE *key, bool *owned)
{
	ULONG base = relative_to & ~(ULONG)(RTL_REGISTRY_OPTIONAL | RTL_REGISTRY_HANDLE);
	OBJECT_ATTRIBUTES oa;
	UNICODE_STRING name;
	size_t bl, pl;
	WCHAR *full;
	NTSTATUS st;

	*owned = false;
	if (relative_to & RTL_REGISTRY_HANDLE) {
		*key = (HANDLE)path;
		return STATUS_SUCCESS;
	}
	if (base >= RTL_REGISTRY_MAXIMUM || !path)
		return STATUS_INVALID_PARAMETER;
	bl = wlen(bases[base]);
	pl = wlen(path);
	if ((bl + pl) * sizeof(WCHAR) > 0xfff0)
		return STATUS_NAME_TOO_LONG;
	full = fm_malloc((bl + pl + 1) * sizeof(WCHAR));
	if (!full)
		return STATUS_INSUFFICIENT_RESOURCES;
	memcpy(full, bases[base], bl * sizeof(WCHAR));
	memcpy(full + bl, path, pl * sizeof(WCHAR));
	full[bl + pl] = 0;
	name.Buffer = full;
	name.Length = (USHORT)((bl + pl) * sizeof(WCHAR));
	name.MaximumLength = name.Length + sizeof(WCHAR);
	InitializeObjectAttributes(&oa, &name, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL,
				   NULL);
	st = create ? ZwCreateKey(key, KEY_ALL_ACCESS, &oa, 0, NULL, 0, NULL)
		    : ZwOpenKey(key, KEY_READ | KEY_WRITE, &oa);
	fm_free(full);
	*owned = NT_SUCCESS(st);
	return st;
}

static NTSTATUS open_sub(HANDLE parent, PWSTR name, HANDLE *out)
{
	OBJECT_ATTRIBUTES oa;
	UNICODE_STRING u;

	RtlInitUnicodeString(&u, name);
	InitializeObjectAttributes(&oa, &u, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, parent, NULL);
	return ZwOpenKey(out, KEY_READ | KEY_WRITE, &oa);
}

/* Store a value the way RTL_QUERY_REGISTRY_DIRECT asks. */
static NTSTATUS store_direct(PVOID ctx, ULONG type, const void *data, ULONG len)
{
	if (type == REG_SZ || type == REG_EXPAND_SZ || type == REG_MULTI_SZ) {
		PUNICODE_STRING u = ctx;
		ULONG bytes = len;

		/* A string's counted length excludes its terminator. */
		if (type != REG_MULTI_SZ && bytes >= sizeof(WCHAR) &&
		    ((const WCHAR *)data)[bytes / sizeof(WCHAR) - 1] == 0)
			bytes -= sizeof(WCHAR);
		if (!u->Buffer) {
			u->Buffer =
			    ExAllocatePoolWithTag(PagedPool, bytes + sizeof(WCHAR), RR_STRING_TAG);
			if (!u->Buffer)
				return STATUS_INSUFFICIENT_RESOURCES;
			u->MaximumLength = (USHORT)(bytes + sizeof(WCHAR));
		} else if (u->MaximumLength < bytes) {
			return STATUS_BUFFER_TOO_SMALL;
		}
		memcpy(u->Buffer, data, bytes);
		u->Length = (USHORT)bytes;
		if (u->MaximumLength >= bytes + sizeof(WCHAR))
			u->Buffer[bytes / sizeof(WCHAR)] = 0;
		return STATUS_SUCCESS;
	}
	if (len <= sizeof(ULONG)) {
		memcpy(ctx, data, len);
		return STATUS_SUCCESS;
	}
	/* Larger non-string data: the buffer's first LONG holds minus its size. */
	if (*(LONG *)ctx >= 0 || (ULONG)(-*(LONG *)ctx) < len)
		return STATUS_BUFFER_TOO_SMALL;
	memcpy(ctx, data, len);
	return STATUS_SUCCESS;
}

/* Deliver one value to an entry: direct store or the query routine (MULTI_SZ split). */
static NTSTATUS deliver(PRTL_QUERY_REGISTRY_TABLE e, PWSTR name, ULONG type, PVOID data, ULONG len,
			PVOID context)
{
	if ((e->Flags & RTL_QUERY_REGISTRY_TYPECHECK) &&
	    ((e->Flags >> RTL_QUERY_REGISTRY_TYPECHECK_SHIFT) & 0xff) != type)
		return STATUS_OBJECT_TYPE_MISMATCH;
	if (e->Flags & RTL_QUERY_REGISTRY_DIRECT)
		return store_direct(e->EntryContext, type, data, len);
	if (!e->QueryRoutine)
		return STATUS_INVALID_PARAMETER;
	if (type == REG_MULTI_SZ && !(e->Flags & RTL_QUERY_REGISTRY_NOEXPAND)) {
		WCHAR *p = data, *end = (WCHAR *)((char *)data + len);
		NTSTATUS st = STATUS_SUCCESS;

		while (p < end && *p && NT_SUCCESS(st)) {
			size_t n = wlen(p);
			st = e->QueryRoutine(name, REG_SZ, p, (ULONG)((n + 1) * sizeof(WCHAR)),
					     context, e->EntryContext);
			p += n + 1;
		}
		return st;
	}
	if (type == REG_EXPAND_SZ && !(e->Flags & RTL_QUERY_REGISTRY_NOEXPAND))
		type = REG_SZ; /* there are no environment variables to expand here */
	return e->QueryRoutine(name, type, data, len, context, e->EntryContext);
}

/* Query one named value of key into a pool buffer (*info, free with ExFreePool). */
static NTSTATUS query(HANDLE key, PWSTR name, PKEY_VALUE_PARTIAL_INFORMATION *info)
{
	UNICODE_STRING u;
	ULONG need = 0;
	NTSTATUS st;

	RtlInitUnicodeString(&u, name);
	st = ZwQueryValueKey(key, &u, KeyValuePartialInformation, NULL, 0, &need);
	if (st != STATUS_BUFFER_TOO_SMALL && st != STATUS_BUFFER_OVERFLOW)
		return st;
	*info = ExAllocatePoolWithTag(PagedPool, need, RR_TAG);
	if (!*info)
		return STATUS_INSUFFICIENT_RESOURCES;
	st = ZwQueryValueKey(key, &u, KeyValuePartialInformation, *info, need, &need);
	if (!NT_SUCCESS(st)) {
		ExFreePoolWithTag(*info, RR_TAG);
		*info = NULL;
	}
	return st;
}

/* An entry without a name: every value of the key goes to its routine. */
static NTSTATUS all_values(HANDLE key, PRTL_QUERY_REGISTRY_TABLE e, PVOID context)
{
	UCHAR stack[512];
	PKEY_VALUE_FULL_INFORMATION v = (PKEY_VALUE_FULL_INFORMATION)stack;
	NTSTATUS st = STATUS_SUCCESS;

	for (ULONG i = 0;; i++) {
		ULONG need = 0;
		WCHAR name[256];

		st = ZwEnumerateValueKey(key, i, KeyValueFullInformation, v, sizeof(stack), &need);
		if (st == STATUS_NO_MORE_ENTRIES)
			return STATUS_SUCCESS;
		if (!NT_SUCCESS(st) || v->NameLength >= sizeof(name))
			return NT_SUCCESS(st) ? STATUS_BUFFER_OVERFLOW : st;
		memcpy(name, v->Name, v->NameLength);
		name[v->NameLength / sizeof(WCHAR)] = 0;
		if (e->Flags & RTL_QUERY_REGISTRY_NOVALUE)
			st = e->QueryRoutine(name, REG_NONE, NULL, 0, context, e->EntryContext);
		else
			st = deliver(e, name, v->Type, (PUCHAR)v + v->DataOffset, v->DataLength,
				     context);
		if (!NT_SUCCESS(st))
			return st;
	}
}

NTSTATUS NTAPI RtlQueryRegistryValues(ULONG RelativeTo, PCWSTR Path,
				      PRTL_QUERY_REGISTRY_TABLE QueryTable, PVOID Context,
				      PVOID Environment)
{
	HANDLE base, cur, sub = NULL;
	bool owned;
	NTSTATUS st;

	(void)Environment;
	if (!QueryTable)
		return STATUS_INVALID_PARAMETER;
	st = open_base(RelativeTo, Path, false, &base, &owned);
	if (!NT_SUCCESS(st))
		return st;
	cur = base;
	for (PRTL_QUERY_REGISTRY_TABLE e = QueryTable; e->QueryRoutine || e->Name; e++) {
		if (e->Flags & (RTL_QUERY_REGISTRY_SUBKEY | RTL_QUERY_REGISTRY_TOPKEY)) {
			if (sub) {
				ZwClose(sub);
				sub = NULL;
			}
			cur = base;
			if (e->Flags & RTL_QUERY_REGISTRY_SUBKEY) {
				st = open_sub(base, e->Name, &sub);
				if (!NT_SUCCESS(st))
					break;
				cur = sub;
			}
			if (!e->QueryRoutine)
				continue;
			if (e->Flags & RTL_QUERY_REGISTRY_SUBKEY) {
				/* A subkey entry with a routine: every value of the subkey. */
				st = all_values(cur, e, Context);
				if (!NT_SUCCESS(st))
					break;
				continue;
			}
		}
		if (!e->Name) {
			st = all_values(cur, e, Context);
		} else {
			PKEY_VALUE_PARTIAL_INFORMATION info = NULL;

			st = query(cur, e->Name, &info);
			if (NT_SUCCESS(st)) {
				st = deliver(e, e->Name, info->Type, info->Data, info->DataLength,
					     Context);
				ExFreePoolWithTag(info, RR_TAG);
				if (NT_SUCCESS(st) && (e->Flags & RTL_QUERY_REGISTRY_DELETE)) {
					UNICODE_STRING u;
					RtlInitUnicodeString(&u, e->Name);
					(void)ZwDeleteValueKey(cur, &u);
				}
			} else if (st == STATUS_OBJECT_NAME_NOT_FOUND) {
				if (e->Flags & RTL_QUERY_REGISTRY_REQUIRED)
					break;
				st = STATUS_SUCCESS;
				if (e->DefaultType != REG_NONE) {
					ULONG dl = e->DefaultLength;
					if (!dl && (e->DefaultType == REG_SZ ||
						    e->DefaultType == REG_EXPAND_SZ))
						dl = (ULONG)((wlen(e->DefaultData) + 1) *
							     sizeof(WCHAR));
					st = deliver(e, e->Name, e->DefaultType, e->DefaultData, dl,
						     Context);
				}
			}
		}
		if (!NT_SUCCESS(st))
			break;
	}
	if (sub)
		ZwClose(sub);
	if (owned)
		ZwClose(base);
	return st;
}

NTSTATUS NTAPI RtlCheckRegistryKey(ULONG RelativeTo, PWSTR Path)
{
	HANDLE key;
	bool owned;
	NTSTATUS st = open_base(RelativeTo, Path, false, &key, &owned);

	if (NT_SUCCESS(st) && owned)
		ZwClose(key);
	return st;
}

NTSTATUS NTAPI RtlWriteRegistryValue(ULONG RelativeTo, PCWSTR Path, PCWSTR ValueName,
				     ULONG ValueType, PVOID ValueData, ULONG ValueLength)
{
	UNICODE_STRING u;
	HANDLE key;
	bool owned;
	NTSTATUS st = open_base(RelativeTo, Path, true, &key, &owned);

	if (!NT_SUCCESS(st))
		return st;
	RtlInitUnicodeString(&u, ValueName);
	st = ZwSetValueKey(key, &u, 0, ValueType, ValueData, ValueLength);
	if (owned)
		ZwClose(key);
	return st;
}

NTSTATUS NTAPI RtlDeleteRegistryValue(ULONG RelativeTo, PCWSTR Path, PCWSTR ValueName)
{
	UNICODE_STRING u;
	HANDLE key;
	bool owned;
	NTSTATUS st = open_base(RelativeTo, Path, false, &key, &owned);

	if (!NT_SUCCESS(st))
		return st;
	RtlInitUnicodeString(&u, ValueName);
	st = ZwDeleteValueKey(key, &u);
	if (owned)
		ZwClose(key);
	return st;
}
