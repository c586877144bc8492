/* The rest of the runtime: generic tables, I/O work items, event handles, processes, security,
 * registry helpers, address strings; and the routines Linux cannot provide (logged once). */
#include "nt/ke.h"

#include <ntifs.h>
#include <wsk.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "core/registry.h"
#include "nt/handle.h"

/* Log the first call of an unavailable routine (per routine), then stay quiet. */
#define NOT_AVAILABLE(name)                                                                        \
	do {                                                                                       \
		static int logged_;                                                                \
		if (!__atomic_exchange_n(&logged_, 1, __ATOMIC_RELAXED))                           \
			fm_log(FM_LOG_WARN, "nt", "%s is not implemented on Linux", name);         \
	} while (0)

/* ---- Generic tables ------------------------------------------------------------------------- */

/*
 * An unbalanced binary search tree over the splay links (the splaying itself is an
 * optimisation callers cannot observe) plus the insertion-order list.  The caller's allocate
 * routine gets the element size plus this header, and the element follows the header.
 */
struct gt_node {
	RTL_SPLAY_LINKS links;
	LIST_ENTRY order;
};
#define GT_DATA(n) ((PVOID)((struct gt_node *)(n) + 1))
#define GT_NODE(d) ((struct gt_node *)(d)-1)

void RtlInitializeGenericTable(PRTL_GENERIC_TABLE Table,
			       PRTL_GENERIC_COMPARE_ROUTINE CompareRoutine,
			       PRTL_GENERIC_ALLOCATE_ROUTINE AllocateRoutine,
			       PRTL_GENERIC_FREE_ROUTINE FreeRoutine, PVOID TableContext)
{
	Table->TableRoot = NULL;
	InitializeListHead(&Table->InsertOrderList);
	Table->OrderedPointer = &Table->InsertOrderList;
	Table->WhichOrderedElement = 0;
	Table->NumberGenericTableElements = 0;
	Table->CompareRoutine = CompareRoutine;
	Table->AllocateRoutine = AllocateRoutine;
	Table->FreeRoutine = FreeRoutine;
	Table->TableContext = TableContext;
}

static struct gt_node *gt_find(PRTL_GENERIC_TABLE t, PVOID key, struct gt_node **parent,
			       TABLE_SEARCH_RESULT *where)
{
	PRTL_SPLAY_LINKS l = t->TableRoot;

	*parent = NULL;
	*where = TableEmptyTree;
	while (l) {
		RTL_GENERIC_COMPARE_RESULTS r = t->CompareRoutine(t, key, GT_DATA(l));
		*parent = (struct gt_node *)l;
		if (r == GenericEqual) {
			*where = TableFoundNode;
			return (struct gt_node *)l;
		}
		if (r == GenericLessThan) {
			*where = TableInsertAsLeft;
			l = l->LeftChild;
		} else {
			*where = TableInsertAsRight;
			l = l->RightChild;
		}
	}
	return NULL;
}

PVOID RtlLookupElementGenericTableFull(PRTL_GENERIC_TABLE Table, PVOID Buffer, PVOID *NodeOrParent,
				       TABLE_SEARCH_RESULT *SearchResult)
{
	struct gt_node *parent, *n = gt_find(Table, Buffer, &parent, SearchResult);

	*NodeOrParent = parent;
	return n ? GT_DATA(n) : NULL;
}

PVOID RtlLookupElementGenericTable(PRTL_GENERIC_TABLE Table, PVOID Buffer)
{
	struct gt_node *parent;
	TABLE_SEARCH_RESULT where;
	struct gt_node *n = gt_find(Table, Buffer, &parent, &where);

	return n ? GT_DATA(n) : NULL;
}

PVOID RtlInsertElementGenericTableFull(PRTL_GENERIC_TABLE Table, PVOID Buffer, CLONG BufferSize,
				       PBOOLEAN NewElement, PVOID NodeOrParent,
				       TABLE_SEARCH_RESULT SearchResult)
{
	struct gt_node *parent = NodeOrParent, *n;

	if (SearchResult == TableFoundNode) {
		if (NewElement)
			*NewElement = FALSE;
		return GT_DATA(parent);
	}
	n = Table->AllocateRoutine(Table, (CLONG)(sizeof(*n) + BufferSize));
	if (!n)
		return NULL;
	memset(n, 0, sizeof(*n));
	memcpy(GT_DATA(n), Buffer, BufferSize);
	n->links.Parent = &n->links;
	if (SearchResult == TableEmptyTree) {
		Table->TableRoot = &n->links;
	} else {
		n->links.Parent = &parent->links;
		if (SearchResult == TableInsertAsLeft)
			parent->links.LeftChild = &n->links;
		else
			parent->links.RightChild = &n->links;
	}
	InsertTailList(&Table->InsertOrderList, &n->order);
	Table->NumberGenericTableElements++;
	Table->OrderedPointer = &Table->InsertOrderList;
	Table->WhichOrderedElement = 0;
	if (NewElement)
		*NewElement = TRUE;
	return GT_DATA(n);
}

PVOID RtlInsertElementGenericTable(PRTL_GENERIC_TABLE Table, PVOID Buffer, CLONG BufferSize,
				   PBOOLEAN NewElement)
{
	struct gt_node *parent;
	TABLE_SEARCH_RESULT where;

	gt_find(Table, Buffer, &parent, &where);
	return RtlInsertElementGenericTableFull(Table, Buffer, BufferSize, NewElement, parent,
						where);
}

