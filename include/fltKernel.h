/* The Filter Manager kernel API for minifilters: types, constants and every Flt* routine. */
#ifndef FM_WDK_FLTKERNEL_H
#define FM_WDK_FLTKERNEL_H

/*
 * Structure layouts follow the WDK for x64 (member names, order and types), so minifilters
 * that initialise FLT_REGISTRATION by position or read FLT_PARAMETERS.Others.ArgumentN work
 * unchanged; tests/unit/nt/test_layout.c checks the offsets.  One deliberate difference: the
 * WDK declares some members CONST (FLT_CALLBACK_DATA.Thread/Iopb, FLT_RELATED_OBJECTS.*),
 * which would stop the filter manager from building these structures with plain C; here they
 * are ordinary members.  Filters only read them, so source compatibility is unaffected.
 *
 * The routines are implemented by libfltmgr (src/core and src/nt).  Anything Linux cannot
 * provide returns STATUS_NOT_SUPPORTED or STATUS_NOT_IMPLEMENTED and logs once.
 */

#include <ntifs.h>
#include <fltUserStructures.h>
#include <fm_wcrt.h>

/*
 * WDK code initialises FLT_REGISTRATION / FLT_OPERATION_REGISTRATION positionally and
 * partially ({IRP_MJ_OPERATION_END}), which -Wextra reports as missing field initializers.
 * Filter builds (2-byte wchar_t) get that one warning switched off here; the flags in
 * fltkernel.pc should also carry -Wno-missing-field-initializers.
 */
#if defined(__SIZEOF_WCHAR_T__) && __SIZEOF_WCHAR_T__ == 2 && !defined(FM_KEEP_FIELD_INIT_WARNINGS)
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif

#define FLTAPI NTAPI

#define FLT_MGR_BASELINE 1
#define FLT_MGR_AFTER_XPSP2 1
#define FLT_MGR_LONGHORN 1
#define FLT_MGR_WIN7 1
#define FLT_MGR_WIN8 1
#define FLT_MGR_WINBLUE 1
#define FLT_MGR_WIN10 1

/* ---- Opaque filter manager objects ------------------------------------------------------------ */

typedef struct fm_filter *PFLT_FILTER;
typedef struct fm_volume *PFLT_VOLUME;
typedef struct fm_instance *PFLT_INSTANCE;
typedef struct fm_port *PFLT_PORT;
typedef PVOID PFLT_CONTEXT;
typedef struct fm_deferred_io_workitem *PFLT_DEFERRED_IO_WORKITEM;
typedef struct fm_generic_workitem *PFLT_GENERIC_WORKITEM;

#define NULL_CONTEXT ((PFLT_CONTEXT)NULL)

/* ---- Pseudo major functions and operation flags ----------------------------------------------- */

#define IRP_MJ_ACQUIRE_FOR_SECTION_SYNCHRONIZATION ((UCHAR)-1)
#define IRP_MJ_RELEASE_FOR_SECTION_SYNCHRONIZATION ((UCHAR)-2)
#define IRP_MJ_ACQUIRE_FOR_MOD_WRITE ((UCHAR)-3)
#define IRP_MJ_RELEASE_FOR_MOD_WRITE ((UCHAR)-4)
#define IRP_MJ_ACQUIRE_FOR_CC_FLUSH ((UCHAR)-5)
#define IRP_MJ_RELEASE_FOR_CC_FLUSH ((UCHAR)-6)
#define IRP_MJ_QUERY_OPEN ((UCHAR)-7)
#define IRP_MJ_FAST_IO_CHECK_IF_POSSIBLE ((UCHAR)-13)
#define IRP_MJ_NETWORK_QUERY_OPEN ((UCHAR)-14)
#define IRP_MJ_MDL_READ ((UCHAR)-15)
#define IRP_MJ_MDL_READ_COMPLETE ((UCHAR)-16)
#define IRP_MJ_PREPARE_MDL_WRITE ((UCHAR)-17)
#define IRP_MJ_MDL_WRITE_COMPLETE ((UCHAR)-18)
#define IRP_MJ_VOLUME_MOUNT ((UCHAR)-19)
#define IRP_MJ_VOLUME_DISMOUNT ((UCHAR)-20)
#define FLT_INTERNAL_OPERATION_COUNT 22
#define IRP_MJ_OPERATION_END ((UCHAR)0x80)

/* ---- Callback data ------------------------------------------------------------------------------ */

typedef ULONG FLT_CALLBACK_DATA_FLAGS;
#define FLTFL_CALLBACK_DATA_REISSUE_MASK 0x0000FFFF
#define FLTFL_CALLBACK_DATA_IRP_OPERATION 0x00000001
#define FLTFL_CALLBACK_DATA_FAST_IO_OPERATION 0x00000002
#define FLTFL_CALLBACK_DATA_FS_FILTER_OPERATION 0x00000004
#define FLTFL_CALLBACK_DATA_SYSTEM_BUFFER 0x00000008
#define FLTFL_CALLBACK_DATA_GENERATED_IO 0x00010000
#define FLTFL_CALLBACK_DATA_REISSUED_IO 0x00020000
#define FLTFL_CALLBACK_DATA_DRAINING_IO 0x00040000
#define FLTFL_CALLBACK_DATA_POST_OPERATION 0x00080000
#define FLTFL_CALLBACK_DATA_NEW_SYSTEM_BUFFER 0x00100000
#define FLTFL_CALLBACK_DATA_DIRTY 0x80000000

#define FLT_IS_IRP_OPERATION(Data) (FlagOn((Data)->Flags, FLTFL_CALLBACK_DATA_IRP_OPERATION))
#define FLT_IS_FASTIO_OPERATION(Data)                                                            \
	(FlagOn((Data)->Flags, FLTFL_CALLBACK_DATA_FAST_IO_OPERATION))
#define FLT_IS_FS_FILTER_OPERATION(Data)                                                         \
	(FlagOn((Data)->Flags, FLTFL_CALLBACK_DATA_FS_FILTER_OPERATION))
#define FLT_IS_REISSUED_IO(Data) (FlagOn((Data)->Flags, FLTFL_CALLBACK_DATA_REISSUED_IO))
#define FLT_IS_SYSTEM_BUFFER(Data) (FlagOn((Data)->Flags, FLTFL_CALLBACK_DATA_SYSTEM_BUFFER))
#define FLT_IS_GENERATED_IO(Data) (FlagOn((Data)->Flags, FLTFL_CALLBACK_DATA_GENERATED_IO))

/* Callback data OperationFlags beyond the SL_* ones. */
#define FLTFL_IO_OPERATION_NON_CACHED 0x00000001
#define FLTFL_IO_OPERATION_PAGING 0x00000002
#define FLTFL_IO_OPERATION_DO_NOT_UPDATE_BYTE_OFFSET 0x00000004
#define FLTFL_IO_OPERATION_SYNCHRONOUS_PAGING 0x00000008

typedef struct _FLT_TAG_DATA_BUFFER {
	ULONG FileTag;
	USHORT TagDataLength;
	USHORT UnparsedNameLength;
	union {
		struct {
			USHORT SubstituteNameOffset;
			USHORT SubstituteNameLength;
			USHORT PrintNameOffset;
			USHORT PrintNameLength;
			ULONG Flags;
			WCHAR PathBuffer[1];
		} SymbolicLinkReparseBuffer;
		struct {
			USHORT SubstituteNameOffset;
			USHORT SubstituteNameLength;
			USHORT PrintNameOffset;
			USHORT PrintNameLength;
			WCHAR PathBuffer[1];
		} MountPointReparseBuffer;
		struct {
			UCHAR DataBuffer[1];
		} GenericReparseBuffer;
		struct {
			GUID TagGuid;
			UCHAR DataBuffer[1];
		} GenericGUIDReparseBuffer;
	};
} FLT_TAG_DATA_BUFFER, *PFLT_TAG_DATA_BUFFER;
#define FLT_TAG_DATA_BUFFER_HEADER_SIZE FIELD_OFFSET(FLT_TAG_DATA_BUFFER, GenericReparseBuffer)

/* Section synchronisation (AcquireForSectionSynchronization parameters). */
typedef enum _FS_FILTER_SECTION_SYNC_TYPE { SyncTypeOther = 0, SyncTypeCreateSection } FS_FILTER_SECTION_SYNC_TYPE,
	*PFS_FILTER_SECTION_SYNC_TYPE;

typedef struct _FS_FILTER_SECTION_SYNC_OUTPUT {
	ULONG StructureSize;
	ULONG SizeReturned;
	ULONG Flags;
	ULONG DesiredReadAlignment;
} FS_FILTER_SECTION_SYNC_OUTPUT, *PFS_FILTER_SECTION_SYNC_OUTPUT;

typedef struct _NAMED_PIPE_CREATE_PARAMETERS *PNAMED_PIPE_CREATE_PARAMETERS;
typedef struct _MAILSLOT_CREATE_PARAMETERS *PMAILSLOT_CREATE_PARAMETERS;
typedef struct _CM_RESOURCE_LIST *PCM_RESOURCE_LIST;
typedef struct _IO_RESOURCE_REQUIREMENTS_LIST *PIO_RESOURCE_REQUIREMENTS_LIST;
typedef struct _DEVICE_CAPABILITIES *PDEVICE_CAPABILITIES;
typedef struct _INTERFACE *PINTERFACE;
typedef ULONG LCID;
typedef enum _DEVICE_RELATION_TYPE {
	BusRelations,
	EjectionRelations,
	PowerRelations,
	RemovalRelations,
	TargetDeviceRelation,
	SingleBusRelations,
	TransportRelations
} DEVICE_RELATION_TYPE;
typedef enum { BusQueryDeviceID = 0, BusQueryHardwareIDs, BusQueryCompatibleIDs, BusQueryInstanceID,
	       BusQueryDeviceSerialNumber, BusQueryContainerID } BUS_QUERY_ID_TYPE;
typedef enum { DeviceTextDescription = 0, DeviceTextLocationInformation } DEVICE_TEXT_TYPE;
typedef enum _DEVICE_USAGE_NOTIFICATION_TYPE {
	DeviceUsageTypeUndefined,
	DeviceUsageTypePaging,
	DeviceUsageTypeHibernation,
	DeviceUsageTypeDumpFile,
	DeviceUsageTypeBoot,
	DeviceUsageTypePostDisplay,
	DeviceUsageTypeGuestAssigned
} DEVICE_USAGE_NOTIFICATION_TYPE;

#define FM_PTR_ALIGN DECLSPEC_ALIGN(8)

/*
 * The parameters of an operation, one view per major function.  Every view starts at offset 0
 * and pointer-aligned members line up with Others.Argument1..6 exactly as on Windows x64.
 */
