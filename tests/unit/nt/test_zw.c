/* Zw registry routines over an in-memory registry, key handles, and MmGetSystemRoutineAddress. */
#include <ntifs.h>

#include "tap.h"
#include "core/registry.h"
#include "nt/handle.h"

#define SVC u"\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\nulltest"

static NTSTATUS open(PHANDLE h, const WCHAR *path, HANDLE root, int create, PULONG disp)
{
	UNICODE_STRING name;
	OBJECT_ATTRIBUTES oa;

	RtlInitUnicodeString(&name, path);
	InitializeObjectAttributes(&oa, &name, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, root,
				   NULL);
	return create ? ZwCreateKey(h, KEY_ALL_ACCESS, &oa, 0, NULL, REG_OPTION_NON_VOLATILE, disp)
		      : ZwOpenKey(h, KEY_READ, &oa);
}

static void t_create_open(void)
{
	HANDLE k = NULL, sub = NULL;
	ULONG disp = 0;

	TAP_EQ_INT(open(&k, SVC, NULL, 0, NULL), STATUS_OBJECT_NAME_NOT_FOUND);
	TAP_CHECK(k == NULL);
	TAP_EQ_INT(open(&k, SVC, NULL, 1, &disp), STATUS_SUCCESS);
	TAP_EQ_INT(disp, REG_CREATED_NEW_KEY);
	TAP_EQ_INT(open(&sub, u"Instances", k, 1, &disp), STATUS_SUCCESS);
	TAP_EQ_INT(disp, REG_CREATED_NEW_KEY);
	TAP_EQ_INT(ZwClose(sub), STATUS_SUCCESS);
	TAP_EQ_INT(open(&sub, u"instances", k, 1, &disp), STATUS_SUCCESS);
	TAP_EQ_INT(disp, REG_OPENED_EXISTING_KEY);
	TAP_EQ_INT(ZwClose(sub), STATUS_SUCCESS);
	TAP_EQ_INT(open(&sub, u"relative", NULL, 0, NULL), STATUS_OBJECT_PATH_SYNTAX_BAD);
	TAP_EQ_INT(ZwClose(k), STATUS_SUCCESS);
	TAP_EQ_INT(ZwClose(k), STATUS_INVALID_HANDLE);
	TAP_EQ_INT(fm_handle_count(), 0);
}

static void t_values(void)
{
	HANDLE k;
	UNICODE_STRING vn;
	ULONG dw = 0x1234, res = 0;
	UCHAR buf[128];
	PKEY_VALUE_PARTIAL_INFORMATION p = (PVOID)buf;
	PKEY_VALUE_FULL_INFORMATION f = (PVOID)buf;
	PKEY_VALUE_BASIC_INFORMATION b = (PVOID)buf;
	static const WCHAR alt[] = u"370030";

	TAP_EQ_INT(open(&k, SVC u"\\Instances\\Default", NULL, 1, NULL), STATUS_SUCCESS);
	RtlInitUnicodeString(&vn, u"Flags");
	TAP_EQ_INT(ZwSetValueKey(k, &vn, 0, REG_DWORD, &dw, sizeof(dw)), STATUS_SUCCESS);
	RtlInitUnicodeString(&vn, u"Altitude");
	TAP_EQ_INT(ZwSetValueKey(k, &vn, 0, REG_SZ, (PVOID)alt, sizeof(alt)), STATUS_SUCCESS);

	RtlInitUnicodeString(&vn, u"flags");
	TAP_EQ_INT(ZwQueryValueKey(k, &vn, KeyValuePartialInformation, p, sizeof(buf), &res),
		   STATUS_SUCCESS);
	TAP_EQ_INT(res, FIELD_OFFSET(KEY_VALUE_PARTIAL_INFORMATION, Data) + 4);
	TAP_EQ_INT(p->Type, REG_DWORD);
	TAP_EQ_INT(p->DataLength, 4);
	TAP_EQ_INT(*(PULONG)p->Data, 0x1234);

	/* Too small for the fixed part: nothing written, size reported. */
	res = 0;
	TAP_EQ_INT(ZwQueryValueKey(k, &vn, KeyValuePartialInformation, p, 8, &res),
		   STATUS_BUFFER_TOO_SMALL);
	TAP_EQ_INT(res, 16);
	/* Fixed part fits, data does not: BUFFER_OVERFLOW with the header filled. */
	RtlInitUnicodeString(&vn, u"Altitude");
	memset(buf, 0xcc, sizeof(buf));
	TAP_EQ_INT(ZwQueryValueKey(k, &vn, KeyValuePartialInformation, p, 14, &res),
		   STATUS_BUFFER_OVERFLOW);
	TAP_EQ_INT(res, 12 + sizeof(alt));
	TAP_EQ_INT(p->Type, REG_SZ);
	TAP_EQ_INT(p->DataLength, sizeof(alt));

	TAP_EQ_INT(ZwQueryValueKey(k, &vn, KeyValueFullInformation, f, sizeof(buf), &res),
		   STATUS_SUCCESS);
	TAP_EQ_INT(f->NameLength, 16);
	TAP_CHECK(memcmp(f->Name, u"Altitude", 16) == 0);
	TAP_EQ_INT(f->DataLength, sizeof(alt));
	TAP_CHECK(memcmp(buf + f->DataOffset, alt, sizeof(alt)) == 0);
	TAP_EQ_INT(ZwQueryValueKey(k, &vn, KeyValueBasicInformation, b, sizeof(buf), &res),
		   STATUS_SUCCESS);
	TAP_EQ_INT(b->NameLength, 16);
	TAP_EQ_INT(res, 12 + 16);

	RtlInitUnicodeString(&vn, u"Missing");
	TAP_EQ_INT(ZwQueryValueKey(k, &vn, KeyValuePartialInformation, p, sizeof(buf), &res),
		   STATUS_OBJECT_NAME_NOT_FOUND);

	TAP_EQ_INT(ZwEnumerateValueKey(k, 0, KeyValueBasicInformation, b, sizeof(buf), &res),
		   STATUS_SUCCESS);
	TAP_EQ_INT(ZwEnumerateValueKey(k, 2, KeyValueBasicInformation, b, sizeof(buf), &res),
		   STATUS_NO_MORE_ENTRIES);
	RtlInitUnicodeString(&vn, u"Flags");
	TAP_EQ_INT(ZwDeleteValueKey(k, &vn), STATUS_SUCCESS);
	TAP_EQ_INT(ZwQueryValueKey(k, &vn, KeyValuePartialInformation, p, sizeof(buf), &res),
		   STATUS_OBJECT_NAME_NOT_FOUND);
	ZwClose(k);
}