/* The root's Parent points to itself, as in the splay-link convention. */
static int is_root(PRTL_SPLAY_LINKS l)
{
	return l->Parent == l;
}

static void replace_child(PRTL_GENERIC_TABLE t, PRTL_SPLAY_LINKS old, PRTL_SPLAY_LINKS repl)
{
	if (is_root(old)) {
		t->TableRoot = repl;
		if (repl)
			repl->Parent = repl;
		return;
	}
	if (old->Parent->LeftChild == old)
		old->Parent->LeftChild = repl;
	else
		old->Parent->RightChild = repl;
	if (repl)
		repl->Parent = old->Parent;
}

BOOLEAN RtlDeleteElementGenericTable(PRTL_GENERIC_TABLE Table, PVOID Buffer)
{
	struct gt_node *parent, *n;
	TABLE_SEARCH_RESULT where;
	PRTL_SPLAY_LINKS l;

	n = gt_find(Table, Buffer, &parent, &where);
	if (!n)
		return FALSE;
	l = &n->links;
	if (!l->LeftChild) {
		replace_child(Table, l, l->RightChild);
	} else if (!l->RightChild) {
		replace_child(Table, l, l->LeftChild);
	} else {
		/* Two children: splice in the in-order successor. */
		PRTL_SPLAY_LINKS s = l->RightChild;
		while (s->LeftChild)
			s = s->LeftChild;
		if (s->Parent != l) {
			replace_child(Table, s, s->RightChild);
			s->RightChild = l->RightChild;
			s->RightChild->Parent = s;
		}
		replace_child(Table, l, s);
		s->LeftChild = l->LeftChild;
		s->LeftChild->Parent = s;
	}
	RemoveEntryList(&n->order);
	Table->NumberGenericTableElements--;
	Table->OrderedPointer = &Table->InsertOrderList;
	Table->WhichOrderedElement = 0;
	Table->FreeRoutine(Table, n);
	return TRUE;
}

static PRTL_SPLAY_LINKS leftmost(PRTL_SPLAY_LINKS l)
{
	while (l && l->LeftChild)
		l = l->LeftChild;
	return l;
}

static PRTL_SPLAY_LINKS successor(PRTL_SPLAY_LINKS l)
{
	if (l->RightChild)
		return leftmost(l->RightChild);
	while (!is_root(l) && l->Parent->RightChild == l)
		l = l->Parent;
	return is_root(l) ? NULL : l->Parent;
}

PVOID RtlEnumerateGenericTableWithoutSplaying(PRTL_GENERIC_TABLE Table, PVOID *RestartKey)
{
	PRTL_SPLAY_LINKS l =
	    *RestartKey ? successor((PRTL_SPLAY_LINKS)*RestartKey) : leftmost(Table->TableRoot);

	*RestartKey = l;
	return l ? GT_DATA(l) : NULL;
}

PVOID RtlEnumerateGenericTable(PRTL_GENERIC_TABLE Table, BOOLEAN Restart)
{
	/* The cursor lives in the table, as the splaying version keeps it in the root. */
	static __thread PRTL_GENERIC_TABLE last_table;
	static __thread PVOID key;

	if (Restart || last_table != Table)
		key = NULL;
	last_table = Table;
	return RtlEnumerateGenericTableWithoutSplaying(Table, &key);
}

PVOID RtlGetElementGenericTable(PRTL_GENERIC_TABLE Table, ULONG I)
{
	PLIST_ENTRY e;
	ULONG i;

	if (I >= Table->NumberGenericTableElements)
		return NULL;
	/* Insertion order, counting from the cached position when it helps. */
	if (Table->WhichOrderedElement && I + 1 >= Table->WhichOrderedElement) {
		e = Table->OrderedPointer;
		i = Table->WhichOrderedElement - 1;
	} else {
		e = Table->InsertOrderList.Flink;
		i = 0;
	}
	for (; i < I; i++)
		e = e->Flink;
	Table->OrderedPointer = e;
	Table->WhichOrderedElement = I + 1;
	return GT_DATA(CONTAINING_RECORD(e, struct gt_node, order));
}

ULONG RtlNumberGenericTableElements(PRTL_GENERIC_TABLE Table)
{
	return Table->NumberGenericTableElements;
}

BOOLEAN RtlIsGenericTableEmpty(PRTL_GENERIC_TABLE Table)
{
	return Table->TableRoot == NULL;
}

/* ---- I/O work items ------------------------------------------------------------------------- */

struct _IO_WORKITEM {
	WORK_QUEUE_ITEM item;
	PVOID io_object;
	PIO_WORKITEM_ROUTINE routine;
	PIO_WORKITEM_ROUTINE_EX routine_ex;
	PVOID context;
	int allocated;
};

static void io_work_trampoline(PVOID p)
{
	PIO_WORKITEM w = p;

	if (w->routine_ex)
		w->routine_ex(w->io_object, w->context, w);
	else
		w->routine((PDEVICE_OBJECT)w->io_object, w->context);
}

PIO_WORKITEM IoAllocateWorkItem(PDEVICE_OBJECT DeviceObject)
{
	PIO_WORKITEM w = ExAllocatePoolZero(NonPagedPool, sizeof(*w), 'ktWI');

	if (w) {
		w->io_object = DeviceObject;
		w->allocated = 1;
	}
	return w;
}

void IoFreeWorkItem(PIO_WORKITEM IoWorkItem)
{
	if (IoWorkItem)
		ExFreePoolWithTag(IoWorkItem, 'ktWI');
}

