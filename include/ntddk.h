/* ntddk.h: wdm.h plus the NT driver extras (generic tables, transactions, create contexts). */
#ifndef FM_WDK_NTDDK_H
#define FM_WDK_NTDDK_H

#include <wdm.h>

/* ---- Generic tables (splay-tree ordered containers) --------------------------------------------- */

typedef enum _TABLE_SEARCH_RESULT {
	TableEmptyTree,
	TableFoundNode,
	TableInsertAsLeft,
	TableInsertAsRight
} TABLE_SEARCH_RESULT;

typedef enum _RTL_GENERIC_COMPARE_RESULTS {
	GenericLessThan,
	GenericGreaterThan,
	GenericEqual
} RTL_GENERIC_COMPARE_RESULTS;

typedef struct _RTL_SPLAY_LINKS {
	struct _RTL_SPLAY_LINKS *Parent;
	struct _RTL_SPLAY_LINKS *LeftChild;
	struct _RTL_SPLAY_LINKS *RightChild;
} RTL_SPLAY_LINKS, *PRTL_SPLAY_LINKS;

struct _RTL_GENERIC_TABLE;
typedef RTL_GENERIC_COMPARE_RESULTS RTL_GENERIC_COMPARE_ROUTINE(struct _RTL_GENERIC_TABLE *Table,
							       PVOID FirstStruct,
							       PVOID SecondStruct);
typedef RTL_GENERIC_COMPARE_ROUTINE *PRTL_GENERIC_COMPARE_ROUTINE;
typedef PVOID RTL_GENERIC_ALLOCATE_ROUTINE(struct _RTL_GENERIC_TABLE *Table, CLONG ByteSize);
typedef RTL_GENERIC_ALLOCATE_ROUTINE *PRTL_GENERIC_ALLOCATE_ROUTINE;
typedef void RTL_GENERIC_FREE_ROUTINE(struct _RTL_GENERIC_TABLE *Table, PVOID Buffer);
typedef RTL_GENERIC_FREE_ROUTINE *PRTL_GENERIC_FREE_ROUTINE;

typedef struct _RTL_GENERIC_TABLE {
	PRTL_SPLAY_LINKS TableRoot;
	LIST_ENTRY InsertOrderList;
	PLIST_ENTRY OrderedPointer;
	ULONG WhichOrderedElement;
	ULONG NumberGenericTableElements;
	PRTL_GENERIC_COMPARE_ROUTINE CompareRoutine;
	PRTL_GENERIC_ALLOCATE_ROUTINE AllocateRoutine;
	PRTL_GENERIC_FREE_ROUTINE FreeRoutine;
	PVOID TableContext;
} RTL_GENERIC_TABLE, *PRTL_GENERIC_TABLE;

void RtlInitializeGenericTable(PRTL_GENERIC_TABLE Table, PRTL_GENERIC_COMPARE_ROUTINE CompareRoutine,
			       PRTL_GENERIC_ALLOCATE_ROUTINE AllocateRoutine,
			       PRTL_GENERIC_FREE_ROUTINE FreeRoutine, PVOID TableContext);
PVOID RtlInsertElementGenericTable(PRTL_GENERIC_TABLE Table, PVOID Buffer, CLONG BufferSize,
				   PBOOLEAN NewElement);
PVOID RtlInsertElementGenericTableFull(PRTL_GENERIC_TABLE Table, PVOID Buffer, CLONG BufferSize,
				       PBOOLEAN NewElement, PVOID NodeOrParent,
				       TABLE_SEARCH_RESULT SearchResult);
BOOLEAN RtlDeleteElementGenericTable(PRTL_GENERIC_TABLE Table, PVOID Buffer);
PVOID RtlLookupElementGenericTable(PRTL_GENERIC_TABLE Table, PVOID Buffer);
PVOID RtlLookupElementGenericTableFull(PRTL_GENERIC_TABLE Table, PVOID Buffer,
				       PVOID *NodeOrParent, TABLE_SEARCH_RESULT *SearchResult);
