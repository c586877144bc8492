/* Generic tables, I/O work items, event handles, EA validation, address strings, versions. */
#include <ntifs.h>
#include <wsk.h>

#include <arpa/inet.h>

#include "tap.h"
#include "nt/pool.h"

static RTL_GENERIC_COMPARE_RESULTS cmp(PRTL_GENERIC_TABLE t, PVOID a, PVOID b)
{
	int x = *(int *)a, y = *(int *)b;

	(void)t;
	return x < y ? GenericLessThan : x > y ? GenericGreaterThan : GenericEqual;
}

static PVOID gt_alloc(PRTL_GENERIC_TABLE t, CLONG n)
{
	(void)t;
	return ExAllocatePoolWithTag(PagedPool, n, 'tsGT');
}

static void gt_free(PRTL_GENERIC_TABLE t, PVOID p)
{
	(void)t;
	ExFreePoolWithTag(p, 'tsGT');
}

static void t_generic_table(void)
{
	RTL_GENERIC_TABLE t;
	static const int keys[] = {50, 20, 80, 10, 30, 70, 90, 60};
	BOOLEAN isnew;
	PVOID restart = NULL, e;
	int prev = -1, n = 0, k;

	RtlInitializeGenericTable(&t, cmp, gt_alloc, gt_free, NULL);
	TAP_CHECK(RtlIsGenericTableEmpty(&t));
	for (unsigned i = 0; i < ARRAYSIZE(keys); i++) {
		k = keys[i];
		TAP_CHECK(RtlInsertElementGenericTable(&t, &k, sizeof(k), &isnew) != NULL);
		TAP_CHECK(isnew);
	}
	k = 30;
	RtlInsertElementGenericTable(&t, &k, sizeof(k), &isnew);
	TAP_CHECK(!isnew);
	TAP_EQ_INT(RtlNumberGenericTableElements(&t), 8);
	/* Insertion order by index. */
	TAP_EQ_INT(*(int *)RtlGetElementGenericTable(&t, 0), 50);
	TAP_EQ_INT(*(int *)RtlGetElementGenericTable(&t, 7), 60);
	TAP_CHECK(RtlGetElementGenericTable(&t, 8) == NULL);
	k = 20;
	TAP_CHECK(RtlDeleteElementGenericTable(&t, &k));
	k = 50;
	TAP_CHECK(RtlDeleteElementGenericTable(&t, &k));
	TAP_CHECK(!RtlDeleteElementGenericTable(&t, &k));
	TAP_CHECK(RtlLookupElementGenericTable(&t, &k) == NULL);
	k = 70;
	TAP_CHECK(RtlLookupElementGenericTable(&t, &k) != NULL);
	while ((e = RtlEnumerateGenericTableWithoutSplaying(&t, &restart)) != NULL) {
		TAP_CHECK(*(int *)e > prev);
		prev = *(int *)e;
		n++;
	}
	TAP_EQ_INT(n, 6);
	n = 0;
	for (e = RtlEnumerateGenericTable(&t, TRUE); e; e = RtlEnumerateGenericTable(&t, FALSE))
		n++;
	TAP_EQ_INT(n, 6);
	while ((e = RtlGetElementGenericTable(&t, 0)) != NULL)
		RtlDeleteElementGenericTable(&t, e);
	TAP_CHECK(RtlIsGenericTableEmpty(&t));
	TAP_EQ_INT(fm_pool_live_count(), 0);
}

static KEVENT work_done;

static void work_routine(PDEVICE_OBJECT dev, PVOID ctx)
{
	TAP_CHECK(dev == (PDEVICE_OBJECT)ctx);
	KeSetEvent(&work_done, 0, FALSE);
}