ULONG IoSizeofWorkItem(void)
{
	return sizeof(struct _IO_WORKITEM);
}

void IoInitializeWorkItem(PVOID IoObject, PIO_WORKITEM IoWorkItem)
{
	memset(IoWorkItem, 0, sizeof(*IoWorkItem));
	IoWorkItem->io_object = IoObject;
}

void IoUninitializeWorkItem(PIO_WORKITEM IoWorkItem)
{
	(void)IoWorkItem;
}

void IoQueueWorkItem(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE WorkerRoutine,
		     WORK_QUEUE_TYPE QueueType, PVOID Context)
{
	IoWorkItem->routine = WorkerRoutine;
	IoWorkItem->routine_ex = NULL;
	IoWorkItem->context = Context;
	ExInitializeWorkItem(&IoWorkItem->item, io_work_trampoline, IoWorkItem);
	ExQueueWorkItem(&IoWorkItem->item, QueueType);
}

void IoQueueWorkItemEx(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE_EX WorkerRoutine,
		       WORK_QUEUE_TYPE QueueType, PVOID Context)
{
	IoWorkItem->routine = NULL;
	IoWorkItem->routine_ex = WorkerRoutine;
	IoWorkItem->context = Context;
	ExInitializeWorkItem(&IoWorkItem->item, io_work_trampoline, IoWorkItem);
	ExQueueWorkItem(&IoWorkItem->item, QueueType);
}

/* ---- Event handles and handle waits ----------------------------------------------------------- */

static void event_close(void *o)
{
	ExFreePoolWithTag(o, 'tvEZ');
}

NTSTATUS ZwCreateEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess,
		       POBJECT_ATTRIBUTES ObjectAttributes, EVENT_TYPE EventType,
		       BOOLEAN InitialState)
{
	PKEVENT ev;
	HANDLE h;

	(void)DesiredAccess;
	if (!EventHandle)
		return STATUS_INVALID_PARAMETER;
	if (ObjectAttributes && ObjectAttributes->ObjectName &&
	    ObjectAttributes->ObjectName->Length) {
		NOT_AVAILABLE("ZwCreateEvent with a name");
		return STATUS_NOT_IMPLEMENTED;
	}
	ev = ExAllocatePoolWithTag(NonPagedPool, sizeof(*ev), 'tvEZ');
	if (!ev)
		return STATUS_INSUFFICIENT_RESOURCES;
	KeInitializeEvent(ev, EventType, InitialState);
	h = fm_handle_create(FM_HANDLE_EVENT, ev, event_close);
	if (!h) {
		ExFreePoolWithTag(ev, 'tvEZ');
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	*EventHandle = h;
	return STATUS_SUCCESS;
}

NTSTATUS ZwSetEvent(HANDLE EventHandle, PLONG PreviousState)
{
	PKEVENT ev = fm_handle_lookup(EventHandle, FM_HANDLE_EVENT);
	LONG old;

	if (!ev)
		return STATUS_INVALID_HANDLE;
	old = KeSetEvent(ev, 0, FALSE);
	if (PreviousState)
		*PreviousState = old;
	return STATUS_SUCCESS;
}

NTSTATUS ZwWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable, PLARGE_INTEGER Timeout)
{
	enum fm_handle_type t = fm_handle_type_of(Handle);
	void *o;

	if (t != FM_HANDLE_EVENT && t != FM_HANDLE_THREAD)
		return t == FM_HANDLE_ANY ? STATUS_INVALID_HANDLE : STATUS_OBJECT_TYPE_MISMATCH;
	o = fm_handle_lookup(Handle, t);
	if (!o)
		return STATUS_INVALID_HANDLE;
	return KeWaitForSingleObject(o, Executive, KernelMode, Alertable, Timeout);
}

/* ---- Processes ----------------------------------------------------------------------------------- */

NTSTATUS ZwOpenProcess(PHANDLE ProcessHandle, ACCESS_MASK DesiredAccess,
		       POBJECT_ATTRIBUTES ObjectAttributes, PCLIENT_ID ClientId)
{
	PEPROCESS p;
	NTSTATUS st;
	HANDLE h;

	(void)DesiredAccess;
	(void)ObjectAttributes;
	if (!ProcessHandle || !ClientId)
		return STATUS_INVALID_PARAMETER;
	st = PsLookupProcessByProcessId(ClientId->UniqueProcess, &p);
	if (!NT_SUCCESS(st))
		return st;
	h = fm_handle_create(FM_HANDLE_PROCESS, p, NULL);
	if (!h)
		return STATUS_INSUFFICIENT_RESOURCES;
	*ProcessHandle = h;
	return STATUS_SUCCESS;
}

NTSTATUS ObOpenObjectByPointer(PVOID Object, ULONG HandleAttributes,
			       PACCESS_STATE PassedAccessState, ACCESS_MASK DesiredAccess,
			       POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode, PHANDLE Handle)
{
	DISPATCHER_HEADER *hd = Object;
	enum fm_handle_type t = FM_HANDLE_OTHER;
	HANDLE h;

	(void)HandleAttributes;
	(void)PassedAccessState;
	(void)DesiredAccess;
	(void)ObjectType;
	(void)AccessMode;
	if (!Object || !Handle)
		return STATUS_INVALID_PARAMETER;
	if (hd->Type == FM_OBJ_PROCESS && ((struct fm_eprocess *)Object)->magic)
		t = FM_HANDLE_PROCESS;
	h = fm_handle_create(t, Object, NULL);
	if (!h)
		return STATUS_INSUFFICIENT_RESOURCES;
	*Handle = h;
	return STATUS_SUCCESS;
}