PVOID RtlEnumerateGenericTable(PRTL_GENERIC_TABLE Table, BOOLEAN Restart);
PVOID RtlEnumerateGenericTableWithoutSplaying(PRTL_GENERIC_TABLE Table, PVOID *RestartKey);
PVOID RtlGetElementGenericTable(PRTL_GENERIC_TABLE Table, ULONG I);
ULONG RtlNumberGenericTableElements(PRTL_GENERIC_TABLE Table);
BOOLEAN RtlIsGenericTableEmpty(PRTL_GENERIC_TABLE Table);

/* ---- Transactions and create contexts ------------------------------------------------------------- */

#define TXF_MINIVERSION_COMMITTED_VIEW 0x0000
#define TXF_MINIVERSION_DIRTY_VIEW 0xFFFF
#define TXF_MINIVERSION_DEFAULT_VIEW 0xFFFE

typedef struct _TXN_PARAMETER_BLOCK {
	USHORT Length;
	USHORT TxFsContext;
	PVOID TransactionObject;
} TXN_PARAMETER_BLOCK, *PTXN_PARAMETER_BLOCK;

typedef struct _IO_DRIVER_CREATE_CONTEXT {
	CSHORT Size;
	struct _ECP_LIST *ExtraCreateParameter;
	PVOID DeviceObjectHint;
	PTXN_PARAMETER_BLOCK TxnParameters;
	PVOID SiloContext;
} IO_DRIVER_CREATE_CONTEXT, *PIO_DRIVER_CREATE_CONTEXT;

FORCEINLINE void IoInitializeDriverCreateContext(PIO_DRIVER_CREATE_CONTEXT DriverContext)
{
	memset(DriverContext, 0, sizeof(IO_DRIVER_CREATE_CONTEXT));
	DriverContext->Size = sizeof(IO_DRIVER_CREATE_CONTEXT);
}

PTXN_PARAMETER_BLOCK IoGetTransactionParameterBlock(PFILE_OBJECT FileObject);
NTSTATUS IoVolumeDeviceToDosName(PVOID VolumeDeviceObject, PUNICODE_STRING DosName);

/* ---- Process notifications and information ----------------------------------------------------- */

typedef void (*PCREATE_PROCESS_NOTIFY_ROUTINE)(HANDLE ParentId, HANDLE ProcessId, BOOLEAN Create);
typedef void (*PCREATE_THREAD_NOTIFY_ROUTINE)(HANDLE ProcessId, HANDLE ThreadId, BOOLEAN Create);
NTSTATUS PsSetCreateProcessNotifyRoutine(PCREATE_PROCESS_NOTIFY_ROUTINE NotifyRoutine,
					 BOOLEAN Remove);
NTSTATUS PsSetCreateThreadNotifyRoutine(PCREATE_THREAD_NOTIFY_ROUTINE NotifyRoutine);
NTSTATUS PsRemoveCreateThreadNotifyRoutine(PCREATE_THREAD_NOTIFY_ROUTINE NotifyRoutine);

typedef enum _PROCESSINFOCLASS {
	ProcessBasicInformation = 0,
	ProcessImageFileName = 27,
	ProcessImageFileNameWin32 = 43,
} PROCESSINFOCLASS;

typedef struct _PROCESS_BASIC_INFORMATION {
	NTSTATUS ExitStatus;
	PVOID PebBaseAddress;
	ULONG_PTR AffinityMask;
	KPRIORITY BasePriority;
	ULONG_PTR UniqueProcessId;
	ULONG_PTR InheritedFromUniqueProcessId;
} PROCESS_BASIC_INFORMATION, *PPROCESS_BASIC_INFORMATION;

NTSTATUS ZwQueryInformationProcess(HANDLE ProcessHandle, PROCESSINFOCLASS ProcessInformationClass,
				   PVOID ProcessInformation, ULONG ProcessInformationLength,
				   PULONG ReturnLength);

#endif