typedef union _FLT_PARAMETERS {
	struct {
		PIO_SECURITY_CONTEXT SecurityContext;
		ULONG Options;
		USHORT FM_PTR_ALIGN FileAttributes;
		USHORT ShareAccess;
		ULONG FM_PTR_ALIGN EaLength;
		PVOID EaBuffer;
		LARGE_INTEGER AllocationSize;
	} Create;

	struct {
		PIO_SECURITY_CONTEXT SecurityContext;
		ULONG Options;
		USHORT FM_PTR_ALIGN Reserved;
		USHORT ShareAccess;
		PVOID Parameters;
	} CreatePipe;

	struct {
		PIO_SECURITY_CONTEXT SecurityContext;
		ULONG Options;
		USHORT FM_PTR_ALIGN Reserved;
		USHORT ShareAccess;
		PVOID Parameters;
	} CreateMailslot;

	struct {
		ULONG Length;
		ULONG FM_PTR_ALIGN Key;
		LARGE_INTEGER ByteOffset;
		PVOID ReadBuffer;
		PMDL MdlAddress;
	} Read;

	struct {
		ULONG Length;
		ULONG FM_PTR_ALIGN Key;
		LARGE_INTEGER ByteOffset;
		PVOID WriteBuffer;
		PMDL MdlAddress;
	} Write;

	struct {
		ULONG Length;
		FILE_INFORMATION_CLASS FM_PTR_ALIGN FileInformationClass;
		PVOID InfoBuffer;
	} QueryFileInformation;

	struct {
		ULONG Length;
		FILE_INFORMATION_CLASS FM_PTR_ALIGN FileInformationClass;
		PFILE_OBJECT ParentOfTarget;
		union {
			struct {
				BOOLEAN ReplaceIfExists;
				BOOLEAN AdvanceOnly;
			};
			ULONG ClusterCount;
			HANDLE DeleteHandle;
		};
		PVOID InfoBuffer;
	} SetFileInformation;

	struct {
		ULONG Length;
		PVOID EaList;
		ULONG EaListLength;
		ULONG FM_PTR_ALIGN EaIndex;
		PVOID EaBuffer;
		PMDL MdlAddress;
	} QueryEa;

	struct {
		ULONG Length;
		PVOID EaBuffer;
		PMDL MdlAddress;
	} SetEa;

	struct {
		ULONG Length;
		FS_INFORMATION_CLASS FM_PTR_ALIGN FsInformationClass;
		PVOID VolumeBuffer;
	} QueryVolumeInformation;

	struct {
		ULONG Length;
		FS_INFORMATION_CLASS FM_PTR_ALIGN FsInformationClass;
		PVOID VolumeBuffer;
	} SetVolumeInformation;

	union {
		struct {
			ULONG Length;
			PUNICODE_STRING FileName;
			FILE_INFORMATION_CLASS FileInformationClass;
			ULONG FM_PTR_ALIGN FileIndex;
			PVOID DirectoryBuffer;
			PMDL MdlAddress;
		} QueryDirectory;

		struct {
			ULONG Length;
			ULONG FM_PTR_ALIGN CompletionFilter;
			ULONG FM_PTR_ALIGN Spare1;
			ULONG FM_PTR_ALIGN Spare2;
			PVOID DirectoryBuffer;
			PMDL MdlAddress;
		} NotifyDirectory;

		struct {
			ULONG Length;
			ULONG FM_PTR_ALIGN CompletionFilter;
			DIRECTORY_NOTIFY_INFORMATION_CLASS FM_PTR_ALIGN DirectoryNotifyInformationClass;
			ULONG FM_PTR_ALIGN Spare2;
			PVOID DirectoryBuffer;
			PMDL MdlAddress;
		} NotifyDirectoryEx;
	} DirectoryControl;

	union {
		struct {
			PVPB Vpb;
			PDEVICE_OBJECT DeviceObject;
		} VerifyVolume;

		struct {
			ULONG OutputBufferLength;
			ULONG FM_PTR_ALIGN InputBufferLength;
			ULONG FM_PTR_ALIGN FsControlCode;
		} Common;

		struct {
			ULONG OutputBufferLength;
			ULONG FM_PTR_ALIGN InputBufferLength;
			ULONG FM_PTR_ALIGN FsControlCode;
			PVOID InputBuffer;
			PVOID OutputBuffer;
			PMDL OutputMdlAddress;
		} Neither;

		struct {
			ULONG OutputBufferLength;
			ULONG FM_PTR_ALIGN InputBufferLength;
			ULONG FM_PTR_ALIGN FsControlCode;
			PVOID SystemBuffer;
		} Buffered;

		struct {
			ULONG OutputBufferLength;
			ULONG FM_PTR_ALIGN InputBufferLength;
			ULONG FM_PTR_ALIGN FsControlCode;
			PVOID InputSystemBuffer;
			PVOID OutputBuffer;
			PMDL OutputMdlAddress;
		} Direct;
	} FileSystemControl;

	union {
		struct {
			ULONG OutputBufferLength;
			ULONG FM_PTR_ALIGN InputBufferLength;
			ULONG FM_PTR_ALIGN IoControlCode;
		} Common;

		struct {
			ULONG OutputBufferLength;
			ULONG FM_PTR_ALIGN InputBufferLength;
			ULONG FM_PTR_ALIGN IoControlCode;
			PVOID InputBuffer;
			PVOID OutputBuffer;
			PMDL OutputMdlAddress;
		} Neither;

		struct {
			ULONG OutputBufferLength;
			ULONG FM_PTR_ALIGN InputBufferLength;
			ULONG FM_PTR_ALIGN IoControlCode;
			PVOID SystemBuffer;
		} Buffered;

		struct {
			ULONG OutputBufferLength;
			ULONG FM_PTR_ALIGN InputBufferLength;
			ULONG FM_PTR_ALIGN IoControlCode;
			PVOID InputSystemBuffer;
			PVOID OutputBuffer;
			PMDL OutputMdlAddress;
		} Direct;

		struct {
			ULONG OutputBufferLength;
			ULONG FM_PTR_ALIGN InputBufferLength;
			ULONG FM_PTR_ALIGN IoControlCode;
			PVOID InputBuffer;
			PVOID OutputBuffer;
		} FastIo;
	} DeviceIoControl;

	struct {
		PLARGE_INTEGER Length;
		ULONG FM_PTR_ALIGN Key;
		LARGE_INTEGER ByteOffset;
		PEPROCESS ProcessId;
		BOOLEAN FailImmediately;
		BOOLEAN ExclusiveLock;
	} LockControl;

	struct {
		SECURITY_INFORMATION SecurityInformation;
		ULONG FM_PTR_ALIGN Length;
		PVOID SecurityBuffer;
		PMDL MdlAddress;
	} QuerySecurity;

	struct {
		SECURITY_INFORMATION SecurityInformation;
		PSECURITY_DESCRIPTOR SecurityDescriptor;
	} SetSecurity;

	struct {
		ULONG_PTR ProviderId;
		PVOID DataPath;
		ULONG BufferSize;
		PVOID Buffer;
	} WMI;

	struct {
		ULONG Length;
		PSID StartSid;
		PFILE_GET_QUOTA_INFORMATION SidList;
		ULONG SidListLength;
		PVOID QuotaBuffer;
		PMDL MdlAddress;
	} QueryQuota;

	struct {
		ULONG Length;
		PVOID QuotaBuffer;
		PMDL MdlAddress;
	} SetQuota;

	union {
		struct {
			PCM_RESOURCE_LIST AllocatedResources;
			PCM_RESOURCE_LIST AllocatedResourcesTranslated;
		} StartDevice;

		struct {
			DEVICE_RELATION_TYPE Type;
		} QueryDeviceRelations;

		struct {
			CONST GUID *InterfaceType;
			USHORT Size;
			USHORT Version;
			PINTERFACE Interface;
			PVOID InterfaceSpecificData;
		} QueryInterface;

		struct {
			PDEVICE_CAPABILITIES Capabilities;
		} DeviceCapabilities;

		struct {
			PIO_RESOURCE_REQUIREMENTS_LIST IoResourceRequirementList;
		} FilterResourceRequirements;

		struct {
			ULONG WhichSpace;
			PVOID Buffer;
			ULONG Offset;
			ULONG FM_PTR_ALIGN Length;
		} ReadWriteConfig;

		struct {
			BOOLEAN Lock;
		} SetLock;

		struct {
			BUS_QUERY_ID_TYPE IdType;
		} QueryId;

		struct {
			DEVICE_TEXT_TYPE DeviceTextType;
			LCID FM_PTR_ALIGN LocaleId;
		} QueryDeviceText;

		struct {
			BOOLEAN InPath;
			BOOLEAN Reserved[3];
			DEVICE_USAGE_NOTIFICATION_TYPE FM_PTR_ALIGN Type;
		} UsageNotification;
	} Pnp;

	struct {
		FS_FILTER_SECTION_SYNC_TYPE SyncType;
		ULONG PageProtection;
		PFS_FILTER_SECTION_SYNC_OUTPUT OutputInformation;
		ULONG Flags;
		ULONG AllocationAttributes;
	} AcquireForSectionSynchronization;

	struct {
		PLARGE_INTEGER EndingOffset;
		PERESOURCE *ResourceToRelease;
	} AcquireForModifiedPageWriter;

	struct {
		PERESOURCE ResourceToRelease;
	} ReleaseForModifiedPageWriter;

	struct {
		PIRP Irp;
		PVOID FileInformation;
		PULONG Length;
		FILE_INFORMATION_CLASS FileInformationClass;
		NTSTATUS CompletionStatus;
	} QueryOpen;

	struct {
		LARGE_INTEGER FileOffset;
		ULONG Length;
		ULONG FM_PTR_ALIGN LockKey;
		BOOLEAN FM_PTR_ALIGN CheckForReadOperation;
	} FastIoCheckIfPossible;

	struct {
		PIRP Irp;
		PFILE_NETWORK_OPEN_INFORMATION NetworkInformation;
	} NetworkQueryOpen;

	struct {
		LARGE_INTEGER FileOffset;
		ULONG FM_PTR_ALIGN Length;
		ULONG FM_PTR_ALIGN Key;
		PMDL *MdlChain;
	} MdlRead;

	struct {
		PMDL MdlChain;
	} MdlReadComplete;

	struct {
		LARGE_INTEGER FileOffset;
		ULONG FM_PTR_ALIGN Length;
		ULONG FM_PTR_ALIGN Key;
		PMDL *MdlChain;
	} PrepareMdlWrite;

	struct {
		LARGE_INTEGER FileOffset;
		PMDL MdlChain;
	} MdlWriteComplete;

	struct {
		ULONG DeviceType;
	} MountVolume;

	struct {
		PVOID Argument1;
		PVOID Argument2;
		PVOID Argument3;
		PVOID Argument4;
		PVOID Argument5;
		LARGE_INTEGER Argument6;
	} Others;
} FLT_PARAMETERS, *PFLT_PARAMETERS;

typedef struct _FLT_IO_PARAMETER_BLOCK {
	ULONG IrpFlags;
	UCHAR MajorFunction;
	UCHAR MinorFunction;
	UCHAR OperationFlags;
	UCHAR Reserved;
	PFILE_OBJECT TargetFileObject;
	PFLT_INSTANCE TargetInstance;
	FLT_PARAMETERS Parameters;
} FLT_IO_PARAMETER_BLOCK, *PFLT_IO_PARAMETER_BLOCK;

