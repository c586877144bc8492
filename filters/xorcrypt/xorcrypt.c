/* xorcrypt: a transparent transform — data is scrambled on the backing store, plain through the volume. */
#include <fltKernel.h>
#include <dontuse.h>
#include <suppress.h>

/*
 * Each byte is rotated left by 1..7 bits, the amount chosen by the key byte at the byte's file
 * offset.  Rotation keeps 0x00 as 0x00, so holes in sparse files and the zeros a truncate adds
 * read back as zeros through the volume; every other byte is changed on the backing store.
 * (A sample of buffer swapping, not cryptography.)
 *
 * Reads and writes have their buffers swapped for the filter's own: writes are transformed into
 * the new buffer before they go down, reads land in the new buffer and are transformed back
 * into the caller's buffer in the post-operation.
 */

#define XC_TAG 'rcXF'
#define XC_MAX_KEY 64

DRIVER_INITIALIZE DriverEntry;

static PFLT_FILTER gFilter;
static UCHAR gKey[XC_MAX_KEY] = "fltmgr-xorcrypt";
static ULONG gKeyLength = 15;

typedef struct _XC_SWAP {
	PVOID Buffer; /* the filter's buffer, freed in the post-operation */
} XC_SWAP, *PXC_SWAP;

/*
 * Byte i of a file is rotated left by 1 + key[i mod keylength] mod 7 bits when written, right
 * when read.  XcPrepareKey builds the 256-byte answer table of each rotation and, for two key
 * periods, the table each position uses: a transform is then one table load per byte and one
 * division per buffer.
 */
enum { XC_ENCODE, XC_DECODE };

static UCHAR gRotate[2][8][256];
static const UCHAR *gStep[2][2 * XC_MAX_KEY];

static VOID XcPrepareKey(VOID)
{
	ULONG r, b, i;

	for (r = 0; r < 8; r++)
		for (b = 0; b < 256; b++) {
			gRotate[XC_ENCODE][r][b] = (UCHAR)((b << r) | (b >> ((8 - r) & 7)));
			gRotate[XC_DECODE][r][b] = (UCHAR)((b >> r) | (b << ((8 - r) & 7)));
		}
	for (i = 0; i < 2 * gKeyLength; i++) {
		r = 1 + gKey[i % gKeyLength] % 7;
		gStep[XC_ENCODE][i] = gRotate[XC_ENCODE][r];
		gStep[XC_DECODE][i] = gRotate[XC_DECODE][r];
	}
}

static VOID XcTransform(int Direction, PUCHAR Out, const UCHAR *In, ULONG Length, LONGLONG Position)
{
	/* step[j] serves file position Position + j for j < gKeyLength, whatever Position is. */
	const UCHAR *const *step = &gStep[Direction][(ULONGLONG)Position % gKeyLength];
	ULONG i = 0, j;

	for (; Length - i >= gKeyLength; i += gKeyLength)
		for (j = 0; j < gKeyLength; j++)
			Out[i + j] = step[j][In[i + j]];
	for (j = 0; i < Length; i++, j++)
		Out[i] = step[j][In[i]];
}

/* The caller's buffer of a read or write, wherever the parameters keep it. */
static PVOID XcUserBuffer(PMDL Mdl, PVOID Buffer)
{
	return Mdl != NULL
		   ? MmGetSystemAddressForMdlSafe(Mdl, NormalPagePriority | MdlMappingNoExecute)
		   : Buffer;
}

