/* RtlQueryRegistryValues and RtlWriteRegistryValue over an in-memory registry. */
#include <ntifs.h>

#include "tap.h"
#include "core/registry.h"

#include <string.h>

static int multi_calls;
static WCHAR multi_seen[64];
static size_t multi_at;

static NTSTATUS NTAPI on_value(PWSTR name, ULONG type, PVOID data, ULONG len, PVOID ctx,
			       PVOID entry)
{
	(void)name;
	(void)ctx;
	(void)entry;
	if (type == REG_SZ && multi_at + len / sizeof(WCHAR) <= 64) {
		memcpy(multi_seen + multi_at, data, len);
		multi_at += len / sizeof(WCHAR);
		multi_calls++;
	}
	return STATUS_SUCCESS;
}

static void setup(void)
{
	ULONG one = 1, seven = 7;
	static const WCHAR multi[] = u"a\0bc\0";
	static const WCHAR text[] = u"hello";

	TAP_EQ_INT(RtlWriteRegistryValue(RTL_REGISTRY_SERVICES, u"rq", u"Dword", REG_DWORD, &seven,
					 sizeof(seven)),
		   STATUS_SUCCESS);
	TAP_EQ_INT(RtlWriteRegistryValue(RTL_REGISTRY_SERVICES, u"rq", u"Text", REG_SZ, (PVOID)text,
					 sizeof(text)),
		   STATUS_SUCCESS);
	TAP_EQ_INT(RtlWriteRegistryValue(RTL_REGISTRY_SERVICES, u"rq", u"Multi", REG_MULTI_SZ,
					 (PVOID)multi, sizeof(multi)),
		   STATUS_SUCCESS);
	TAP_EQ_INT(RtlWriteRegistryValue(RTL_REGISTRY_SERVICES, u"rq\\Parameters", u"Flag",
					 REG_DWORD, &one, sizeof(one)),
		   STATUS_SUCCESS);
	TAP_EQ_INT(RtlCheckRegistryKey(RTL_REGISTRY_SERVICES, u"rq\\Parameters"), STATUS_SUCCESS);
	TAP_EQ_INT(RtlCheckRegistryKey(RTL_REGISTRY_SERVICES, u"nope"),
		   STATUS_OBJECT_NAME_NOT_FOUND);
}

static void t_direct_and_routines(void)
{
	ULONG dw = 0, flag = 0, missing = 99, def = 5;
	UNICODE_STRING text = {0, 0, NULL};
	RTL_QUERY_REGISTRY_TABLE t[6];

	memset(t, 0, sizeof(t));
	t[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED;
	t[0].Name = (PWSTR)u"Dword";
	t[0].EntryContext = &dw;
	t[1].Flags = RTL_QUERY_REGISTRY_DIRECT;
	t[1].Name = (PWSTR)u"Text";
	t[1].EntryContext = &text;
	t[2].QueryRoutine = on_value;
	t[2].Name = (PWSTR)u"Multi";
	t[3].Flags = RTL_QUERY_REGISTRY_DIRECT;
	t[3].Name = (PWSTR)u"Absent";
	t[3].EntryContext = &missing;
	t[3].DefaultType = REG_DWORD;
	t[3].DefaultData = &def;
	t[3].DefaultLength = sizeof(def);
	t[4].Flags = RTL_QUERY_REGISTRY_SUBKEY | RTL_QUERY_REGISTRY_DIRECT;
	t[4].Name = (PWSTR)u"Parameters";
	TAP_EQ_INT(RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, u"rq", t, NULL, NULL),
		   STATUS_SUCCESS);
	TAP_EQ_INT(dw, 7);
	TAP_EQ_INT(text.Length, 10);
	TAP_CHECK(text.Buffer && memcmp(text.Buffer, u"hello", 10) == 0);
	TAP_EQ_INT(multi_calls, 2);
	TAP_CHECK(memcmp(multi_seen, u"a\0bc", 8) == 0);
	TAP_EQ_INT(missing, 5);
	RtlFreeUnicodeString(&text);
	/* A subkey entry switches the key for the entries after it. */
	memset(t, 0, sizeof(t));
	t[0].Flags = RTL_QUERY_REGISTRY_SUBKEY;
	t[0].Name = (PWSTR)u"Parameters";
	t[1].Flags = RTL_QUERY_REGISTRY_DIRECT;
	t[1].Name = (PWSTR)u"Flag";
	t[1].EntryContext = &flag;
	TAP_EQ_INT(RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, u"rq", t, NULL, NULL),
		   STATUS_SUCCESS);
	TAP_EQ_INT(flag, 1);
}

static void t_errors(void)
{
	ULONG v = 0;
	RTL_QUERY_REGISTRY_TABLE t[2];

	memset(t, 0, sizeof(t));
	t[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED;
	t[0].Name = (PWSTR)u"Absent";
	t[0].EntryContext = &v;
	TAP_EQ_INT(RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, u"rq", t, NULL, NULL),
		   STATUS_OBJECT_NAME_NOT_FOUND);
	t[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_TYPECHECK |
		     (REG_SZ << RTL_QUERY_REGISTRY_TYPECHECK_SHIFT);
	t[0].Name = (PWSTR)u"Dword";
	TAP_EQ_INT(RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, u"rq", t, NULL, NULL),
		   STATUS_OBJECT_TYPE_MISMATCH);
	TAP_EQ_INT(RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, u"missing", t, NULL, NULL),
		   STATUS_OBJECT_NAME_NOT_FOUND);
	TAP_EQ_INT(RtlDeleteRegistryValue(RTL_REGISTRY_SERVICES, u"rq", u"Dword"), STATUS_SUCCESS);
	TAP_EQ_INT(RtlDeleteRegistryValue(RTL_REGISTRY_SERVICES, u"rq", u"Dword"),
		   STATUS_OBJECT_NAME_NOT_FOUND);
}

int main(void)
{
	fm_reg_init(NULL);
	TAP_RUN(setup);
	TAP_RUN(t_direct_and_routines);
	TAP_RUN(t_errors);
	return tap_done();
}