typedef struct _FLT_CALLBACK_DATA {
	FLT_CALLBACK_DATA_FLAGS Flags;
	PETHREAD Thread;
	PFLT_IO_PARAMETER_BLOCK Iopb;
	IO_STATUS_BLOCK IoStatus;
	struct _FLT_TAG_DATA_BUFFER *TagData;
	union {
		struct {
			LIST_ENTRY QueueLinks;
			PVOID QueueContext[2];
		};
		PVOID FilterContext[4];
	};
	KPROCESSOR_MODE RequestorMode;
} FLT_CALLBACK_DATA, *PFLT_CALLBACK_DATA;

typedef struct _FLT_RELATED_OBJECTS {
	USHORT Size;
	USHORT TransactionContext;
	PFLT_FILTER Filter;
	PFLT_VOLUME Volume;
	PFLT_INSTANCE Instance;
	PFILE_OBJECT FileObject;
	PKTRANSACTION Transaction;
} FLT_RELATED_OBJECTS, *PFLT_RELATED_OBJECTS;
typedef const struct _FLT_RELATED_OBJECTS *PCFLT_RELATED_OBJECTS;

typedef struct _FLT_RELATED_CONTEXTS {
	PFLT_CONTEXT VolumeContext;
	PFLT_CONTEXT InstanceContext;
	PFLT_CONTEXT FileContext;
	PFLT_CONTEXT StreamContext;
	PFLT_CONTEXT StreamHandleContext;
	PFLT_CONTEXT TransactionContext;
} FLT_RELATED_CONTEXTS, *PFLT_RELATED_CONTEXTS;

typedef struct _FLT_RELATED_CONTEXTS_EX {
	PFLT_CONTEXT VolumeContext;
	PFLT_CONTEXT InstanceContext;
	PFLT_CONTEXT FileContext;
	PFLT_CONTEXT StreamContext;
	PFLT_CONTEXT StreamHandleContext;
	PFLT_CONTEXT TransactionContext;
	PFLT_CONTEXT SectionContext;
} FLT_RELATED_CONTEXTS_EX, *PFLT_RELATED_CONTEXTS_EX;

/* ---- Contexts ----------------------------------------------------------------------------------- */

typedef USHORT FLT_CONTEXT_TYPE;
#define FLT_VOLUME_CONTEXT 0x0001
#define FLT_INSTANCE_CONTEXT 0x0002
#define FLT_FILE_CONTEXT 0x0004
#define FLT_STREAM_CONTEXT 0x0008
#define FLT_STREAMHANDLE_CONTEXT 0x0010
#define FLT_TRANSACTION_CONTEXT 0x0020
#define FLT_SECTION_CONTEXT 0x0040
#define FLT_CONTEXT_END 0xffff
#define FLT_ALL_CONTEXTS                                                                         \
	(FLT_VOLUME_CONTEXT | FLT_INSTANCE_CONTEXT | FLT_FILE_CONTEXT | FLT_STREAM_CONTEXT |      \
	 FLT_STREAMHANDLE_CONTEXT | FLT_TRANSACTION_CONTEXT | FLT_SECTION_CONTEXT)

#define FLT_VARIABLE_SIZED_CONTEXTS ((SIZE_T)-1)
#define FLTFL_CONTEXT_REGISTRATION_NO_EXACT_SIZE_MATCH 0x0001

typedef void(FLTAPI FLT_CONTEXT_CLEANUP_CALLBACK)(PFLT_CONTEXT Context,
						  FLT_CONTEXT_TYPE ContextType);
typedef FLT_CONTEXT_CLEANUP_CALLBACK *PFLT_CONTEXT_CLEANUP_CALLBACK;
typedef PVOID(FLTAPI FLT_CONTEXT_ALLOCATE_CALLBACK)(POOL_TYPE PoolType, SIZE_T Size,
						   FLT_CONTEXT_TYPE ContextType);
typedef FLT_CONTEXT_ALLOCATE_CALLBACK *PFLT_CONTEXT_ALLOCATE_CALLBACK;
typedef void(FLTAPI FLT_CONTEXT_FREE_CALLBACK)(PVOID Pool, FLT_CONTEXT_TYPE ContextType);
typedef FLT_CONTEXT_FREE_CALLBACK *PFLT_CONTEXT_FREE_CALLBACK;

typedef USHORT FLT_CONTEXT_REGISTRATION_FLAGS;

typedef struct _FLT_CONTEXT_REGISTRATION {
	FLT_CONTEXT_TYPE ContextType;
	FLT_CONTEXT_REGISTRATION_FLAGS Flags;
	PFLT_CONTEXT_CLEANUP_CALLBACK ContextCleanupCallback;
	SIZE_T Size;
	ULONG PoolTag;
	PFLT_CONTEXT_ALLOCATE_CALLBACK ContextAllocateCallback;
	PFLT_CONTEXT_FREE_CALLBACK ContextFreeCallback;
	PVOID Reserved1;
} FLT_CONTEXT_REGISTRATION, *PFLT_CONTEXT_REGISTRATION;
typedef const FLT_CONTEXT_REGISTRATION *PCFLT_CONTEXT_REGISTRATION;

typedef enum _FLT_SET_CONTEXT_OPERATION {
	FLT_SET_CONTEXT_REPLACE_IF_EXISTS,
	FLT_SET_CONTEXT_KEEP_IF_EXISTS
} FLT_SET_CONTEXT_OPERATION, *PFLT_SET_CONTEXT_OPERATION;

/* ---- Pre/post operation callbacks -------------------------------------------------------------- */

typedef enum _FLT_PREOP_CALLBACK_STATUS {
	FLT_PREOP_SUCCESS_WITH_CALLBACK,
	FLT_PREOP_SUCCESS_NO_CALLBACK,
	FLT_PREOP_PENDING,
	FLT_PREOP_DISALLOW_FASTIO,
	FLT_PREOP_COMPLETE,
	FLT_PREOP_SYNCHRONIZE,
	FLT_PREOP_DISALLOW_FSFILTER_IO
} FLT_PREOP_CALLBACK_STATUS, *PFLT_PREOP_CALLBACK_STATUS;

typedef enum _FLT_POSTOP_CALLBACK_STATUS {
	FLT_POSTOP_FINISHED_PROCESSING,
	FLT_POSTOP_MORE_PROCESSING_REQUIRED,
	FLT_POSTOP_DISALLOW_FSFILTER_IO
} FLT_POSTOP_CALLBACK_STATUS, *PFLT_POSTOP_CALLBACK_STATUS;

typedef ULONG FLT_POST_OPERATION_FLAGS;
#define FLTFL_POST_OPERATION_DRAINING 0x00000001

typedef FLT_PREOP_CALLBACK_STATUS(FLTAPI FLT_PRE_OPERATION_CALLBACK)(
	PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects, PVOID *CompletionContext);
typedef FLT_PRE_OPERATION_CALLBACK *PFLT_PRE_OPERATION_CALLBACK;

typedef FLT_POSTOP_CALLBACK_STATUS(FLTAPI FLT_POST_OPERATION_CALLBACK)(
	PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects, PVOID CompletionContext,
	FLT_POST_OPERATION_FLAGS Flags);
typedef FLT_POST_OPERATION_CALLBACK *PFLT_POST_OPERATION_CALLBACK;

typedef ULONG FLT_OPERATION_REGISTRATION_FLAGS;
#define FLTFL_OPERATION_REGISTRATION_SKIP_PAGING_IO 0x00000001
#define FLTFL_OPERATION_REGISTRATION_SKIP_CACHED_IO 0x00000002
#define FLTFL_OPERATION_REGISTRATION_SKIP_NON_DASD_IO 0x00000004
#define FLTFL_OPERATION_REGISTRATION_SKIP_NON_CACHED_NON_PAGING_IO 0x00000008

typedef struct _FLT_OPERATION_REGISTRATION {
	UCHAR MajorFunction;
	FLT_OPERATION_REGISTRATION_FLAGS Flags;
	PFLT_PRE_OPERATION_CALLBACK PreOperation;
	PFLT_POST_OPERATION_CALLBACK PostOperation;
	PVOID Reserved1;
} FLT_OPERATION_REGISTRATION, *PFLT_OPERATION_REGISTRATION;

/* ---- Filter, instance and name-provider callbacks ----------------------------------------------- */

typedef ULONG FLT_FILTER_UNLOAD_FLAGS;
#define FLTFL_FILTER_UNLOAD_MANDATORY 0x00000001
typedef NTSTATUS(FLTAPI FLT_FILTER_UNLOAD_CALLBACK)(FLT_FILTER_UNLOAD_FLAGS Flags);
typedef FLT_FILTER_UNLOAD_CALLBACK *PFLT_FILTER_UNLOAD_CALLBACK;

typedef ULONG FLT_INSTANCE_SETUP_FLAGS;
#define FLTFL_INSTANCE_SETUP_AUTOMATIC_ATTACHMENT 0x00000001
#define FLTFL_INSTANCE_SETUP_MANUAL_ATTACHMENT 0x00000002
#define FLTFL_INSTANCE_SETUP_NEWLY_MOUNTED_VOLUME 0x00000004
#define FLTFL_INSTANCE_SETUP_DETACHED_VOLUME 0x00000008
#define FLTFL_INSTANCE_SETUP_DEV_VOLUME 0x00000010
#define FLTFL_INSTANCE_SETUP_TRUSTED_VOLUME 0x00000020
typedef NTSTATUS(FLTAPI FLT_INSTANCE_SETUP_CALLBACK)(PCFLT_RELATED_OBJECTS FltObjects,
						     FLT_INSTANCE_SETUP_FLAGS Flags,
						     DEVICE_TYPE VolumeDeviceType,
						     FLT_FILESYSTEM_TYPE VolumeFilesystemType);
typedef FLT_INSTANCE_SETUP_CALLBACK *PFLT_INSTANCE_SETUP_CALLBACK;

typedef ULONG FLT_INSTANCE_QUERY_TEARDOWN_FLAGS;
typedef NTSTATUS(FLTAPI FLT_INSTANCE_QUERY_TEARDOWN_CALLBACK)(
	PCFLT_RELATED_OBJECTS FltObjects, FLT_INSTANCE_QUERY_TEARDOWN_FLAGS Flags);
typedef FLT_INSTANCE_QUERY_TEARDOWN_CALLBACK *PFLT_INSTANCE_QUERY_TEARDOWN_CALLBACK;

typedef ULONG FLT_INSTANCE_TEARDOWN_FLAGS;
#define FLTFL_INSTANCE_TEARDOWN_MANUAL 0x00000001
#define FLTFL_INSTANCE_TEARDOWN_FILTER_UNLOAD 0x00000002
#define FLTFL_INSTANCE_TEARDOWN_MANDATORY_FILTER_UNLOAD 0x00000004
#define FLTFL_INSTANCE_TEARDOWN_VOLUME_DISMOUNT 0x00000008
#define FLTFL_INSTANCE_TEARDOWN_INTERNAL_ERROR 0x00000010
typedef void(FLTAPI FLT_INSTANCE_TEARDOWN_CALLBACK)(PCFLT_RELATED_OBJECTS FltObjects,
						    FLT_INSTANCE_TEARDOWN_FLAGS Reason);