static int process_pid(HANDLE h)
{
	struct fm_eprocess *p;

	if (h == NtCurrentProcess())
		return (int)(ULONG_PTR)PsGetCurrentProcessId();
	p = fm_handle_lookup(h, FM_HANDLE_PROCESS);
	return p ? p->pid : -1;
}

NTSTATUS ZwQueryInformationProcess(HANDLE ProcessHandle, PROCESSINFOCLASS ProcessInformationClass,
				   PVOID ProcessInformation, ULONG ProcessInformationLength,
				   PULONG ReturnLength)
{
	int pid = process_pid(ProcessHandle);
	char path[64], exe[1024];
	ssize_t n;

	if (pid < 0)
		return STATUS_INVALID_HANDLE;
	switch (ProcessInformationClass) {
	case ProcessBasicInformation: {
		PPROCESS_BASIC_INFORMATION b = ProcessInformation;
		FILE *f;
		int ppid = 0;

		if (ReturnLength)
			*ReturnLength = sizeof(*b);
		if (ProcessInformationLength != sizeof(*b))
			return STATUS_INFO_LENGTH_MISMATCH;
		memset(b, 0, sizeof(*b));
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		f = fopen(path, "re");
		if (f) {
			/* pid (comm) state ppid: comm may hold spaces, so parse after ')'. */
			char line[512];
			if (fgets(line, sizeof(line), f)) {
				char *p = strrchr(line, ')');
				if (p)
					sscanf(p + 1, " %*c %d", &ppid);
			}
			fclose(f);
		}
		b->UniqueProcessId = (ULONG_PTR)pid;
		b->InheritedFromUniqueProcessId = (ULONG_PTR)ppid;
		b->BasePriority = 8;
		return STATUS_SUCCESS;
	}
	case ProcessImageFileName:
	case ProcessImageFileNameWin32: {
		PUNICODE_STRING us = ProcessInformation;
		ULONG need, w = 0;

		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		n = readlink(path, exe, sizeof(exe) - 1);
		if (n < 0)
			n = 0;
		exe[n] = 0;
		RtlUTF8ToUnicodeN(NULL, 0, &need, exe, (ULONG)n);
		need += sizeof(UNICODE_STRING);
		if (ReturnLength)
			*ReturnLength = need;
		if (ProcessInformationLength < need)
			return STATUS_INFO_LENGTH_MISMATCH;
		us->Buffer = (PWCH)(us + 1);
		RtlUTF8ToUnicodeN(us->Buffer, need - (ULONG)sizeof(UNICODE_STRING), &w, exe,
				  (ULONG)n);
		us->Length = us->MaximumLength = (USHORT)w;
		return STATUS_SUCCESS;
	}
	default:
		return STATUS_INVALID_INFO_CLASS;
	}
}

/* ---- Security: privileges and subject contexts (descriptors, ACLs, SIDs: security.c) -------- */

BOOLEAN SeSinglePrivilegeCheck(LUID PrivilegeValue, KPROCESSOR_MODE PreviousMode)
{
	(void)PrivilegeValue;
	(void)PreviousMode;
	/* fltmgrd runs as root: every privilege is held. */
	return geteuid() == 0;
}

void SeCaptureSubjectContext(PSECURITY_SUBJECT_CONTEXT SubjectContext)
{
	memset(SubjectContext, 0, sizeof(*SubjectContext));
}

void SeReleaseSubjectContext(PSECURITY_SUBJECT_CONTEXT SubjectContext)
{
	(void)SubjectContext;
}

BOOLEAN SeTokenIsAdmin(PACCESS_TOKEN Token)
{
	(void)Token;
	return geteuid() == 0;
}

/* ---- Addresses, names, versions, stacks ------------------------------------------------------- */

static NTSTATUS addr_out(const char *s, PWSTR w, PSTR a, PULONG len)
{
	ULONG n = (ULONG)strlen(s) + 1;

	if (!len)
		return STATUS_INVALID_PARAMETER;
	if (*len < n) {
		*len = n;
		return STATUS_INVALID_PARAMETER;
	}
	for (ULONG i = 0; i < n; i++) {
		if (w)
			w[i] = (WCHAR)(unsigned char)s[i];
		else
			a[i] = s[i];
	}
	*len = n;
	return STATUS_SUCCESS;
}

static void v4_str(const IN_ADDR *Address, USHORT Port, char *out, size_t cap)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &Address->S_un.S_addr, ip, sizeof(ip));
	if (Port)
		snprintf(out, cap, "%s:%u", ip, (unsigned)ntohs(Port));
	else
		snprintf(out, cap, "%s", ip);
}

static void v6_str(const IN6_ADDR *Address, ULONG ScopeId, USHORT Port, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN], scope[16] = "";

	inet_ntop(10 /* Linux AF_INET6 */, Address->u.Byte, ip, sizeof(ip));
	if (ScopeId)
		snprintf(scope, sizeof(scope), "%%%u", ScopeId);
	if (Port)
		snprintf(out, cap, "[%s%s]:%u", ip, scope, (unsigned)ntohs(Port));
	else
		snprintf(out, cap, "%s%s", ip, scope);
}