static void t_io_work_item(void)
{
	DEVICE_OBJECT dev;
	PIO_WORKITEM w = IoAllocateWorkItem(&dev);
	LARGE_INTEGER t = {.QuadPart = -50000000};

	TAP_CHECK(w != NULL);
	KeInitializeEvent(&work_done, NotificationEvent, FALSE);
	IoQueueWorkItem(w, work_routine, DelayedWorkQueue, &dev);
	TAP_EQ_INT(KeWaitForSingleObject(&work_done, Executive, KernelMode, FALSE, &t),
		   STATUS_SUCCESS);
	IoFreeWorkItem(w);
}

static void t_event_handles(void)
{
	HANDLE h;
	LARGE_INTEGER zero = {.QuadPart = 0};
	LONG prev = 5;

	TAP_EQ_INT(ZwCreateEvent(&h, 0x1f0003, NULL, NotificationEvent, FALSE), STATUS_SUCCESS);
	TAP_EQ_INT(ZwWaitForSingleObject(h, FALSE, &zero), STATUS_TIMEOUT);
	TAP_EQ_INT(ZwSetEvent(h, &prev), STATUS_SUCCESS);
	TAP_EQ_INT(prev, 0);
	TAP_EQ_INT(ZwWaitForSingleObject(h, FALSE, &zero), STATUS_SUCCESS);
	TAP_EQ_INT(ZwClose(h), STATUS_SUCCESS);
	TAP_EQ_INT(ZwWaitForSingleObject(h, FALSE, &zero), STATUS_INVALID_HANDLE);
}

static void t_misc(void)
{
	union {
		FILE_FULL_EA_INFORMATION ea;
		UCHAR raw[64];
	} u;
	ULONG off = 0, len;
	IN_ADDR a;
	WCHAR s[64];
	RTL_OSVERSIONINFOW v;
	UNICODE_STRING n;

	memset(&u, 0, sizeof(u));
	u.ea.EaNameLength = 3;
	memcpy(u.ea.EaName, "abc", 4);
	u.ea.EaValueLength = 2;
	TAP_EQ_INT(IoCheckEaBufferValidity(&u.ea, 20, &off), STATUS_SUCCESS);
	TAP_EQ_INT(IoCheckEaBufferValidity(&u.ea, 10, &off), STATUS_EA_LIST_INCONSISTENT);
	a.S_un.S_addr = htonl(0x7f000001);
	len = ARRAYSIZE(s);
	TAP_EQ_INT(RtlIpv4AddressToStringExW(&a, htons(80), s, &len), STATUS_SUCCESS);
	TAP_EQ_INT(len, 13);
	TAP_CHECK(memcmp(s, u"127.0.0.1:80", 26) == 0);
	v.dwOSVersionInfoSize = sizeof(v);
	TAP_EQ_INT(RtlGetVersion(&v), STATUS_SUCCESS);
	TAP_EQ_INT(v.dwMajorVersion, 10);
	RtlInitUnicodeString(&n, u"FILE.TXT");
	TAP_CHECK(RtlIsNameLegalDOS8Dot3(&n, NULL, NULL));
	RtlInitUnicodeString(&n, u"longfilename.txt");
	TAP_CHECK(!RtlIsNameLegalDOS8Dot3(&n, NULL, NULL));
	UNICODE_STRING first, rest;
	RtlInitUnicodeString(&n, u"\\dir\\sub\\file");
	FsRtlDissectName(n, &first, &rest);
	TAP_EQ_INT(first.Length, 6);
	TAP_CHECK(memcmp(first.Buffer, u"dir", 6) == 0);
	TAP_EQ_INT(rest.Length, 16);
	TAP_CHECK(memcmp(rest.Buffer, u"sub\\file", 16) == 0);
	TAP_CHECK(!FsRtlIsNtstatusExpected(STATUS_ACCESS_VIOLATION));
	TAP_CHECK(FsRtlIsNtstatusExpected(STATUS_OBJECT_NAME_NOT_FOUND));
}

int main(void)
{
	TAP_RUN(t_generic_table);
	TAP_RUN(t_io_work_item);
	TAP_RUN(t_event_handles);
	TAP_RUN(t_misc);
	return tap_done();
}