typedef FLT_INSTANCE_TEARDOWN_CALLBACK *PFLT_INSTANCE_TEARDOWN_CALLBACK;

/* File names. */
typedef ULONG FLT_FILE_NAME_OPTIONS;
#define FLT_VALID_FILE_NAME_FORMATS 0x000000ff
#define FLT_FILE_NAME_NORMALIZED 0x01
#define FLT_FILE_NAME_OPENED 0x02
#define FLT_FILE_NAME_SHORT 0x03
#define FltGetFileNameFormat(_NameOptions) ((_NameOptions) & FLT_VALID_FILE_NAME_FORMATS)
#define FLT_VALID_FILE_NAME_QUERY_METHODS 0x0000ff00
#define FLT_FILE_NAME_QUERY_DEFAULT 0x0100
#define FLT_FILE_NAME_QUERY_CACHE_ONLY 0x0200
#define FLT_FILE_NAME_QUERY_FILESYSTEM_ONLY 0x0300
#define FLT_FILE_NAME_QUERY_ALWAYS_ALLOW_CACHE_LOOKUP 0x0400
#define FltGetFileNameQueryMethod(_NameOptions)                                                  \
	((_NameOptions) & FLT_VALID_FILE_NAME_QUERY_METHODS)
#define FLT_VALID_FILE_NAME_FLAGS 0xff000000
#define FLT_FILE_NAME_REQUEST_FROM_CURRENT_PROVIDER 0x01000000
#define FLT_FILE_NAME_DO_NOT_CACHE 0x02000000
#define FLT_FILE_NAME_ALLOW_QUERY_ON_REPARSE 0x04000000

typedef USHORT FLT_FILE_NAME_PARSED_FLAGS;
#define FLTFL_FILE_NAME_PARSED_FINAL_COMPONENT 0x0001
#define FLTFL_FILE_NAME_PARSED_EXTENSION 0x0002
#define FLTFL_FILE_NAME_PARSED_STREAM 0x0004
#define FLTFL_FILE_NAME_PARSED_PARENT_DIR 0x0008

typedef struct _FLT_FILE_NAME_INFORMATION {
	USHORT Size;
	FLT_FILE_NAME_PARSED_FLAGS NamesParsed;
	FLT_FILE_NAME_OPTIONS Format;
	UNICODE_STRING Name;
	UNICODE_STRING Volume;
	UNICODE_STRING Share;
	UNICODE_STRING Extension;
	UNICODE_STRING Stream;
	UNICODE_STRING FinalComponent;
	UNICODE_STRING ParentDir;
} FLT_FILE_NAME_INFORMATION, *PFLT_FILE_NAME_INFORMATION;

typedef struct _FLT_NAME_CONTROL {
	UNICODE_STRING Name;
} FLT_NAME_CONTROL, *PFLT_NAME_CONTROL;

typedef NTSTATUS(FLTAPI FLT_GENERATE_FILE_NAME)(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
						PFLT_CALLBACK_DATA CallbackData,
						FLT_FILE_NAME_OPTIONS NameOptions,
						PBOOLEAN CacheFileNameInformation,
						PFLT_NAME_CONTROL FileName);
typedef FLT_GENERATE_FILE_NAME *PFLT_GENERATE_FILE_NAME;

typedef ULONG FLT_NORMALIZE_NAME_FLAGS;
#define FLTFL_NORMALIZE_NAME_CASE_SENSITIVE 0x01
#define FLTFL_NORMALIZE_NAME_DESTINATION_FILE_NAME 0x02

typedef NTSTATUS(FLTAPI FLT_NORMALIZE_NAME_COMPONENT)(
	PFLT_INSTANCE Instance, PCUNICODE_STRING ParentDirectory, USHORT VolumeNameLength,
	PCUNICODE_STRING Component, PFILE_NAMES_INFORMATION ExpandComponentName,
	ULONG ExpandComponentNameLength, FLT_NORMALIZE_NAME_FLAGS Flags,
	PVOID *NormalizationContext);
typedef FLT_NORMALIZE_NAME_COMPONENT *PFLT_NORMALIZE_NAME_COMPONENT;

typedef NTSTATUS(FLTAPI FLT_NORMALIZE_NAME_COMPONENT_EX)(
	PFLT_INSTANCE Instance, PFILE_OBJECT FileObject, PCUNICODE_STRING ParentDirectory,
	USHORT VolumeNameLength, PCUNICODE_STRING Component,
	PFILE_NAMES_INFORMATION ExpandComponentName, ULONG ExpandComponentNameLength,
	FLT_NORMALIZE_NAME_FLAGS Flags, PVOID *NormalizationContext);
typedef FLT_NORMALIZE_NAME_COMPONENT_EX *PFLT_NORMALIZE_NAME_COMPONENT_EX;

typedef void(FLTAPI FLT_NORMALIZE_CONTEXT_CLEANUP)(PVOID *NormalizationContext);
typedef FLT_NORMALIZE_CONTEXT_CLEANUP *PFLT_NORMALIZE_CONTEXT_CLEANUP;

typedef NTSTATUS(FLTAPI FLT_TRANSACTION_NOTIFICATION_CALLBACK)(
	PCFLT_RELATED_OBJECTS FltObjects, PFLT_CONTEXT TransactionContext,
	ULONG NotificationMask);
typedef FLT_TRANSACTION_NOTIFICATION_CALLBACK *PFLT_TRANSACTION_NOTIFICATION_CALLBACK;
#define FLT_MAX_TRANSACTION_NOTIFICATIONS                                                        \
	(TRANSACTION_NOTIFY_PREPREPARE | TRANSACTION_NOTIFY_PREPARE | TRANSACTION_NOTIFY_COMMIT | \
	 TRANSACTION_NOTIFY_ROLLBACK | TRANSACTION_NOTIFY_COMMIT_FINALIZE)

typedef enum _FLT_SECTION_NOTIFICATION_CLASS_ {
	FltSectionNotificationConflict = 1
} FLT_SECTION_NOTIFICATION_CLASS;
typedef NTSTATUS(FLTAPI FLT_SECTION_CONFLICT_NOTIFICATION_CALLBACK)(
	PFLT_INSTANCE Instance, PFLT_CONTEXT SectionContext, PFLT_CALLBACK_DATA Data);
typedef FLT_SECTION_CONFLICT_NOTIFICATION_CALLBACK *PFLT_SECTION_CONFLICT_NOTIFICATION_CALLBACK;

/* ---- Registration ----------------------------------------------------------------------------------- */

#define FLT_REGISTRATION_VERSION_0200 0x0200
#define FLT_REGISTRATION_VERSION_0201 0x0201
#define FLT_REGISTRATION_VERSION_0202 0x0202
#define FLT_REGISTRATION_VERSION_0203 0x0203
#define FLT_REGISTRATION_VERSION FLT_REGISTRATION_VERSION_0203

typedef ULONG FLT_REGISTRATION_FLAGS;
#define FLTFL_REGISTRATION_DO_NOT_SUPPORT_SERVICE_STOP 0x00000001
#define FLTFL_REGISTRATION_SUPPORT_NPFS_MSFS 0x00000002
#define FLTFL_REGISTRATION_SUPPORT_DAX_VOLUME 0x00000004
#define FLTFL_REGISTRATION_SUPPORT_WCOS 0x00000008

typedef struct _FLT_REGISTRATION {
	USHORT Size;
	USHORT Version;
	FLT_REGISTRATION_FLAGS Flags;
	const FLT_CONTEXT_REGISTRATION *ContextRegistration;
	const FLT_OPERATION_REGISTRATION *OperationRegistration;
	PFLT_FILTER_UNLOAD_CALLBACK FilterUnloadCallback;
	PFLT_INSTANCE_SETUP_CALLBACK InstanceSetupCallback;
	PFLT_INSTANCE_QUERY_TEARDOWN_CALLBACK InstanceQueryTeardownCallback;
	PFLT_INSTANCE_TEARDOWN_CALLBACK InstanceTeardownStartCallback;
	PFLT_INSTANCE_TEARDOWN_CALLBACK InstanceTeardownCompleteCallback;
	PFLT_GENERATE_FILE_NAME GenerateFileNameCallback;
	PFLT_NORMALIZE_NAME_COMPONENT NormalizeNameComponentCallback;
	PFLT_NORMALIZE_CONTEXT_CLEANUP NormalizeContextCleanupCallback;
	PFLT_TRANSACTION_NOTIFICATION_CALLBACK TransactionNotificationCallback;
	PFLT_NORMALIZE_NAME_COMPONENT_EX NormalizeNameComponentExCallback;
	PFLT_SECTION_CONFLICT_NOTIFICATION_CALLBACK SectionNotificationCallback;
} FLT_REGISTRATION, *PFLT_REGISTRATION;

/* ---- Volumes and instances ---------------------------------------------------------------------- */

typedef struct _FLT_VOLUME_PROPERTIES {
	DEVICE_TYPE DeviceType;
	ULONG DeviceCharacteristics;
	ULONG DeviceObjectFlags;
	ULONG AlignmentRequirement;
	USHORT SectorSize;
	USHORT Flags;
	UNICODE_STRING FileSystemDriverName;
	UNICODE_STRING FileSystemDeviceName;
	UNICODE_STRING RealDeviceName;
} FLT_VOLUME_PROPERTIES, *PFLT_VOLUME_PROPERTIES;

#define FLT_VOLUME_PROPERTY_FLAG_DAX_VOLUME 0x0001

/* Work items, completion and queues. */
typedef void(FLTAPI FLT_COMPLETED_ASYNC_IO_CALLBACK)(PFLT_CALLBACK_DATA CallbackData,
						     PFLT_CONTEXT Context);
typedef FLT_COMPLETED_ASYNC_IO_CALLBACK *PFLT_COMPLETED_ASYNC_IO_CALLBACK;

typedef ULONG FLT_IO_OPERATION_FLAGS;

typedef void(FLTAPI FLT_GET_OPERATION_STATUS_CALLBACK)(PCFLT_RELATED_OBJECTS FltObjects,
						       PFLT_IO_PARAMETER_BLOCK IopbSnapshot,
						       NTSTATUS OperationStatus,
						       PVOID RequesterContext);
typedef FLT_GET_OPERATION_STATUS_CALLBACK *PFLT_GET_OPERATION_STATUS_CALLBACK;

typedef void(FLTAPI FLT_DEFERRED_IO_WORKITEM_ROUTINE)(PFLT_DEFERRED_IO_WORKITEM FltWorkItem,
						      PFLT_CALLBACK_DATA CallbackData,
						      PVOID Context);
typedef FLT_DEFERRED_IO_WORKITEM_ROUTINE *PFLT_DEFERRED_IO_WORKITEM_ROUTINE;