NTSTATUS RtlIpv4AddressToStringExW(const IN_ADDR *Address, USHORT Port, PWSTR AddressString,
				   PULONG AddressStringLength)
{
	char s[64];

	if (!Address || !AddressString)
		return STATUS_INVALID_PARAMETER;
	v4_str(Address, Port, s, sizeof(s));
	return addr_out(s, AddressString, NULL, AddressStringLength);
}

NTSTATUS RtlIpv4AddressToStringExA(const IN_ADDR *Address, USHORT Port, PSTR AddressString,
				   PULONG AddressStringLength)
{
	char s[64];

	if (!Address || !AddressString)
		return STATUS_INVALID_PARAMETER;
	v4_str(Address, Port, s, sizeof(s));
	return addr_out(s, NULL, AddressString, AddressStringLength);
}

NTSTATUS RtlIpv6AddressToStringExW(const IN6_ADDR *Address, ULONG ScopeId, USHORT Port,
				   PWSTR AddressString, PULONG AddressStringLength)
{
	char s[96];

	if (!Address || !AddressString)
		return STATUS_INVALID_PARAMETER;
	v6_str(Address, ScopeId, Port, s, sizeof(s));
	return addr_out(s, AddressString, NULL, AddressStringLength);
}

NTSTATUS RtlIpv6AddressToStringExA(const IN6_ADDR *Address, ULONG ScopeId, USHORT Port,
				   PSTR AddressString, PULONG AddressStringLength)
{
	char s[96];

	if (!Address || !AddressString)
		return STATUS_INVALID_PARAMETER;
	v6_str(Address, ScopeId, Port, s, sizeof(s));
	return addr_out(s, NULL, AddressString, AddressStringLength);
}

BOOLEAN RtlIsNameLegalDOS8Dot3(PCUNICODE_STRING Name, PANSI_STRING OemName,
			       PBOOLEAN NameContainsSpaces)
{
	USHORT n = Name->Length / sizeof(WCHAR), base = 0, ext = 0;
	int dot = 0, spaces = 0;

	if (n == 0 || n > 12)
		return FALSE;
	if ((n == 1 && Name->Buffer[0] == '.') ||
	    (n == 2 && Name->Buffer[0] == '.' && Name->Buffer[1] == '.'))
		return TRUE;
	for (USHORT i = 0; i < n; i++) {
		WCHAR c = Name->Buffer[i];
		if (c == '.') {
			if (dot || i == 0 || i == n - 1)
				return FALSE;
			dot = 1;
			continue;
		}
		if (c > 0x7f || c < 0x20 || strchr("\"*+,/:;<=>?[\\]|", (int)c))
			return FALSE;
		if (c == ' ')
			spaces = 1;
		if (dot)
			ext++;
		else
			base++;
	}
	if (base > 8 || ext > 3)
		return FALSE;
	if (NameContainsSpaces)
		*NameContainsSpaces = (BOOLEAN)spaces;
	if (OemName && OemName->Buffer && OemName->MaximumLength >= n) {
		for (USHORT i = 0; i < n; i++)
			OemName->Buffer[i] = (CHAR)RtlUpcaseUnicodeChar(Name->Buffer[i]);
		OemName->Length = n;
	}
	return TRUE;
}

NTSTATUS RtlGetVersion(PRTL_OSVERSIONINFOW lpVersionInformation)
{
	PRTL_OSVERSIONINFOW v = lpVersionInformation;

	if (!v || (v->dwOSVersionInfoSize != sizeof(RTL_OSVERSIONINFOW) &&
		   v->dwOSVersionInfoSize != sizeof(RTL_OSVERSIONINFOEXW)))
		return STATUS_INVALID_PARAMETER;
	v->dwMajorVersion = 10;
	v->dwMinorVersion = 0;
	v->dwBuildNumber = 19041;
	v->dwPlatformId = 2; /* VER_PLATFORM_WIN32_NT */
	memset(v->szCSDVersion, 0, sizeof(v->szCSDVersion));
	if (v->dwOSVersionInfoSize == sizeof(RTL_OSVERSIONINFOEXW)) {
		PRTL_OSVERSIONINFOEXW x = (PRTL_OSVERSIONINFOEXW)v;
		x->wServicePackMajor = x->wServicePackMinor = 0;
		x->wSuiteMask = 0;
		x->wProductType = 3; /* VER_NT_SERVER */
	}
	return STATUS_SUCCESS;
}

PVOID RtlPcToFileHeader(PVOID PcValue, PVOID *BaseOfImage)
{
	Dl_info info;

	*BaseOfImage = NULL;
	if (dladdr(PcValue, &info) && info.dli_fbase)
		*BaseOfImage = info.dli_fbase;
	return *BaseOfImage;
}

USHORT RtlCaptureStackBackTrace(ULONG FramesToSkip, ULONG FramesToCapture, PVOID *BackTrace,
				PULONG BackTraceHash)
{
	void *frames[128];
	int n = backtrace(frames, 128);
	ULONG out = 0, hash = 0;

	for (int i = (int)FramesToSkip + 1; i < n && out < FramesToCapture; i++) {
		BackTrace[out++] = frames[i];
		hash += (ULONG)(ULONG_PTR)frames[i];
	}
	if (BackTraceHash)
		*BackTraceHash = hash;
	return (USHORT)out;
}

KPRIORITY KeQueryPriorityThread(PKTHREAD Thread)
{
	(void)Thread;
	return 8;
}

KPRIORITY KeSetPriorityThread(PKTHREAD Thread, KPRIORITY Priority)
{
	(void)Thread;
	(void)Priority;
	return 8;
}

