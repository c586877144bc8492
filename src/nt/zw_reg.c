/* Zw registry routines over the service registry (src/core/registry.h), with key handles. */
#include "nt/ke.h"

#include <ntifs.h>

#include <errno.h>
#include <string.h>

#include "common/alloc.h"
#include "core/registry.h"
#include "nt/handle.h"

#define NAME_MAX_UTF8 1024

static NTSTATUS status_of(int rc)
{
	switch (rc) {
	case 0:
		return STATUS_SUCCESS;
	case -ENOENT:
		return STATUS_OBJECT_NAME_NOT_FOUND;
	case -EEXIST:
		return STATUS_OBJECT_NAME_COLLISION;
	case -EINVAL:
		return STATUS_OBJECT_NAME_INVALID;
	case -ENOMEM:
		return STATUS_INSUFFICIENT_RESOURCES;
	case -ENOSPC:
		return STATUS_BUFFER_TOO_SMALL;
	default:
		return STATUS_UNSUCCESSFUL;
	}
}

/* UTF-16 counted string -> UTF-8 C string; -EINVAL if it does not fit or holds a NUL. */
static int to_utf8(PCUNICODE_STRING s, char *out, size_t cap)
{
	ULONG n = 0;

	if (!s || !s->Buffer || s->Length == 0) {
		out[0] = 0;
		return 0;
	}
	for (USHORT i = 0; i < s->Length / sizeof(WCHAR); i++)
		if (s->Buffer[i] == 0)
			return -EINVAL;
	if (RtlUnicodeToUTF8N(out, (ULONG)cap - 1, &n, s->Buffer, s->Length) != STATUS_SUCCESS)
		return -EINVAL;
	out[n] = 0;
	return 0;
}

/* UTF-8 -> UTF-16 bytes needed / written (up to cap bytes). */
static ULONG utf16_size(const char *s)
{
	ULONG n = 0;

	RtlUTF8ToUnicodeN(NULL, 0, &n, s, (ULONG)strlen(s));
	return n;
}

static void key_close(void *o)
{
	fm_reg_close(o);
}

static NTSTATUS open_key(PHANDLE KeyHandle, POBJECT_ATTRIBUTES oa, int create, PULONG disp)
{
	char path[NAME_MAX_UTF8];
	struct fm_regkey *key = NULL, *root = NULL;
	int rc, existed = 1;
	HANDLE h;

	if (!KeyHandle || !oa || !oa->ObjectName)
		return STATUS_INVALID_PARAMETER;
	*KeyHandle = NULL;
	if (to_utf8(oa->ObjectName, path, sizeof(path)) != 0)
		return STATUS_OBJECT_NAME_INVALID;
	if (oa->RootDirectory) {
		root = fm_handle_lookup(oa->RootDirectory, FM_HANDLE_KEY);
		if (!root)
			return STATUS_INVALID_HANDLE;
		if (path[0] == '\\')
			return STATUS_OBJECT_PATH_SYNTAX_BAD;
		rc = fm_reg_open_sub(root, path, 0, &key);
		if (rc == -ENOENT && create) {
			existed = 0;
			rc = fm_reg_open_sub(root, path, 1, &key);
		}
	} else {
		if (path[0] != '\\')
			return STATUS_OBJECT_PATH_SYNTAX_BAD;
		rc = fm_reg_open(path, 0, &key);
		if (rc == -ENOENT && create) {
			existed = 0;
			rc = fm_reg_open(path, 1, &key);
		}
	}
	if (rc != 0)
		return status_of(rc);
	h = fm_handle_create(FM_HANDLE_KEY, key, key_close);
	if (!h) {
		fm_reg_close(key);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	if (disp)
		*disp = existed ? REG_OPENED_EXISTING_KEY : REG_CREATED_NEW_KEY;
	*KeyHandle = h;
	return STATUS_SUCCESS;
}

NTSTATUS ZwOpenKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
		   POBJECT_ATTRIBUTES ObjectAttributes)
{
	(void)DesiredAccess;
	return open_key(KeyHandle, ObjectAttributes, 0, NULL);
}