typedef void(FLTAPI FLT_GENERIC_WORKITEM_ROUTINE)(PFLT_GENERIC_WORKITEM FltWorkItem,
						  PVOID FltObject, PVOID Context);
typedef FLT_GENERIC_WORKITEM_ROUTINE *PFLT_GENERIC_WORKITEM_ROUTINE;

/* Cancel-safe callback data queue. */
struct _FLT_CALLBACK_DATA_QUEUE;
typedef struct _FLT_CALLBACK_DATA_QUEUE_IO_CONTEXT {
	PVOID Reserved[4];
} FLT_CALLBACK_DATA_QUEUE_IO_CONTEXT, *PFLT_CALLBACK_DATA_QUEUE_IO_CONTEXT;

typedef NTSTATUS(FLTAPI FLT_CALLBACK_DATA_QUEUE_INSERT_IO)(struct _FLT_CALLBACK_DATA_QUEUE *Cbdq,
							   PFLT_CALLBACK_DATA Cbd,
							   PVOID InsertContext);
typedef FLT_CALLBACK_DATA_QUEUE_INSERT_IO *PFLT_CALLBACK_DATA_QUEUE_INSERT_IO;
typedef void(FLTAPI FLT_CALLBACK_DATA_QUEUE_REMOVE_IO)(struct _FLT_CALLBACK_DATA_QUEUE *Cbdq,
						       PFLT_CALLBACK_DATA Cbd);
typedef FLT_CALLBACK_DATA_QUEUE_REMOVE_IO *PFLT_CALLBACK_DATA_QUEUE_REMOVE_IO;
typedef PFLT_CALLBACK_DATA(FLTAPI FLT_CALLBACK_DATA_QUEUE_PEEK_NEXT_IO)(
	struct _FLT_CALLBACK_DATA_QUEUE *Cbdq, PFLT_CALLBACK_DATA Cbd, PVOID PeekContext);
typedef FLT_CALLBACK_DATA_QUEUE_PEEK_NEXT_IO *PFLT_CALLBACK_DATA_QUEUE_PEEK_NEXT_IO;
typedef void(FLTAPI FLT_CALLBACK_DATA_QUEUE_ACQUIRE)(struct _FLT_CALLBACK_DATA_QUEUE *Cbdq,
						     PKIRQL Irql);
typedef FLT_CALLBACK_DATA_QUEUE_ACQUIRE *PFLT_CALLBACK_DATA_QUEUE_ACQUIRE;
typedef void(FLTAPI FLT_CALLBACK_DATA_QUEUE_RELEASE)(struct _FLT_CALLBACK_DATA_QUEUE *Cbdq,
						     KIRQL Irql);
typedef FLT_CALLBACK_DATA_QUEUE_RELEASE *PFLT_CALLBACK_DATA_QUEUE_RELEASE;
typedef void(FLTAPI FLT_CALLBACK_DATA_QUEUE_COMPLETE_CANCELED_IO)(
	struct _FLT_CALLBACK_DATA_QUEUE *Cbdq, PFLT_CALLBACK_DATA Cbd);
typedef FLT_CALLBACK_DATA_QUEUE_COMPLETE_CANCELED_IO *PFLT_CALLBACK_DATA_QUEUE_COMPLETE_CANCELED_IO;

typedef enum _FLT_CALLBACK_DATA_QUEUE_FLAGS { FLTFL_CALLBACK_DATA_QUEUE_RESERVED = 0 } FLT_CALLBACK_DATA_QUEUE_FLAGS;

typedef struct _FLT_CALLBACK_DATA_QUEUE {
	/* Implementation state of libfltmgr's cancel-safe queue. */
	PVOID Csq[12];
	FLT_CALLBACK_DATA_QUEUE_FLAGS Flags;
	PFLT_INSTANCE Instance;
	PFLT_CALLBACK_DATA_QUEUE_INSERT_IO InsertIo;
	PFLT_CALLBACK_DATA_QUEUE_REMOVE_IO RemoveIo;
	PFLT_CALLBACK_DATA_QUEUE_PEEK_NEXT_IO PeekNextIo;
	PFLT_CALLBACK_DATA_QUEUE_ACQUIRE Acquire;
	PFLT_CALLBACK_DATA_QUEUE_RELEASE Release;
	PFLT_CALLBACK_DATA_QUEUE_COMPLETE_CANCELED_IO CompleteCanceledIo;
} FLT_CALLBACK_DATA_QUEUE, *PFLT_CALLBACK_DATA_QUEUE;

typedef void(FLTAPI FLT_COMPLETE_CANCELED_CALLBACK)(PFLT_CALLBACK_DATA CallbackData);
typedef FLT_COMPLETE_CANCELED_CALLBACK *PFLT_COMPLETE_CANCELED_CALLBACK;

/* Communication ports. */
#define FLT_PORT_CONNECT 0x0001
#define FLT_PORT_ALL_ACCESS (FLT_PORT_CONNECT | STANDARD_RIGHTS_ALL)

typedef NTSTATUS(FLTAPI *PFLT_CONNECT_NOTIFY)(PFLT_PORT ClientPort, PVOID ServerPortCookie,
					       PVOID ConnectionContext, ULONG SizeOfContext,
					       PVOID *ConnectionPortCookie);
typedef void(FLTAPI *PFLT_DISCONNECT_NOTIFY)(PVOID ConnectionCookie);
typedef NTSTATUS(FLTAPI *PFLT_MESSAGE_NOTIFY)(PVOID PortCookie, PVOID InputBuffer,
					       ULONG InputBufferLength, PVOID OutputBuffer,
					       ULONG OutputBufferLength, PULONG ReturnOutputBufferLength);

#define FLT_MAX_DEVICE_REPARSE_ATTEMPTS 64

/* Alignment helpers. */
#define IS_ALIGNED(_pointer, _alignment) ((((ULONG_PTR)(_pointer)) & ((_alignment)-1)) == 0)
#define ROUND_TO_SIZE(_length, _alignment)                                                       \
	((((ULONG_PTR)(_length)) + ((_alignment)-1)) & ~(ULONG_PTR)((_alignment)-1))

/* Assertions: logged with file:line, never fatal. */
#define FLT_ASSERT(_e) NT_ASSERT(_e)
#define FLT_ASSERTMSG(_m, _e) NT_ASSERTMSG(_m, _e)

/* ---- Routines: registration and filtering ------------------------------------------------------ */

NTSTATUS FLTAPI FltRegisterFilter(PDRIVER_OBJECT Driver, const FLT_REGISTRATION *Registration,
				  PFLT_FILTER *RetFilter);
void FLTAPI FltUnregisterFilter(PFLT_FILTER Filter);
NTSTATUS FLTAPI FltStartFiltering(PFLT_FILTER Filter);
PVOID FLTAPI FltGetRoutineAddress(PCSTR FltMgrRoutineName);
NTSTATUS FLTAPI FltLoadFilter(PCUNICODE_STRING FilterName);
NTSTATUS FLTAPI FltUnloadFilter(PCUNICODE_STRING FilterName);

/* Pending and completion. */
void FLTAPI FltCompletePendedPreOperation(PFLT_CALLBACK_DATA CallbackData,
					  FLT_PREOP_CALLBACK_STATUS CallbackStatus, PVOID Context);
void FLTAPI FltCompletePendedPostOperation(PFLT_CALLBACK_DATA CallbackData);
BOOLEAN FLTAPI FltDoCompletionProcessingWhenSafe(PFLT_CALLBACK_DATA Data,
						 PCFLT_RELATED_OBJECTS FltObjects,
						 PVOID CompletionContext,
						 FLT_POST_OPERATION_FLAGS Flags,
						 PFLT_POST_OPERATION_CALLBACK SafePostCallback,
						 PFLT_POSTOP_CALLBACK_STATUS RetPostOperationStatus);
NTSTATUS FLTAPI FltRequestOperationStatusCallback(PFLT_CALLBACK_DATA Data,
						  PFLT_GET_OPERATION_STATUS_CALLBACK CallbackRoutine,
						  PVOID RequesterContext);

/* Callback data. */
void FLTAPI FltSetCallbackDataDirty(PFLT_CALLBACK_DATA Data);
void FLTAPI FltClearCallbackDataDirty(PFLT_CALLBACK_DATA Data);
BOOLEAN FLTAPI FltIsCallbackDataDirty(PFLT_CALLBACK_DATA Data);
BOOLEAN FLTAPI FltIsOperationSynchronous(PFLT_CALLBACK_DATA CallbackData);
BOOLEAN FLTAPI FltIs32bitProcess(PFLT_CALLBACK_DATA CallbackData);
NTSTATUS FLTAPI FltAllocateCallbackData(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
					PFLT_CALLBACK_DATA *RetNewCallbackData);
NTSTATUS FLTAPI FltAllocateCallbackDataEx(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
					  ULONG Flags, PFLT_CALLBACK_DATA *RetNewCallbackData);
void FLTAPI FltFreeCallbackData(PFLT_CALLBACK_DATA CallbackData);
void FLTAPI FltReuseCallbackData(PFLT_CALLBACK_DATA CallbackData);
void FLTAPI FltPerformSynchronousIo(PFLT_CALLBACK_DATA CallbackData);
NTSTATUS FLTAPI FltPerformAsynchronousIo(PFLT_CALLBACK_DATA CallbackData,
					 PFLT_COMPLETED_ASYNC_IO_CALLBACK CallbackRoutine,
					 PVOID CallbackContext);
void FLTAPI FltReissueSynchronousIo(PFLT_INSTANCE InitiatingInstance,
				    PFLT_CALLBACK_DATA CallbackData);
NTSTATUS FLTAPI FltLockUserBuffer(PFLT_CALLBACK_DATA CallbackData);
PVOID FLTAPI FltGetNewSystemBufferAddress(PFLT_CALLBACK_DATA CallbackData);
void FLTAPI FltRetainSwappedBufferMdlAddress(PFLT_CALLBACK_DATA CallbackData);
PMDL FLTAPI FltGetSwappedBufferMdlAddress(PFLT_CALLBACK_DATA CallbackData);
NTSTATUS FLTAPI FltDecodeParameters(PFLT_CALLBACK_DATA CallbackData, PMDL **MdlAddressPointer,
				    PVOID **Buffer, PULONG *Length,
				    LOCK_OPERATION *DesiredAccess);
ULONG FLTAPI FltGetRequestorProcessId(PFLT_CALLBACK_DATA CallbackData);
HANDLE FLTAPI FltGetRequestorProcessIdEx(PFLT_CALLBACK_DATA CallbackData);
PEPROCESS FLTAPI FltGetRequestorProcess(PFLT_CALLBACK_DATA CallbackData);
NTSTATUS FLTAPI FltGetRequestorSessionId(PFLT_CALLBACK_DATA CallbackData, PULONG SessionId);
void FLTAPI FltCancelFileOpen(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject);
BOOLEAN FLTAPI FltCancelIo(PFLT_CALLBACK_DATA CallbackData);
BOOLEAN FLTAPI FltIsIoCanceled(PFLT_CALLBACK_DATA CallbackData);
NTSTATUS FLTAPI FltSetCancelCompletion(PFLT_CALLBACK_DATA CallbackData,
				       PFLT_COMPLETE_CANCELED_CALLBACK CanceledCallback);