/* Allocate the replacement buffer and, unless the data is a system buffer, its MDL. */
static PVOID XcSwapIn(PFLT_CALLBACK_DATA Data, ULONG Length, PMDL *NewMdl)
{
	/* Not zeroed: a write fills it whole, a read decodes only the bytes it returned. */
	PVOID buffer =
	    ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_UNINITIALIZED, Length, XC_TAG);

	*NewMdl = NULL;
	if (buffer == NULL)
		return NULL;
	if (!FlagOn(Data->Flags, FLTFL_CALLBACK_DATA_SYSTEM_BUFFER)) {
		*NewMdl = IoAllocateMdl(buffer, Length, FALSE, FALSE, NULL);
		if (*NewMdl == NULL) {
			ExFreePoolWithTag(buffer, XC_TAG);
			return NULL;
		}
		MmBuildMdlForNonPagedPool(*NewMdl);
	}
	return buffer;
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI
XcPreWrite(_Inout_ PFLT_CALLBACK_DATA Data, _In_ PCFLT_RELATED_OBJECTS FltObjects,
	   _Flt_CompletionContext_Outptr_ PVOID *CompletionContext)
{
	PFLT_IO_PARAMETER_BLOCK iopb = Data->Iopb;
	ULONG length = iopb->Parameters.Write.Length;
	PVOID original, buffer;
	PMDL mdl;
	PXC_SWAP swap;

	UNREFERENCED_PARAMETER(FltObjects);
	*CompletionContext = NULL;
	if (length == 0)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	original =
	    XcUserBuffer(iopb->Parameters.Write.MdlAddress, iopb->Parameters.Write.WriteBuffer);
	swap = ExAllocatePoolZero(NonPagedPoolNx, sizeof(*swap), XC_TAG);
	buffer = swap != NULL && original != NULL ? XcSwapIn(Data, length, &mdl) : NULL;
	if (buffer == NULL) {
		if (swap != NULL)
			ExFreePoolWithTag(swap, XC_TAG);
		Data->IoStatus.Status = STATUS_INSUFFICIENT_RESOURCES;
		Data->IoStatus.Information = 0;
		return FLT_PREOP_COMPLETE;
	}
	XcTransform(XC_ENCODE, buffer, original, length,
		    iopb->Parameters.Write.ByteOffset.QuadPart);
	iopb->Parameters.Write.WriteBuffer = buffer;
	iopb->Parameters.Write.MdlAddress = mdl;
	FltSetCallbackDataDirty(Data);
	swap->Buffer = buffer;
	*CompletionContext = swap;
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI XcPostWrite(_Inout_ PFLT_CALLBACK_DATA Data,
						     _In_ PCFLT_RELATED_OBJECTS FltObjects,
						     _In_opt_ PVOID CompletionContext,
						     _In_ FLT_POST_OPERATION_FLAGS Flags)
{
	PXC_SWAP swap = CompletionContext;

	UNREFERENCED_PARAMETER(Data);
	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(Flags);
	/* The filter manager frees the MDL it was given; the buffer is ours. */
	ExFreePoolWithTag(swap->Buffer, XC_TAG);
	ExFreePoolWithTag(swap, XC_TAG);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI
XcPreRead(_Inout_ PFLT_CALLBACK_DATA Data, _In_ PCFLT_RELATED_OBJECTS FltObjects,
	  _Flt_CompletionContext_Outptr_ PVOID *CompletionContext)
{
	PFLT_IO_PARAMETER_BLOCK iopb = Data->Iopb;
	ULONG length = iopb->Parameters.Read.Length;
	PVOID buffer;
	PMDL mdl;
	PXC_SWAP swap;

	UNREFERENCED_PARAMETER(FltObjects);
	*CompletionContext = NULL;
	if (length == 0)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	swap = ExAllocatePoolZero(NonPagedPoolNx, sizeof(*swap), XC_TAG);
	buffer = swap != NULL ? XcSwapIn(Data, length, &mdl) : NULL;
	if (buffer == NULL) {
		if (swap != NULL)
			ExFreePoolWithTag(swap, XC_TAG);
		Data->IoStatus.Status = STATUS_INSUFFICIENT_RESOURCES;
		Data->IoStatus.Information = 0;
		return FLT_PREOP_COMPLETE;
	}
	iopb->Parameters.Read.ReadBuffer = buffer;
	iopb->Parameters.Read.MdlAddress = mdl;
	FltSetCallbackDataDirty(Data);
	swap->Buffer = buffer;
	*CompletionContext = swap;
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI XcPostRead(_Inout_ PFLT_CALLBACK_DATA Data,
						    _In_ PCFLT_RELATED_OBJECTS FltObjects,
						    _In_opt_ PVOID CompletionContext,
						    _In_ FLT_POST_OPERATION_FLAGS Flags)
{
	PXC_SWAP swap = CompletionContext;
	PFLT_IO_PARAMETER_BLOCK iopb = Data->Iopb;
	PVOID original;

	UNREFERENCED_PARAMETER(FltObjects);
	/* Our post sees the caller's buffer again: the parameters are as our pre saw them. */
	if (NT_SUCCESS(Data->IoStatus.Status) && Data->IoStatus.Information != 0 &&
	    !FlagOn(Flags, FLTFL_POST_OPERATION_DRAINING)) {
		original = XcUserBuffer(iopb->Parameters.Read.MdlAddress,
					iopb->Parameters.Read.ReadBuffer);
		if (original != NULL)
			XcTransform(XC_DECODE, original, swap->Buffer,
				    (ULONG)Data->IoStatus.Information,
				    iopb->Parameters.Read.ByteOffset.QuadPart);
		else
			Data->IoStatus.Status = STATUS_INSUFFICIENT_RESOURCES;
	}
	ExFreePoolWithTag(swap->Buffer, XC_TAG);
	ExFreePoolWithTag(swap, XC_TAG);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static const FLT_OPERATION_REGISTRATION Callbacks[] = {
    {IRP_MJ_READ, 0, XcPreRead, XcPostRead, NULL},
    {IRP_MJ_WRITE, 0, XcPreWrite, XcPostWrite, NULL},
    {IRP_MJ_OPERATION_END},
};

static NTSTATUS FLTAPI XcUnload(_In_ FLT_FILTER_UNLOAD_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(Flags);
	FltUnregisterFilter(gFilter);
	return STATUS_SUCCESS;
}

static NTSTATUS FLTAPI XcQueryTeardown(_In_ PCFLT_RELATED_OBJECTS FltObjects,
				       _In_ FLT_INSTANCE_QUERY_TEARDOWN_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(Flags);
	return STATUS_SUCCESS;
}

static const FLT_REGISTRATION Registration = {
    sizeof(FLT_REGISTRATION),
    FLT_REGISTRATION_VERSION,
    0,
    NULL,
    Callbacks,
    XcUnload,
    NULL,
    XcQueryTeardown,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
};

/* An optional Key value (REG_SZ) in the service key replaces the built-in key. */
static VOID XcReadKey(_In_ PUNICODE_STRING RegistryPath)
{
	OBJECT_ATTRIBUTES attributes;
	HANDLE key;
	UNICODE_STRING valueName = RTL_CONSTANT_STRING(L"Key");
	UCHAR buffer[sizeof(KEY_VALUE_PARTIAL_INFORMATION) + XC_MAX_KEY * sizeof(WCHAR)];
	PKEY_VALUE_PARTIAL_INFORMATION value = (PKEY_VALUE_PARTIAL_INFORMATION)buffer;
	ULONG resultLength, i, n;
	PWCHAR text;

	InitializeObjectAttributes(&attributes, RegistryPath,
				   OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
	if (!NT_SUCCESS(ZwOpenKey(&key, KEY_READ, &attributes)))
		return;
	if (NT_SUCCESS(ZwQueryValueKey(key, &valueName, KeyValuePartialInformation, value,
				       sizeof(buffer), &resultLength)) &&
	    value->Type == REG_SZ) {
		text = (PWCHAR)value->Data;
		n = value->DataLength / sizeof(WCHAR);
		for (i = 0; i < n && i < XC_MAX_KEY && text[i] != L'\0'; i++)
			gKey[i] = (UCHAR)text[i];
		if (i > 0)
			gKeyLength = i;
	}
	ZwClose(key);
}

NTSTATUS DriverEntry(_In_ PDRIVER_OBJECT DriverObject, _In_ PUNICODE_STRING RegistryPath)
{
	NTSTATUS status;

	XcReadKey(RegistryPath);
	XcPrepareKey();
	status = FltRegisterFilter(DriverObject, &Registration, &gFilter);
	if (!NT_SUCCESS(status))
		return status;
	status = FltStartFiltering(gFilter);
	if (!NT_SUCCESS(status))
		FltUnregisterFilter(gFilter);
	return status;
}