NTSTATUS ZwOpenKeyEx(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
		     POBJECT_ATTRIBUTES ObjectAttributes, ULONG OpenOptions)
{
	(void)DesiredAccess;
	(void)OpenOptions;
	return open_key(KeyHandle, ObjectAttributes, 0, NULL);
}

NTSTATUS ZwCreateKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
		     POBJECT_ATTRIBUTES ObjectAttributes, ULONG TitleIndex, PUNICODE_STRING Class,
		     ULONG CreateOptions, PULONG Disposition)
{
	(void)DesiredAccess;
	(void)TitleIndex;
	(void)Class;
	(void)CreateOptions;
	return open_key(KeyHandle, ObjectAttributes, 1, Disposition);
}

NTSTATUS IoOpenDriverRegistryKey(PDRIVER_OBJECT DriverObject, DRIVER_REGKEY_TYPE RegKeyType,
				 ACCESS_MASK DesiredAccess, ULONG Flags, PHANDLE DriverRegKey)
{
	WCHAR path[512];
	UNICODE_STRING us;
	OBJECT_ATTRIBUTES oa;
	const UNICODE_STRING *svc;
	size_t n = 0;
	static const char prefix[] = FM_REG_SERVICES "\\";
	const char *sub;

	(void)DesiredAccess;
	if (!DriverObject || !DriverObject->DriverExtension || !DriverRegKey || Flags)
		return STATUS_INVALID_PARAMETER;
	svc = &DriverObject->DriverExtension->ServiceKeyName;
	sub = RegKeyType == DriverRegKeyParameters	  ? "\\Parameters"
	      : RegKeyType == DriverRegKeyPersistentState ? "\\State"
							  : NULL;
	if (!sub)
		return STATUS_NOT_SUPPORTED;
	for (const char *p = prefix; *p; p++)
		path[n++] = (WCHAR)*p;
	if (n + svc->Length / sizeof(WCHAR) + strlen(sub) + 1 > sizeof(path) / sizeof(WCHAR))
		return STATUS_NAME_TOO_LONG;
	memcpy(path + n, svc->Buffer, svc->Length);
	n += svc->Length / sizeof(WCHAR);
	for (const char *p = sub; *p; p++)
		path[n++] = (WCHAR)*p;
	us.Buffer = path;
	us.Length = (USHORT)(n * sizeof(WCHAR));
	us.MaximumLength = (USHORT)sizeof(path);
	InitializeObjectAttributes(&oa, &us, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
	return open_key(DriverRegKey, &oa, 1, NULL);
}

static struct fm_regkey *key_of(HANDLE h)
{
	return fm_handle_lookup(h, FM_HANDLE_KEY);
}

/* Read a value, allocating as needed.  *data is fm_malloc'ed. */
static int read_value(struct fm_regkey *key, const char *name, uint32_t *type, void **data,
		      size_t *len)
{
	size_t cap = 256;
	int rc;

	for (;;) {
		void *buf = fm_malloc(cap ? cap : 1);
		size_t n = cap;

		if (!buf)
			return -ENOMEM;
		rc = fm_reg_get_value(key, name, type, buf, &n);
		if (rc == -ENOSPC && n > cap) {
			fm_free(buf);
			cap = n;
			continue;
		}
		if (rc != 0) {
			fm_free(buf);
			return rc;
		}
		*data = buf;
		*len = n;
		return 0;
	}
}

/*
 * Lay out KEY_VALUE_*_INFORMATION for (name, type, data) into buf[len].  Returns the status
 * per the documentation: BUFFER_TOO_SMALL when not even the fixed part fits (nothing
 * written), BUFFER_OVERFLOW when the fixed part fits but not everything (fixed part and what
 * fits written), SUCCESS otherwise; *result is always the size needed.
 */
static NTSTATUS fill_value_info(KEY_VALUE_INFORMATION_CLASS cls, const char *name, uint32_t type,
				const void *data, size_t dlen, PVOID buf, ULONG len, PULONG result)
{
	ULONG nlen = utf16_size(name), fixed, need, doff = 0, w = 0;
	unsigned char *out = buf;

	switch (cls) {
	case KeyValueBasicInformation:
		fixed = FIELD_OFFSET(KEY_VALUE_BASIC_INFORMATION, Name);
		need = fixed + nlen;
		break;
	case KeyValueFullInformation:
	case KeyValueFullInformationAlign64:
		fixed = FIELD_OFFSET(KEY_VALUE_FULL_INFORMATION, Name);
		doff = fixed + nlen;
		doff = (ULONG)(cls == KeyValueFullInformationAlign64 ? ALIGN_UP_BY(doff, 8)
								     : ALIGN_UP_BY(doff, 4));
		need = doff + (ULONG)dlen;
		break;
	case KeyValuePartialInformation:
	case KeyValuePartialInformationAlign64:
		fixed = FIELD_OFFSET(KEY_VALUE_PARTIAL_INFORMATION, Data);
		need = fixed + (ULONG)dlen;
		break;
	default:
		return STATUS_INVALID_PARAMETER;
	}
	if (result)
		*result = need;
	if (len < fixed)
		return STATUS_BUFFER_TOO_SMALL;
	memset(buf, 0, fixed);
	switch (cls) {
	case KeyValueBasicInformation: {
		PKEY_VALUE_BASIC_INFORMATION b = buf;
		b->Type = type;
		b->NameLength = nlen;
		RtlUTF8ToUnicodeN(b->Name, len - fixed, &w, name, (ULONG)strlen(name));
		break;
	}
	case KeyValueFullInformation:
	case KeyValueFullInformationAlign64: {
		PKEY_VALUE_FULL_INFORMATION f = buf;
		f->Type = type;
		f->NameLength = nlen;
		f->DataLength = (ULONG)dlen;
		f->DataOffset = doff;
		RtlUTF8ToUnicodeN(f->Name, len - fixed, &w, name, (ULONG)strlen(name));
		if (len > doff)
			memcpy(out + doff, data, dlen < len - doff ? dlen : len - doff);
		break;
	}
	default: {
		PKEY_VALUE_PARTIAL_INFORMATION p = buf;
		p->Type = type;
		p->DataLength = (ULONG)dlen;
		memcpy(p->Data, data, dlen < len - fixed ? dlen : len - fixed);
		break;
	}
	}
	return len < need ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

NTSTATUS ZwQueryValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName,
			 KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
			 PVOID KeyValueInformation, ULONG Length, PULONG ResultLength)
{
	struct fm_regkey *key = key_of(KeyHandle);
	char name[NAME_MAX_UTF8];
	void *data = NULL;
	size_t dlen = 0;
	uint32_t type = 0;
	NTSTATUS st;
	int rc;

	if (!key)
		return STATUS_INVALID_HANDLE;
	if (!ResultLength || (Length && !KeyValueInformation))
		return STATUS_INVALID_PARAMETER;
	if (to_utf8(ValueName, name, sizeof(name)) != 0)
		return STATUS_OBJECT_NAME_INVALID;
	rc = read_value(key, name, &type, &data, &dlen);
	if (rc != 0)
		return status_of(rc);
	st = fill_value_info(KeyValueInformationClass, name, type, data, dlen, KeyValueInformation,
			     Length, ResultLength);
	fm_free(data);
	return st;
}

NTSTATUS ZwEnumerateValueKey(HANDLE KeyHandle, ULONG Index,
			     KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
			     PVOID KeyValueInformation, ULONG Length, PULONG ResultLength)
{
	struct fm_regkey *key = key_of(KeyHandle);
	char name[NAME_MAX_UTF8];
	size_t cap = 256, dlen;
	uint32_t type = 0;
	void *data;
	NTSTATUS st;
	int rc;

	if (!key)
		return STATUS_INVALID_HANDLE;
	if (!ResultLength)
		return STATUS_INVALID_PARAMETER;
	for (;;) {
		data = fm_malloc(cap);
		if (!data)
			return STATUS_INSUFFICIENT_RESOURCES;
		dlen = cap;
		rc = fm_reg_enum_value(key, Index, name, sizeof(name), &type, data, &dlen);
		if (rc == -ENOSPC && dlen > cap) {
			fm_free(data);
			cap = dlen;
			continue;
		}
		break;
	}
	if (rc != 0) {
		fm_free(data);
		return rc == -ENOENT ? STATUS_NO_MORE_ENTRIES : status_of(rc);
	}
	st = fill_value_info(KeyValueInformationClass, name, type, data, dlen, KeyValueInformation,
			     Length, ResultLength);
	fm_free(data);
	return st;
}

NTSTATUS ZwSetValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName, ULONG TitleIndex, ULONG Type,
		       PVOID Data, ULONG DataSize)
{
	struct fm_regkey *key = key_of(KeyHandle);
	char name[NAME_MAX_UTF8];

	(void)TitleIndex;
	if (!key)
		return STATUS_INVALID_HANDLE;
	if (DataSize && !Data)
		return STATUS_INVALID_PARAMETER;
	if (to_utf8(ValueName, name, sizeof(name)) != 0)
		return STATUS_OBJECT_NAME_INVALID;
	return status_of(fm_reg_set_value(key, name, Type, Data, DataSize));
}