NTSTATUS FLTAPI FltClearCancelCompletion(PFLT_CALLBACK_DATA CallbackData);
PCHAR FLTAPI FltGetIrpName(UCHAR IrpMajorCode);
NTSTATUS FLTAPI FltIsDirectory(PFILE_OBJECT FileObject, PFLT_INSTANCE Instance,
			      PBOOLEAN IsDirectory);

/* Cancel-safe queues. */
NTSTATUS FLTAPI FltCbdqInitialize(PFLT_INSTANCE Instance, PFLT_CALLBACK_DATA_QUEUE Cbdq,
				  PFLT_CALLBACK_DATA_QUEUE_INSERT_IO CbdqInsertIo,
				  PFLT_CALLBACK_DATA_QUEUE_REMOVE_IO CbdqRemoveIo,
				  PFLT_CALLBACK_DATA_QUEUE_PEEK_NEXT_IO CbdqPeekNextIo,
				  PFLT_CALLBACK_DATA_QUEUE_ACQUIRE CbdqAcquire,
				  PFLT_CALLBACK_DATA_QUEUE_RELEASE CbdqRelease,
				  PFLT_CALLBACK_DATA_QUEUE_COMPLETE_CANCELED_IO
					  CbdqCompleteCanceledIo);
void FLTAPI FltCbdqEnable(PFLT_CALLBACK_DATA_QUEUE Cbdq);
void FLTAPI FltCbdqDisable(PFLT_CALLBACK_DATA_QUEUE Cbdq);
NTSTATUS FLTAPI FltCbdqInsertIo(PFLT_CALLBACK_DATA_QUEUE Cbdq, PFLT_CALLBACK_DATA Cbd,
				PFLT_CALLBACK_DATA_QUEUE_IO_CONTEXT Context,
				PVOID InsertContext);
PFLT_CALLBACK_DATA FLTAPI FltCbdqRemoveIo(PFLT_CALLBACK_DATA_QUEUE Cbdq,
					  PFLT_CALLBACK_DATA_QUEUE_IO_CONTEXT Context);
PFLT_CALLBACK_DATA FLTAPI FltCbdqRemoveNextIo(PFLT_CALLBACK_DATA_QUEUE Cbdq,
					      PVOID PeekContext);

/* ---- Routines: objects, volumes and instances ---------------------------------------------------- */

NTSTATUS FLTAPI FltObjectReference(PVOID FltObject);
void FLTAPI FltObjectDereference(PVOID FltObject);
NTSTATUS FLTAPI FltGetFilterFromName(PCUNICODE_STRING FilterName, PFLT_FILTER *RetFilter);
NTSTATUS FLTAPI FltGetVolumeFromName(PFLT_FILTER Filter, PCUNICODE_STRING VolumeName,
				     PFLT_VOLUME *RetVolume);
NTSTATUS FLTAPI FltGetVolumeInstanceFromName(PFLT_FILTER Filter, PFLT_VOLUME Volume,
					     PCUNICODE_STRING InstanceName,
					     PFLT_INSTANCE *RetInstance);
NTSTATUS FLTAPI FltGetVolumeFromInstance(PFLT_INSTANCE Instance, PFLT_VOLUME *RetVolume);
NTSTATUS FLTAPI FltGetFilterFromInstance(PFLT_INSTANCE Instance, PFLT_FILTER *RetFilter);
NTSTATUS FLTAPI FltGetVolumeFromFileObject(PFLT_FILTER Filter, PFILE_OBJECT FileObject,
					   PFLT_VOLUME *RetVolume);
NTSTATUS FLTAPI FltGetVolumeFromDeviceObject(PFLT_FILTER Filter, PDEVICE_OBJECT DeviceObject,
					     PFLT_VOLUME *RetVolume);
NTSTATUS FLTAPI FltGetDeviceObject(PFLT_VOLUME Volume, PDEVICE_OBJECT *DeviceObject);
NTSTATUS FLTAPI FltGetDiskDeviceObject(PFLT_VOLUME Volume, PDEVICE_OBJECT *DiskDeviceObject);
NTSTATUS FLTAPI FltGetLowerInstance(PFLT_INSTANCE CurrentInstance, PFLT_INSTANCE *LowerInstance);
NTSTATUS FLTAPI FltGetUpperInstance(PFLT_INSTANCE CurrentInstance, PFLT_INSTANCE *UpperInstance);
NTSTATUS FLTAPI FltGetTopInstance(PFLT_VOLUME Volume, PFLT_INSTANCE *Instance);
NTSTATUS FLTAPI FltGetBottomInstance(PFLT_VOLUME Volume, PFLT_INSTANCE *Instance);
LONG FLTAPI FltCompareInstanceAltitudes(PFLT_INSTANCE Instance1, PFLT_INSTANCE Instance2);
NTSTATUS FLTAPI FltGetVolumeProperties(PFLT_VOLUME Volume, PFLT_VOLUME_PROPERTIES VolumeProperties,
				       ULONG VolumePropertiesLength, PULONG LengthReturned);
NTSTATUS FLTAPI FltIsVolumeWritable(PVOID FltObject, PBOOLEAN IsWritable);
NTSTATUS FLTAPI FltIsVolumeSnapshot(PVOID FltObject, PBOOLEAN IsSnapshotVolume);
NTSTATUS FLTAPI FltGetFileSystemType(PVOID FltObject, PFLT_FILESYSTEM_TYPE FileSystemType);
NTSTATUS FLTAPI FltGetVolumeName(PFLT_VOLUME Volume, PUNICODE_STRING VolumeName,
				 PULONG BufferSizeNeeded);
NTSTATUS FLTAPI FltGetVolumeGuidName(PFLT_VOLUME Volume, PUNICODE_STRING VolumeGuidName,
				     PULONG BufferSizeNeeded);
NTSTATUS FLTAPI FltGetInstanceInformation(PFLT_INSTANCE Instance,
					  INSTANCE_INFORMATION_CLASS InformationClass,
					  PVOID Buffer, ULONG BufferSize, PULONG BytesReturned);
NTSTATUS FLTAPI FltGetFilterInformation(PFLT_FILTER Filter,
					FILTER_INFORMATION_CLASS InformationClass, PVOID Buffer,
					ULONG BufferSize, PULONG BytesReturned);
NTSTATUS FLTAPI FltGetVolumeInformation(PFLT_VOLUME Volume,
					FILTER_VOLUME_INFORMATION_CLASS InformationClass,
					PVOID Buffer, ULONG BufferSize, PULONG BytesReturned);
NTSTATUS FLTAPI FltEnumerateFilters(PFLT_FILTER *FilterList, ULONG FilterListSize,
				    PULONG NumberFiltersReturned);
NTSTATUS FLTAPI FltEnumerateVolumes(PFLT_FILTER Filter, PFLT_VOLUME *VolumeList,
				    ULONG VolumeListSize, PULONG NumberVolumesReturned);
NTSTATUS FLTAPI FltEnumerateInstances(PFLT_VOLUME Volume, PFLT_FILTER Filter,
				      PFLT_INSTANCE *InstanceList, ULONG InstanceListSize,
				      PULONG NumberInstancesReturned);
NTSTATUS FLTAPI FltEnumerateFilterInformation(ULONG Index,
					      FILTER_INFORMATION_CLASS InformationClass,
					      PVOID Buffer, ULONG BufferSize,
					      PULONG BytesReturned);
NTSTATUS FLTAPI FltEnumerateVolumeInformation(PFLT_FILTER Filter, ULONG Index,
					      FILTER_VOLUME_INFORMATION_CLASS InformationClass,
					      PVOID Buffer, ULONG BufferSize,
					      PULONG BytesReturned);
NTSTATUS FLTAPI FltEnumerateInstanceInformationByFilter(
	PFLT_FILTER Filter, ULONG Index, INSTANCE_INFORMATION_CLASS InformationClass,
	PVOID Buffer, ULONG BufferSize, PULONG BytesReturned);
NTSTATUS FLTAPI FltEnumerateInstanceInformationByVolume(
	PFLT_VOLUME Volume, ULONG Index, INSTANCE_INFORMATION_CLASS InformationClass,
	PVOID Buffer, ULONG BufferSize, PULONG BytesReturned);
NTSTATUS FLTAPI FltAttachVolume(PFLT_FILTER Filter, PFLT_VOLUME Volume,
				PCUNICODE_STRING InstanceName, PFLT_INSTANCE *RetInstance);
NTSTATUS FLTAPI FltAttachVolumeAtAltitude(PFLT_FILTER Filter, PFLT_VOLUME Volume,
					  PCUNICODE_STRING Altitude,
					  PCUNICODE_STRING InstanceName,
					  PFLT_INSTANCE *RetInstance);
NTSTATUS FLTAPI FltDetachVolume(PFLT_FILTER Filter, PFLT_VOLUME Volume,
				PCUNICODE_STRING InstanceName);
NTSTATUS FLTAPI FltSupportsFileContexts(PFILE_OBJECT FileObject);
NTSTATUS FLTAPI FltSupportsFileContextsEx(PFILE_OBJECT FileObject, PFLT_INSTANCE Instance);
NTSTATUS FLTAPI FltSupportsStreamHandleContexts(PFILE_OBJECT FileObject);
NTSTATUS FLTAPI FltCreateSystemVolumeInformationFolder(PFLT_INSTANCE Instance);

/* ---- Routines: contexts ------------------------------------------------------------------------- */

NTSTATUS FLTAPI FltAllocateContext(PFLT_FILTER Filter, FLT_CONTEXT_TYPE ContextType,
				   SIZE_T ContextSize, POOL_TYPE PoolType,
				   PFLT_CONTEXT *ReturnedContext);
void FLTAPI FltReferenceContext(PFLT_CONTEXT Context);
void FLTAPI FltReleaseContext(PFLT_CONTEXT Context);
void FLTAPI FltDeleteContext(PFLT_CONTEXT Context);
void FLTAPI FltGetContexts(PCFLT_RELATED_OBJECTS FltObjects, FLT_CONTEXT_TYPE DesiredContexts,
			   PFLT_RELATED_CONTEXTS Contexts);
void FLTAPI FltGetContextsEx(PCFLT_RELATED_OBJECTS FltObjects, FLT_CONTEXT_TYPE DesiredContexts,
			     SIZE_T ContextsSize, PFLT_RELATED_CONTEXTS_EX Contexts);
void FLTAPI FltReleaseContexts(PFLT_RELATED_CONTEXTS Contexts);
void FLTAPI FltReleaseContextsEx(SIZE_T ContextsSize, PFLT_RELATED_CONTEXTS_EX Contexts);
NTSTATUS FLTAPI FltSetVolumeContext(PFLT_VOLUME Volume, FLT_SET_CONTEXT_OPERATION Operation,
				    PFLT_CONTEXT NewContext, PFLT_CONTEXT *OldContext);