LONG KeSetBasePriorityThread(PKTHREAD Thread, LONG Increment)
{
	(void)Thread;
	(void)Increment;
	return 0;
}

/* ---- I/O manager pieces that exist without IRPs -------------------------------------------------- */

static KSPIN_LOCK cancel_lock;

void IoAcquireCancelSpinLock(PKIRQL Irql)
{
	KeAcquireSpinLock(&cancel_lock, Irql);
}

void IoReleaseCancelSpinLock(KIRQL Irql)
{
	KeReleaseSpinLock(&cancel_lock, Irql);
}

NTSTATUS IoCreateDevice(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize,
			PUNICODE_STRING DeviceName, DEVICE_TYPE DeviceType,
			ULONG DeviceCharacteristics, BOOLEAN Exclusive,
			PDEVICE_OBJECT *DeviceObject)
{
	PDEVICE_OBJECT d;

	(void)DeviceName;
	if (!DriverObject || !DeviceObject)
		return STATUS_INVALID_PARAMETER;
	/* The device exists for its owner only: nothing on Linux can open it by name. */
	d = ExAllocatePoolZero(NonPagedPool, sizeof(*d) + DeviceExtensionSize, 'veDI');
	if (!d)
		return STATUS_INSUFFICIENT_RESOURCES;
	d->Type = IO_TYPE_DEVICE;
	d->Size = (USHORT)sizeof(*d);
	d->DriverObject = DriverObject;
	d->DeviceType = DeviceType;
	d->Characteristics = DeviceCharacteristics;
	d->Flags = DO_DEVICE_INITIALIZING | (Exclusive ? DO_EXCLUSIVE : 0);
	d->DeviceExtension = DeviceExtensionSize ? (PVOID)(d + 1) : NULL;
	d->StackSize = 1;
	d->SectorSize = 512;
	KeInitializeEvent(&d->DeviceLock, SynchronizationEvent, TRUE);
	d->NextDevice = DriverObject->DeviceObject;
	DriverObject->DeviceObject = d;
	*DeviceObject = d;
	return STATUS_SUCCESS;
}

void IoDeleteDevice(PDEVICE_OBJECT DeviceObject)
{
	PDEVICE_OBJECT *p;

	if (!DeviceObject)
		return;
	for (p = &DeviceObject->DriverObject->DeviceObject; *p; p = &(*p)->NextDevice) {
		if (*p == DeviceObject) {
			*p = DeviceObject->NextDevice;
			break;
		}
	}
	ExFreePoolWithTag(DeviceObject, 'veDI');
}

PDEVICE_OBJECT IoGetAttachedDeviceReference(PDEVICE_OBJECT DeviceObject)
{
	while (DeviceObject && DeviceObject->AttachedDevice)
		DeviceObject = DeviceObject->AttachedDevice;
	return DeviceObject;
}

PDEVICE_OBJECT IoGetRelatedDeviceObject(PFILE_OBJECT FileObject)
{
	return FileObject ? IoGetAttachedDeviceReference(FileObject->DeviceObject) : NULL;
}

PDEVICE_OBJECT IoGetBaseFileSystemDeviceObject(PFILE_OBJECT FileObject)
{
	return FileObject ? FileObject->DeviceObject : NULL;
}

ULONG IoGetRequestorProcessId(PIRP Irp)
{
	(void)Irp;
	return (ULONG)(ULONG_PTR)PsGetCurrentProcessId();
}

PEPROCESS IoGetRequestorProcess(PIRP Irp)
{
	(void)Irp;
	return PsGetCurrentProcess();
}

BOOLEAN IoIsOperationSynchronous(PIRP Irp)
{
	(void)Irp;
	return TRUE;
}

PTXN_PARAMETER_BLOCK IoGetTransactionParameterBlock(PFILE_OBJECT FileObject)
{
	(void)FileObject;
	return NULL;
}

NTSTATUS IoCheckEaBufferValidity(PFILE_FULL_EA_INFORMATION EaBuffer, ULONG EaLength,
				 PULONG ErrorOffset)
{
	ULONG off = 0;

	for (;;) {
		PFILE_FULL_EA_INFORMATION e = (PVOID)((PUCHAR)EaBuffer + off);
		ULONG need;

		if (EaLength - off < FIELD_OFFSET(FILE_FULL_EA_INFORMATION, EaName))
			goto bad;
		need = FIELD_OFFSET(FILE_FULL_EA_INFORMATION, EaName) + e->EaNameLength + 1 +
		       e->EaValueLength;
		if (need > EaLength - off || e->EaName[e->EaNameLength] != 0)
			goto bad;
		if (e->NextEntryOffset == 0)
			return STATUS_SUCCESS;
		if (e->NextEntryOffset < need || (e->NextEntryOffset & 3) ||
		    e->NextEntryOffset > EaLength - off)
			goto bad;
		off += e->NextEntryOffset;
	}
bad:
	if (ErrorOffset)
		*ErrorOffset = off;
	return STATUS_EA_LIST_INCONSISTENT;
}

/* ---- Not available on Linux ------------------------------------------------------------------- */

NTSTATUS IoCreateSymbolicLink(PUNICODE_STRING SymbolicLinkName, PUNICODE_STRING DeviceName)
{
	(void)SymbolicLinkName;
	(void)DeviceName;
	NOT_AVAILABLE("IoCreateSymbolicLink");
	return STATUS_NOT_IMPLEMENTED;
}