NTSTATUS ZwDeleteValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName)
{
	struct fm_regkey *key = key_of(KeyHandle);
	char name[NAME_MAX_UTF8];

	if (!key)
		return STATUS_INVALID_HANDLE;
	if (to_utf8(ValueName, name, sizeof(name)) != 0)
		return STATUS_OBJECT_NAME_INVALID;
	return status_of(fm_reg_delete_value(key, name));
}

NTSTATUS ZwDeleteKey(HANDLE KeyHandle)
{
	struct fm_regkey *key = key_of(KeyHandle);

	if (!key)
		return STATUS_INVALID_HANDLE;
	return status_of(fm_reg_delete_key(key));
}

NTSTATUS ZwFlushKey(HANDLE KeyHandle)
{
	if (!key_of(KeyHandle))
		return STATUS_INVALID_HANDLE;
	return status_of(fm_reg_flush());
}

/* Counts of subkeys and values, for KeyFullInformation. */
static void key_counts(struct fm_regkey *key, ULONG *subkeys, ULONG *maxname, ULONG *values,
		       ULONG *maxvname, ULONG *maxdata)
{
	char name[NAME_MAX_UTF8];
	size_t dlen;
	uint32_t type;

	*subkeys = *maxname = *values = *maxvname = *maxdata = 0;
	while (fm_reg_enum_key(key, *subkeys, name, sizeof(name)) == 0) {
		ULONG n = utf16_size(name);
		if (n > *maxname)
			*maxname = n;
		(*subkeys)++;
	}
	for (;;) {
		int rc;
		dlen = 0;
		rc = fm_reg_enum_value(key, *values, name, sizeof(name), &type, NULL, &dlen);
		if (rc != 0 && rc != -ENOSPC)
			break;
		if (utf16_size(name) > *maxvname)
			*maxvname = utf16_size(name);
		if (dlen > *maxdata)
			*maxdata = (ULONG)dlen;
		(*values)++;
	}
}