static void t_enum_keys(void)
{
	HANDLE k;
	UCHAR buf[256];
	PKEY_BASIC_INFORMATION b = (PVOID)buf;
	PKEY_FULL_INFORMATION f = (PVOID)buf;
	ULONG res;

	TAP_EQ_INT(open(&k, SVC u"\\Instances", NULL, 0, NULL), STATUS_SUCCESS);
	TAP_EQ_INT(ZwEnumerateKey(k, 0, KeyBasicInformation, b, sizeof(buf), &res), STATUS_SUCCESS);
	TAP_EQ_INT(b->NameLength, 14);
	TAP_CHECK(memcmp(b->Name, u"Default", 14) == 0);
	TAP_EQ_INT(ZwEnumerateKey(k, 1, KeyBasicInformation, b, sizeof(buf), &res),
		   STATUS_NO_MORE_ENTRIES);
	TAP_EQ_INT(ZwQueryKey(k, KeyFullInformation, f, sizeof(buf), &res), STATUS_SUCCESS);
	TAP_EQ_INT(f->SubKeys, 1);
	TAP_EQ_INT(f->Values, 0);
	TAP_EQ_INT(ZwQueryKey(k, KeyBasicInformation, b, sizeof(buf), &res), STATUS_SUCCESS);
	TAP_CHECK(memcmp(b->Name, u"Instances", 18) == 0);
	ZwClose(k);
	TAP_EQ_INT(open(&k, SVC u"\\Instances\\Default", NULL, 0, NULL), STATUS_SUCCESS);
	TAP_EQ_INT(ZwDeleteKey(k), STATUS_SUCCESS);
	ZwClose(k);
	TAP_EQ_INT(open(&k, SVC u"\\Instances\\Default", NULL, 0, NULL),
		   STATUS_OBJECT_NAME_NOT_FOUND);
}

static void t_driver_key(void)
{
	DRIVER_EXTENSION ext;
	DRIVER_OBJECT drv;
	HANDLE k;

	memset(&drv, 0, sizeof(drv));
	memset(&ext, 0, sizeof(ext));
	drv.DriverExtension = &ext;
	RtlInitUnicodeString(&ext.ServiceKeyName, u"nulltest");
	TAP_EQ_INT(IoOpenDriverRegistryKey(&drv, DriverRegKeyParameters, KEY_READ, 0, &k),
		   STATUS_SUCCESS);
	ZwClose(k);
	TAP_EQ_INT(open(&k, SVC u"\\Parameters", NULL, 0, NULL), STATUS_SUCCESS);
	ZwClose(k);
}

static void t_routine_address(void)
{
	UNICODE_STRING n;
	PVOID p;

	RtlInitUnicodeString(&n, u"IoOpenDriverRegistryKey");
	p = MmGetSystemRoutineAddress(&n);
	TAP_CHECK(p == (PVOID)IoOpenDriverRegistryKey);
	RtlInitUnicodeString(&n, u"KeWaitForSingleObject");
	TAP_CHECK(MmGetSystemRoutineAddress(&n) == (PVOID)KeWaitForSingleObject);
	RtlInitUnicodeString(&n, u"NoSuchRoutineAnywhere");
	TAP_CHECK(MmGetSystemRoutineAddress(&n) == NULL);
	RtlInitUnicodeString(&n, u"bad name");
	TAP_CHECK(MmGetSystemRoutineAddress(&n) == NULL);
	TAP_CHECK(MmGetSystemRoutineAddress(NULL) == NULL);
}

static void t_mdl(void)
{
	char buf[100];
	PMDL m = IoAllocateMdl(buf + 3, 50, FALSE, FALSE, NULL);

	TAP_CHECK(m != NULL);
	TAP_CHECK(MmGetMdlVirtualAddress(m) == buf + 3);
	TAP_EQ_INT(MmGetMdlByteCount(m), 50);
	MmProbeAndLockPages(m, KernelMode, IoWriteAccess);
	TAP_CHECK(MmGetSystemAddressForMdlSafe(m, NormalPagePriority | MdlMappingNoExecute) ==
		  buf + 3);
	MmUnlockPages(m);
	IoFreeMdl(m);
}

int main(void)
{
	if (fm_reg_init(NULL) != 0) {
		printf("Bail out! fm_reg_init failed\n");
		return 1;
	}
	TAP_RUN(t_create_open);
	TAP_RUN(t_values);
	TAP_RUN(t_enum_keys);
	TAP_RUN(t_driver_key);
	TAP_RUN(t_routine_address);
	TAP_RUN(t_mdl);
	fm_reg_fini();
	return tap_done();
}