NTSTATUS FLTAPI FltGetVolumeContext(PFLT_FILTER Filter, PFLT_VOLUME Volume,
				    PFLT_CONTEXT *Context);
NTSTATUS FLTAPI FltDeleteVolumeContext(PFLT_FILTER Filter, PFLT_VOLUME Volume,
				       PFLT_CONTEXT *OldContext);
NTSTATUS FLTAPI FltSetInstanceContext(PFLT_INSTANCE Instance, FLT_SET_CONTEXT_OPERATION Operation,
				      PFLT_CONTEXT NewContext, PFLT_CONTEXT *OldContext);
NTSTATUS FLTAPI FltGetInstanceContext(PFLT_INSTANCE Instance, PFLT_CONTEXT *Context);
NTSTATUS FLTAPI FltDeleteInstanceContext(PFLT_INSTANCE Instance, PFLT_CONTEXT *OldContext);
NTSTATUS FLTAPI FltSetFileContext(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				  FLT_SET_CONTEXT_OPERATION Operation, PFLT_CONTEXT NewContext,
				  PFLT_CONTEXT *OldContext);
NTSTATUS FLTAPI FltGetFileContext(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				  PFLT_CONTEXT *Context);
NTSTATUS FLTAPI FltDeleteFileContext(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				     PFLT_CONTEXT *OldContext);
NTSTATUS FLTAPI FltSetStreamContext(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				    FLT_SET_CONTEXT_OPERATION Operation, PFLT_CONTEXT NewContext,
				    PFLT_CONTEXT *OldContext);
NTSTATUS FLTAPI FltGetStreamContext(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				    PFLT_CONTEXT *Context);
NTSTATUS FLTAPI FltDeleteStreamContext(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				       PFLT_CONTEXT *OldContext);
NTSTATUS FLTAPI FltSetStreamHandleContext(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
					  FLT_SET_CONTEXT_OPERATION Operation,
					  PFLT_CONTEXT NewContext, PFLT_CONTEXT *OldContext);
NTSTATUS FLTAPI FltGetStreamHandleContext(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
					  PFLT_CONTEXT *Context);
NTSTATUS FLTAPI FltDeleteStreamHandleContext(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
					     PFLT_CONTEXT *OldContext);
NTSTATUS FLTAPI FltSetTransactionContext(PFLT_INSTANCE Instance, PKTRANSACTION Transaction,
					 FLT_SET_CONTEXT_OPERATION Operation,
					 PFLT_CONTEXT NewContext, PFLT_CONTEXT *OldContext);
NTSTATUS FLTAPI FltGetTransactionContext(PFLT_INSTANCE Instance, PKTRANSACTION Transaction,
					 PFLT_CONTEXT *Context);
NTSTATUS FLTAPI FltDeleteTransactionContext(PFLT_INSTANCE Instance, PKTRANSACTION Transaction,
					    PFLT_CONTEXT *OldContext);
NTSTATUS FLTAPI FltGetSectionContext(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				     PFLT_CONTEXT *Context);
NTSTATUS FLTAPI FltEnlistInTransaction(PFLT_INSTANCE Instance, PKTRANSACTION Transaction,
				       PFLT_CONTEXT TransactionContext,
				       NOTIFICATION_MASK NotificationMask);
NTSTATUS FLTAPI FltRollbackEnlistment(PFLT_INSTANCE Instance, PKTRANSACTION Transaction,
				      PFLT_CONTEXT TransactionContext);
NTSTATUS FLTAPI FltCommitComplete(PFLT_INSTANCE Instance, PKTRANSACTION Transaction,
				  PFLT_CONTEXT TransactionContext);
NTSTATUS FLTAPI FltRollbackComplete(PFLT_INSTANCE Instance, PKTRANSACTION Transaction,
				    PFLT_CONTEXT TransactionContext);
NTSTATUS FLTAPI FltPrePrepareComplete(PFLT_INSTANCE Instance, PKTRANSACTION Transaction,
				      PFLT_CONTEXT TransactionContext);
NTSTATUS FLTAPI FltPrepareComplete(PFLT_INSTANCE Instance, PKTRANSACTION Transaction,
				   PFLT_CONTEXT TransactionContext);

/* ---- Routines: file names ----------------------------------------------------------------------- */

NTSTATUS FLTAPI FltGetFileNameInformation(PFLT_CALLBACK_DATA CallbackData,
					  FLT_FILE_NAME_OPTIONS NameOptions,
					  PFLT_FILE_NAME_INFORMATION *FileNameInformation);
NTSTATUS FLTAPI FltGetFileNameInformationUnsafe(PFILE_OBJECT FileObject, PFLT_INSTANCE Instance,
						FLT_FILE_NAME_OPTIONS NameOptions,
						PFLT_FILE_NAME_INFORMATION *FileNameInformation);
void FLTAPI FltReleaseFileNameInformation(PFLT_FILE_NAME_INFORMATION FileNameInformation);
void FLTAPI FltReferenceFileNameInformation(PFLT_FILE_NAME_INFORMATION FileNameInformation);
NTSTATUS FLTAPI FltParseFileName(PCUNICODE_STRING FileName, PUNICODE_STRING Extension,
				 PUNICODE_STRING Stream, PUNICODE_STRING FinalComponent);
NTSTATUS FLTAPI FltParseFileNameInformation(PFLT_FILE_NAME_INFORMATION FileNameInformation);
NTSTATUS FLTAPI FltGetTunneledName(PFLT_CALLBACK_DATA CallbackData,
				   PFLT_FILE_NAME_INFORMATION FileNameInformation,
				   PFLT_FILE_NAME_INFORMATION *RetTunneledFileNameInformation);
NTSTATUS FLTAPI FltGetDestinationFileNameInformation(
	PFLT_INSTANCE Instance, PFILE_OBJECT FileObject, HANDLE RootDirectory,
	PWSTR FileName, ULONG FileNameLength, FLT_FILE_NAME_OPTIONS NameOptions,
	PFLT_FILE_NAME_INFORMATION *RetFileNameInformation);
NTSTATUS FLTAPI FltCheckAndGrowNameControl(PFLT_NAME_CONTROL NameCtrl, USHORT NewSize);
NTSTATUS FLTAPI FltPurgeFileNameInformationCache(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject);

/* ---- Routines: filter-initiated I/O -------------------------------------------------------------- */

NTSTATUS FLTAPI FltCreateFile(PFLT_FILTER Filter, PFLT_INSTANCE Instance, PHANDLE FileHandle,
			      ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
			      PIO_STATUS_BLOCK IoStatusBlock, PLARGE_INTEGER AllocationSize,
			      ULONG FileAttributes, ULONG ShareAccess, ULONG CreateDisposition,
			      ULONG CreateOptions, PVOID EaBuffer, ULONG EaLength, ULONG Flags);
NTSTATUS FLTAPI FltCreateFileEx(PFLT_FILTER Filter, PFLT_INSTANCE Instance, PHANDLE FileHandle,
				PFILE_OBJECT *FileObject, ACCESS_MASK DesiredAccess,
				POBJECT_ATTRIBUTES ObjectAttributes,
				PIO_STATUS_BLOCK IoStatusBlock, PLARGE_INTEGER AllocationSize,
				ULONG FileAttributes, ULONG ShareAccess, ULONG CreateDisposition,
				ULONG CreateOptions, PVOID EaBuffer, ULONG EaLength, ULONG Flags);
NTSTATUS FLTAPI FltCreateFileEx2(PFLT_FILTER Filter, PFLT_INSTANCE Instance, PHANDLE FileHandle,
				 PFILE_OBJECT *FileObject, ACCESS_MASK DesiredAccess,
				 POBJECT_ATTRIBUTES ObjectAttributes,
				 PIO_STATUS_BLOCK IoStatusBlock, PLARGE_INTEGER AllocationSize,
				 ULONG FileAttributes, ULONG ShareAccess, ULONG CreateDisposition,
				 ULONG CreateOptions, PVOID EaBuffer, ULONG EaLength, ULONG Flags,
				 PIO_DRIVER_CREATE_CONTEXT DriverContext);
NTSTATUS FLTAPI FltOpenVolume(PFLT_INSTANCE Instance, PHANDLE VolumeHandle,
			      PFILE_OBJECT *VolumeFileObject);
NTSTATUS FLTAPI FltClose(HANDLE FileHandle);
NTSTATUS FLTAPI FltReadFile(PFLT_INSTANCE InitiatingInstance, PFILE_OBJECT FileObject,
			    PLARGE_INTEGER ByteOffset, ULONG Length, PVOID Buffer,
			    FLT_IO_OPERATION_FLAGS Flags, PULONG BytesRead,
			    PFLT_COMPLETED_ASYNC_IO_CALLBACK CallbackRoutine,
			    PVOID CallbackContext);
NTSTATUS FLTAPI FltReadFileEx(PFLT_INSTANCE InitiatingInstance, PFILE_OBJECT FileObject,
			      PLARGE_INTEGER ByteOffset, ULONG Length, PVOID Buffer,
			      FLT_IO_OPERATION_FLAGS Flags, PULONG BytesRead,
			      PFLT_COMPLETED_ASYNC_IO_CALLBACK CallbackRoutine,
			      PVOID CallbackContext, PULONG Key, PMDL Mdl);
NTSTATUS FLTAPI FltWriteFile(PFLT_INSTANCE InitiatingInstance, PFILE_OBJECT FileObject,
			     PLARGE_INTEGER ByteOffset, ULONG Length, PVOID Buffer,
			     FLT_IO_OPERATION_FLAGS Flags, PULONG BytesWritten,
			     PFLT_COMPLETED_ASYNC_IO_CALLBACK CallbackRoutine,
			     PVOID CallbackContext);
NTSTATUS FLTAPI FltWriteFileEx(PFLT_INSTANCE InitiatingInstance, PFILE_OBJECT FileObject,
			       PLARGE_INTEGER ByteOffset, ULONG Length, PVOID Buffer,
			       FLT_IO_OPERATION_FLAGS Flags, PULONG BytesWritten,
			       PFLT_COMPLETED_ASYNC_IO_CALLBACK CallbackRoutine,
			       PVOID CallbackContext, PULONG Key, PMDL Mdl);
NTSTATUS FLTAPI FltQueryInformationFile(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
					PVOID FileInformation, ULONG Length,
					FILE_INFORMATION_CLASS FileInformationClass,
					PULONG LengthReturned);
NTSTATUS FLTAPI FltSetInformationFile(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				      PVOID FileInformation, ULONG Length,
				      FILE_INFORMATION_CLASS FileInformationClass);
NTSTATUS FLTAPI FltQueryDirectoryFile(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				      PVOID FileInformation, ULONG Length,
				      FILE_INFORMATION_CLASS FileInformationClass,
				      BOOLEAN ReturnSingleEntry, PUNICODE_STRING FileName,
				      BOOLEAN RestartScan, PULONG LengthReturned);
NTSTATUS FLTAPI FltQueryDirectoryFileEx(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
					PVOID FileInformation, ULONG Length,
					FILE_INFORMATION_CLASS FileInformationClass,
					ULONG QueryFlags, PUNICODE_STRING FileName,
					PULONG LengthReturned);