NTSTATUS IoDeleteSymbolicLink(PUNICODE_STRING SymbolicLinkName)
{
	(void)SymbolicLinkName;
	NOT_AVAILABLE("IoDeleteSymbolicLink");
	return STATUS_NOT_IMPLEMENTED;
}

NTSTATUS IofCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	(void)DeviceObject;
	(void)Irp;
	NOT_AVAILABLE("IoCallDriver");
	return STATUS_NOT_IMPLEMENTED;
}

void IofCompleteRequest(PIRP Irp, CCHAR PriorityBoost)
{
	(void)Irp;
	(void)PriorityBoost;
	NOT_AVAILABLE("IoCompleteRequest");
}

PIRP IoAllocateIrp(CCHAR StackSize, BOOLEAN ChargeQuota)
{
	(void)StackSize;
	(void)ChargeQuota;
	NOT_AVAILABLE("IoAllocateIrp");
	return NULL;
}

void IoFreeIrp(PIRP Irp)
{
	(void)Irp;
}

PIRP IoBuildDeviceIoControlRequest(ULONG IoControlCode, PDEVICE_OBJECT DeviceObject,
				   PVOID InputBuffer, ULONG InputBufferLength, PVOID OutputBuffer,
				   ULONG OutputBufferLength, BOOLEAN InternalDeviceIoControl,
				   PKEVENT Event, PIO_STATUS_BLOCK IoStatusBlock)
{
	(void)IoControlCode;
	(void)DeviceObject;
	(void)InputBuffer;
	(void)InputBufferLength;
	(void)OutputBuffer;
	(void)OutputBufferLength;
	(void)InternalDeviceIoControl;
	(void)Event;
	(void)IoStatusBlock;
	NOT_AVAILABLE("IoBuildDeviceIoControlRequest");
	return NULL;
}

NTSTATUS IoGetDeviceObjectPointer(PUNICODE_STRING ObjectName, ACCESS_MASK DesiredAccess,
				  PFILE_OBJECT *FileObject, PDEVICE_OBJECT *DeviceObject)
{
	(void)ObjectName;
	(void)DesiredAccess;
	(void)FileObject;
	(void)DeviceObject;
	NOT_AVAILABLE("IoGetDeviceObjectPointer");
	return STATUS_NOT_IMPLEMENTED;
}

NTSTATUS IoRegisterShutdownNotification(PDEVICE_OBJECT DeviceObject)
{
	(void)DeviceObject;
	NOT_AVAILABLE("IoRegisterShutdownNotification");
	return STATUS_NOT_IMPLEMENTED;
}

void IoUnregisterShutdownNotification(PDEVICE_OBJECT DeviceObject)
{
	(void)DeviceObject;
}

NTSTATUS IoWMIRegistrationControl(PDEVICE_OBJECT DeviceObject, ULONG Action)
{
	(void)DeviceObject;
	(void)Action;
	NOT_AVAILABLE("IoWMIRegistrationControl");
	return STATUS_NOT_IMPLEMENTED;
}

void IoRegisterDriverReinitialization(PDRIVER_OBJECT DriverObject,
				      PDRIVER_REINITIALIZE DriverReinitializationRoutine,
				      PVOID Context)
{
	(void)DriverObject;
	(void)DriverReinitializationRoutine;
	(void)Context;
	NOT_AVAILABLE("IoRegisterDriverReinitialization");
}

NTSTATUS PsSetCreateProcessNotifyRoutine(PCREATE_PROCESS_NOTIFY_ROUTINE NotifyRoutine,
					 BOOLEAN Remove)
{
	(void)NotifyRoutine;
	(void)Remove;
	NOT_AVAILABLE("PsSetCreateProcessNotifyRoutine");
	return STATUS_NOT_IMPLEMENTED;
}

NTSTATUS PsSetCreateThreadNotifyRoutine(PCREATE_THREAD_NOTIFY_ROUTINE NotifyRoutine)
{
	(void)NotifyRoutine;
	NOT_AVAILABLE("PsSetCreateThreadNotifyRoutine");
	return STATUS_NOT_IMPLEMENTED;
}

NTSTATUS PsRemoveCreateThreadNotifyRoutine(PCREATE_THREAD_NOTIFY_ROUTINE NotifyRoutine)
{
	(void)NotifyRoutine;
	return STATUS_PROCEDURE_NOT_FOUND;
}

NTSTATUS MmMapViewInSystemSpace(PVOID Section, PVOID *MappedBase, PSIZE_T ViewSize)
{
	(void)Section;
	(void)MappedBase;
	(void)ViewSize;
	NOT_AVAILABLE("MmMapViewInSystemSpace");
	return STATUS_NOT_IMPLEMENTED;
}

NTSTATUS MmUnmapViewInSystemSpace(PVOID MappedBase)
{
	(void)MappedBase;
	NOT_AVAILABLE("MmUnmapViewInSystemSpace");
	return STATUS_NOT_IMPLEMENTED;
}

NTSTATUS ObGetObjectSecurity(PVOID Object, PSECURITY_DESCRIPTOR *SecurityDescriptor,
			     PBOOLEAN MemoryAllocated)
{
	(void)Object;
	(void)SecurityDescriptor;
	(void)MemoryAllocated;
	NOT_AVAILABLE("ObGetObjectSecurity");
	return STATUS_NOT_IMPLEMENTED;
}