static NTSTATUS fill_key_info(KEY_INFORMATION_CLASS cls, struct fm_regkey *key, const char *name,
			      PVOID buf, ULONG len, PULONG result)
{
	ULONG nlen = utf16_size(name), fixed, need, w;

	switch (cls) {
	case KeyBasicInformation:
		fixed = FIELD_OFFSET(KEY_BASIC_INFORMATION, Name);
		break;
	case KeyNodeInformation:
		fixed = FIELD_OFFSET(KEY_NODE_INFORMATION, Name);
		break;
	case KeyNameInformation:
		fixed = FIELD_OFFSET(KEY_NAME_INFORMATION, Name);
		break;
	case KeyFullInformation:
		fixed = FIELD_OFFSET(KEY_FULL_INFORMATION, Class);
		nlen = 0;
		break;
	default:
		return STATUS_INVALID_PARAMETER;
	}
	need = fixed + nlen;
	*result = need;
	if (len < fixed)
		return STATUS_BUFFER_TOO_SMALL;
	memset(buf, 0, fixed);
	switch (cls) {
	case KeyBasicInformation: {
		PKEY_BASIC_INFORMATION b = buf;
		b->NameLength = nlen;
		RtlUTF8ToUnicodeN(b->Name, len - fixed, &w, name, (ULONG)strlen(name));
		break;
	}
	case KeyNodeInformation: {
		PKEY_NODE_INFORMATION n = buf;
		n->NameLength = nlen;
		n->ClassOffset = 0xffffffff;
		RtlUTF8ToUnicodeN(n->Name, len - fixed, &w, name, (ULONG)strlen(name));
		break;
	}
	case KeyNameInformation: {
		PKEY_NAME_INFORMATION n = buf;
		n->NameLength = nlen;
		RtlUTF8ToUnicodeN(n->Name, len - fixed, &w, name, (ULONG)strlen(name));
		break;
	}
	default: {
		PKEY_FULL_INFORMATION f = buf;
		f->ClassOffset = 0xffffffff;
		key_counts(key, &f->SubKeys, &f->MaxNameLen, &f->Values, &f->MaxValueNameLen,
			   &f->MaxValueDataLen);
		break;
	}
	}
	return len < need ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

NTSTATUS ZwQueryKey(HANDLE KeyHandle, KEY_INFORMATION_CLASS KeyInformationClass,
		    PVOID KeyInformation, ULONG Length, PULONG ResultLength)
{
	struct fm_regkey *key = key_of(KeyHandle);
	char name[NAME_MAX_UTF8];
	int rc;

	if (!key)
		return STATUS_INVALID_HANDLE;
	if (!ResultLength)
		return STATUS_INVALID_PARAMETER;
	rc = fm_reg_key_name(key, name, sizeof(name));
	if (rc != 0)
		return rc == -ENOENT ? STATUS_KEY_DELETED : status_of(rc);
	return fill_key_info(KeyInformationClass, key, name, KeyInformation, Length, ResultLength);
}

NTSTATUS ZwEnumerateKey(HANDLE KeyHandle, ULONG Index, KEY_INFORMATION_CLASS KeyInformationClass,
			PVOID KeyInformation, ULONG Length, PULONG ResultLength)
{
	struct fm_regkey *key = key_of(KeyHandle), *sub = NULL;
	char name[NAME_MAX_UTF8];
	NTSTATUS st;
	int rc;

	if (!key)
		return STATUS_INVALID_HANDLE;
	if (!ResultLength || KeyInformationClass == KeyNameInformation)
		return STATUS_INVALID_PARAMETER;
	rc = fm_reg_enum_key(key, Index, name, sizeof(name));
	if (rc != 0)
		return rc == -ENOENT ? STATUS_NO_MORE_ENTRIES : status_of(rc);
	if (KeyInformationClass == KeyFullInformation) {
		rc = fm_reg_open_sub(key, name, 0, &sub);
		if (rc != 0)
			return status_of(rc);
	}
	st = fill_key_info(KeyInformationClass, sub ? sub : key, name, KeyInformation, Length,
			   ResultLength);
	if (sub)
		fm_reg_close(sub);
	return st;
}