NTSTATUS FLTAPI FltQueryVolumeInformation(PFLT_INSTANCE Instance, PIO_STATUS_BLOCK Iosb,
					  PVOID FsInformation, ULONG Length,
					  FS_INFORMATION_CLASS FsInformationClass);
NTSTATUS FLTAPI FltQueryVolumeInformationFile(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
					      PVOID FsInformation, ULONG Length,
					      FS_INFORMATION_CLASS FsInformationClass,
					      PULONG LengthReturned);
NTSTATUS FLTAPI FltSetVolumeInformation(PFLT_INSTANCE Instance, PIO_STATUS_BLOCK Iosb,
					PVOID FsInformation, ULONG Length,
					FS_INFORMATION_CLASS FsInformationClass);
NTSTATUS FLTAPI FltQueryEaFile(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
			       PVOID ReturnedEaData, ULONG Length, BOOLEAN ReturnSingleEntry,
			       PVOID EaList, ULONG EaListLength, PULONG EaIndex,
			       BOOLEAN RestartScan, PULONG LengthReturned);
NTSTATUS FLTAPI FltSetEaFile(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject, PVOID EaBuffer,
			     ULONG Length);
NTSTATUS FLTAPI FltQuerySecurityObject(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				       SECURITY_INFORMATION SecurityInformation,
				       PSECURITY_DESCRIPTOR SecurityDescriptor, ULONG Length,
				       PULONG LengthNeeded);
NTSTATUS FLTAPI FltSetSecurityObject(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				     SECURITY_INFORMATION SecurityInformation,
				     PSECURITY_DESCRIPTOR SecurityDescriptor);
NTSTATUS FLTAPI FltFlushBuffers(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject);
NTSTATUS FLTAPI FltFlushBuffers2(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				 ULONG FlushType, PFLT_CALLBACK_DATA CallbackData);
NTSTATUS FLTAPI FltFsControlFile(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				 ULONG FsControlCode, PVOID InputBuffer, ULONG InputBufferLength,
				 PVOID OutputBuffer, ULONG OutputBufferLength,
				 PULONG LengthReturned);
NTSTATUS FLTAPI FltDeviceIoControlFile(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				       ULONG IoControlCode, PVOID InputBuffer,
				       ULONG InputBufferLength, PVOID OutputBuffer,
				       ULONG OutputBufferLength, PULONG LengthReturned);
NTSTATUS FLTAPI FltTagFile(PFLT_INSTANCE InitiatingInstance, PFILE_OBJECT FileObject,
			   ULONG FileTag, GUID *Guid, PVOID DataBuffer, USHORT DataBufferLength);
NTSTATUS FLTAPI FltUntagFile(PFLT_INSTANCE InitiatingInstance, PFILE_OBJECT FileObject,
			     ULONG FileTag, GUID *Guid);

/* ---- Routines: work items, locks, pool ------------------------------------------------------------ */

PFLT_DEFERRED_IO_WORKITEM FLTAPI FltAllocateDeferredIoWorkItem(void);
void FLTAPI FltFreeDeferredIoWorkItem(PFLT_DEFERRED_IO_WORKITEM FltWorkItem);
NTSTATUS FLTAPI FltQueueDeferredIoWorkItem(PFLT_DEFERRED_IO_WORKITEM FltWorkItem,
					   PFLT_CALLBACK_DATA Data,
					   PFLT_DEFERRED_IO_WORKITEM_ROUTINE WorkerRoutine,
					   WORK_QUEUE_TYPE QueueType, PVOID Context);
PFLT_GENERIC_WORKITEM FLTAPI FltAllocateGenericWorkItem(void);
void FLTAPI FltFreeGenericWorkItem(PFLT_GENERIC_WORKITEM FltWorkItem);
NTSTATUS FLTAPI FltQueueGenericWorkItem(PFLT_GENERIC_WORKITEM FltWorkItem, PVOID FltObject,
					PFLT_GENERIC_WORKITEM_ROUTINE WorkerRoutine,
					WORK_QUEUE_TYPE QueueType, PVOID Context);

/* Push locks: reader/writer locks in one pointer-sized word (implemented in src/nt). */
void FLTAPI FltInitializePushLock(PEX_PUSH_LOCK PushLock);
void FLTAPI FltDeletePushLock(PEX_PUSH_LOCK PushLock);
void FLTAPI FltAcquirePushLockExclusive(PEX_PUSH_LOCK PushLock);
void FLTAPI FltAcquirePushLockShared(PEX_PUSH_LOCK PushLock);
void FLTAPI FltAcquirePushLockExclusiveEx(PEX_PUSH_LOCK PushLock, ULONG Flags);
void FLTAPI FltAcquirePushLockSharedEx(PEX_PUSH_LOCK PushLock, ULONG Flags);
void FLTAPI FltReleasePushLock(PEX_PUSH_LOCK PushLock);
void FLTAPI FltReleasePushLockEx(PEX_PUSH_LOCK PushLock, ULONG Flags);
#define FLT_PUSH_LOCK_ENABLE_AUTO_BOOST 0x00000001
#define FLT_PUSH_LOCK_DISABLE_AUTO_BOOST 0x00000002
#define FLT_PUSH_LOCK_VALID_FLAGS 0x00000003

/* ERESOURCE helpers that also enter a critical region. */
void FLTAPI FltAcquireResourceExclusive(PERESOURCE Resource);
void FLTAPI FltAcquireResourceShared(PERESOURCE Resource);
void FLTAPI FltReleaseResource(PERESOURCE Resource);

PVOID FLTAPI FltAllocatePoolAlignedWithTag(PFLT_INSTANCE Instance, POOL_TYPE PoolType,
					   SIZE_T NumberOfBytes, ULONG Tag);
void FLTAPI FltFreePoolAlignedWithTag(PFLT_INSTANCE Instance, PVOID Buffer, ULONG Tag);

NTSTATUS FLTAPI FltCancellableWaitForSingleObject(PVOID Object, PLARGE_INTEGER Timeout,
						  PFLT_CALLBACK_DATA CallbackData);
NTSTATUS FLTAPI FltCancellableWaitForMultipleObjects(ULONG Count, PVOID ObjectArray[],
						     WAIT_TYPE WaitType, PLARGE_INTEGER Timeout,
						     PKWAIT_BLOCK WaitBlockArray,
						     PFLT_CALLBACK_DATA CallbackData);

/* ---- Routines: communication ports ---------------------------------------------------------------- */

NTSTATUS FLTAPI FltBuildDefaultSecurityDescriptor(PSECURITY_DESCRIPTOR *SecurityDescriptor,
						  ACCESS_MASK DesiredAccess);
void FLTAPI FltFreeSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor);
NTSTATUS FLTAPI FltCreateCommunicationPort(PFLT_FILTER Filter, PFLT_PORT *ServerPort,
					   POBJECT_ATTRIBUTES ObjectAttributes,
					   PVOID ServerPortCookie,
					   PFLT_CONNECT_NOTIFY ConnectNotifyCallback,
					   PFLT_DISCONNECT_NOTIFY DisconnectNotifyCallback,
					   PFLT_MESSAGE_NOTIFY MessageNotifyCallback,
					   LONG MaxConnections);
void FLTAPI FltCloseCommunicationPort(PFLT_PORT ServerPort);
void FLTAPI FltCloseClientPort(PFLT_FILTER Filter, PFLT_PORT *ClientPort);
NTSTATUS FLTAPI FltSendMessage(PFLT_FILTER Filter, PFLT_PORT *ClientPort, PVOID SenderBuffer,
			       ULONG SenderBufferLength, PVOID ReplyBuffer, PULONG ReplyLength,
			       PLARGE_INTEGER Timeout);

/* ---- Routines: extra create parameters (ECPs) ----------------------------------------------------- */

NTSTATUS FLTAPI FltAllocateExtraCreateParameterList(PFLT_FILTER Filter, ULONG Flags,
						    PECP_LIST *EcpList);
NTSTATUS FLTAPI FltAllocateExtraCreateParameter(
	PFLT_FILTER Filter, LPCGUID EcpType, ULONG SizeOfContext, ULONG Flags,
	PFSRTL_EXTRA_CREATE_PARAMETER_CLEANUP_CALLBACK CleanupCallback, ULONG PoolTag,
	PVOID *EcpContext);
void FLTAPI FltFreeExtraCreateParameterList(PFLT_FILTER Filter, PECP_LIST EcpList);
void FLTAPI FltFreeExtraCreateParameter(PFLT_FILTER Filter, PVOID EcpContext);
NTSTATUS FLTAPI FltGetEcpListFromCallbackData(PFLT_FILTER Filter,
					      PFLT_CALLBACK_DATA CallbackData,
					      PECP_LIST *EcpList);
NTSTATUS FLTAPI FltSetEcpListIntoCallbackData(PFLT_FILTER Filter,
					      PFLT_CALLBACK_DATA CallbackData,
					      PECP_LIST EcpList);
NTSTATUS FLTAPI FltGetNextExtraCreateParameter(PFLT_FILTER Filter, PECP_LIST EcpList,
					       PVOID CurrentEcpContext, LPGUID NextEcpType,
					       PVOID *NextEcpContext, PULONG NextEcpContextSize);
NTSTATUS FLTAPI FltInsertExtraCreateParameter(PFLT_FILTER Filter, PECP_LIST EcpList,
					      PVOID EcpContext);
NTSTATUS FLTAPI FltFindExtraCreateParameter(PFLT_FILTER Filter, PECP_LIST EcpList,
					    LPCGUID EcpType, PVOID *EcpContext,
					    ULONG *EcpContextSize);
NTSTATUS FLTAPI FltRemoveExtraCreateParameter(PFLT_FILTER Filter, PECP_LIST EcpList,
					      LPCGUID EcpType, PVOID *EcpContext,
					      ULONG *EcpContextSize);
BOOLEAN FLTAPI FltIsEcpAcknowledged(PFLT_FILTER Filter, PVOID EcpContext);
void FLTAPI FltAcknowledgeEcp(PFLT_FILTER Filter, PVOID EcpContext);
BOOLEAN FLTAPI FltIsEcpFromUserMode(PFLT_FILTER Filter, PVOID EcpContext);

/* ---- Routines: data scan sections (not available on Linux) ----------------------------------------- */

NTSTATUS FLTAPI FltRegisterForDataScan(PFLT_INSTANCE Instance);
NTSTATUS FLTAPI FltCreateSectionForDataScan(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
					    PFLT_CONTEXT SectionContext,
					    ACCESS_MASK DesiredAccess,
					    POBJECT_ATTRIBUTES ObjectAttributes,
					    PLARGE_INTEGER MaximumSize,
					    ULONG SectionPageProtection,
					    ULONG AllocationAttributes, ULONG Flags,
					    PHANDLE SectionHandle, PVOID *SectionObject,
					    PLARGE_INTEGER SectionFileSize);
NTSTATUS FLTAPI FltCloseSectionForDataScan(PFLT_CONTEXT SectionContext);

#endif