void ObReleaseObjectSecurity(PSECURITY_DESCRIPTOR SecurityDescriptor, BOOLEAN MemoryAllocated)
{
	(void)SecurityDescriptor;
	(void)MemoryAllocated;
}

NTSTATUS ZwCreateSection(PHANDLE SectionHandle, ACCESS_MASK DesiredAccess,
			 POBJECT_ATTRIBUTES ObjectAttributes, PLARGE_INTEGER MaximumSize,
			 ULONG SectionPageProtection, ULONG AllocationAttributes, HANDLE FileHandle)
{
	(void)SectionHandle;
	(void)DesiredAccess;
	(void)ObjectAttributes;
	(void)MaximumSize;
	(void)SectionPageProtection;
	(void)AllocationAttributes;
	(void)FileHandle;
	NOT_AVAILABLE("ZwCreateSection");
	return STATUS_NOT_IMPLEMENTED;
}

NTSTATUS ZwMapViewOfSection(HANDLE SectionHandle, HANDLE ProcessHandle, PVOID *BaseAddress,
			    ULONG_PTR ZeroBits, SIZE_T CommitSize, PLARGE_INTEGER SectionOffset,
			    PSIZE_T ViewSize, SECTION_INHERIT InheritDisposition,
			    ULONG AllocationType, ULONG Win32Protect)
{
	(void)SectionHandle;
	(void)ProcessHandle;
	(void)BaseAddress;
	(void)ZeroBits;
	(void)CommitSize;
	(void)SectionOffset;
	(void)ViewSize;
	(void)InheritDisposition;
	(void)AllocationType;
	(void)Win32Protect;
	NOT_AVAILABLE("ZwMapViewOfSection");
	return STATUS_NOT_IMPLEMENTED;
}

NTSTATUS ZwUnmapViewOfSection(HANDLE ProcessHandle, PVOID BaseAddress)
{
	(void)ProcessHandle;
	(void)BaseAddress;
	NOT_AVAILABLE("ZwUnmapViewOfSection");
	return STATUS_NOT_IMPLEMENTED;
}

NTSTATUS ZwDuplicateObject(HANDLE SourceProcessHandle, HANDLE SourceHandle,
			   HANDLE TargetProcessHandle, PHANDLE TargetHandle,
			   ACCESS_MASK DesiredAccess, ULONG HandleAttributes, ULONG Options)
{
	(void)SourceProcessHandle;
	(void)SourceHandle;
	(void)TargetProcessHandle;
	(void)TargetHandle;
	(void)DesiredAccess;
	(void)HandleAttributes;
	(void)Options;
	NOT_AVAILABLE("ZwDuplicateObject");
	return STATUS_NOT_IMPLEMENTED;
}

NTSTATUS ZwMakeTemporaryObject(HANDLE Handle)
{
	(void)Handle;
	NOT_AVAILABLE("ZwMakeTemporaryObject");
	return STATUS_NOT_IMPLEMENTED;
}

NTSTATUS ZwQueryInformationTransaction(HANDLE TransactionHandle,
				       TRANSACTION_INFORMATION_CLASS TransactionInformationClass,
				       PVOID TransactionInformation,
				       ULONG TransactionInformationLength, PULONG ReturnLength)
{
	(void)TransactionHandle;
	(void)TransactionInformationClass;
	(void)TransactionInformation;
	(void)TransactionInformationLength;
	(void)ReturnLength;
	/* The filter manager never reports a transaction, so no handle can name one. */
	return STATUS_NOT_SUPPORTED;
}

/* ---- FsRtl helpers that need no file system state ------------------------------------------- */

BOOLEAN FsRtlIsNtstatusExpected(NTSTATUS Exception)
{
	/* The hardware exceptions a file system must not swallow are "unexpected". */
	switch (Exception) {
	case STATUS_DATATYPE_MISALIGNMENT:
	case STATUS_ACCESS_VIOLATION:
	case STATUS_ILLEGAL_INSTRUCTION:
	case STATUS_INSTRUCTION_MISALIGNMENT:
		return FALSE;
	default:
		return TRUE;
	}
}

void FsRtlDissectName(UNICODE_STRING Path, PUNICODE_STRING FirstName, PUNICODE_STRING RemainingName)
{
	USHORT n = Path.Length / sizeof(WCHAR), i = 0, start;

	FirstName->Length = FirstName->MaximumLength = 0;
	FirstName->Buffer = NULL;
	RemainingName->Length = RemainingName->MaximumLength = 0;
	RemainingName->Buffer = NULL;
	if (n == 0)
		return;
	if (Path.Buffer[0] == (WCHAR)0x5c)
		i = 1;
	start = i;
	while (i < n && Path.Buffer[i] != (WCHAR)0x5c)
		i++;
	FirstName->Buffer = Path.Buffer + start;
	FirstName->Length = FirstName->MaximumLength = (USHORT)((i - start) * sizeof(WCHAR));
	if (i < n) {
		i++;
		RemainingName->Buffer = Path.Buffer + i;
		RemainingName->Length = RemainingName->MaximumLength =
		    (USHORT)((n - i) * sizeof(WCHAR));
	}
}

BOOLEAN FsRtlAreNamesEqual(PCUNICODE_STRING ConstantNameA, PCUNICODE_STRING ConstantNameB,
			   BOOLEAN IgnoreCase, PCWCH UpcaseTable)
{
	/* A custom upcase table only refines case folding; ours is Unicode's. */
	(void)UpcaseTable;
	return RtlEqualUnicodeString(ConstantNameA, ConstantNameB, IgnoreCase);
}
