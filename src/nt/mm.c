/* Mm and Io odds and ends: MDLs over plain memory, routine lookup by name, I/O stubs. */
#include "nt/ke.h"

#include <ntifs.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"

PMDL IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer, BOOLEAN ChargeQuota,
		   PIRP Irp)
{
	PMDL mdl;

	(void)ChargeQuota;
	if (Length == 0)
		return NULL;
	mdl = fm_calloc(1, sizeof(*mdl));
	if (!mdl)
		return NULL;
	MmInitializeMdl(mdl, VirtualAddress, Length);
	mdl->MdlFlags = MDL_ALLOCATED_FIXED_SIZE;
	if (Irp) {
		/* As on Windows: the first MDL becomes the IRP's, a secondary one is chained. */
		if (!SecondaryBuffer || !Irp->MdlAddress) {
			Irp->MdlAddress = mdl;
		} else {
			PMDL m = Irp->MdlAddress;
			while (m->Next)
				m = m->Next;
			m->Next = mdl;
		}
	}
	return mdl;
}

void IoFreeMdl(PMDL Mdl)
{
	fm_free(Mdl);
}

void IoBuildPartialMdl(PMDL SourceMdl, PMDL TargetMdl, PVOID VirtualAddress, ULONG Length)
{
	MmInitializeMdl(
	    TargetMdl, VirtualAddress,
	    Length ? Length
		   : SourceMdl->ByteCount -
			 (ULONG)((PCHAR)VirtualAddress - (PCHAR)MmGetMdlVirtualAddress(SourceMdl)));
	TargetMdl->MdlFlags = MDL_PARTIAL | MDL_MAPPED_TO_SYSTEM_VA;
	TargetMdl->MappedSystemVa = VirtualAddress;
}

void MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList)
{
	MemoryDescriptorList->MappedSystemVa = MmGetMdlVirtualAddress(MemoryDescriptorList);
	MemoryDescriptorList->MdlFlags |= MDL_SOURCE_IS_NONPAGED_POOL;
}

void MmProbeAndLockPages(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode,
			 LOCK_OPERATION Operation)
{
	/* User buffers are plain memory of this process: nothing to probe or pin. */
	(void)AccessMode;
	(void)Operation;
	MemoryDescriptorList->MdlFlags |= MDL_PAGES_LOCKED;
}

void MmUnlockPages(PMDL MemoryDescriptorList)
{
	MemoryDescriptorList->MdlFlags &= (CSHORT)~MDL_PAGES_LOCKED;
}

PVOID MmMapLockedPagesSpecifyCache(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode,
				   MEMORY_CACHING_TYPE CacheType, PVOID RequestedAddress,
				   ULONG BugCheckOnFailure, ULONG Priority)
{
	(void)AccessMode;
	(void)CacheType;
	(void)RequestedAddress;
	(void)BugCheckOnFailure;
	(void)Priority;
	MemoryDescriptorList->MappedSystemVa = MmGetMdlVirtualAddress(MemoryDescriptorList);
	MemoryDescriptorList->MdlFlags |= MDL_MAPPED_TO_SYSTEM_VA;
	return MemoryDescriptorList->MappedSystemVa;
}

PVOID MmMapLockedPages(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode)
{
	return MmMapLockedPagesSpecifyCache(MemoryDescriptorList, AccessMode, MmCached, NULL, 0,
					    NormalPagePriority);
}

void MmUnmapLockedPages(PVOID BaseAddress, PMDL MemoryDescriptorList)
{
	(void)BaseAddress;
	MemoryDescriptorList->MdlFlags &= (CSHORT)~MDL_MAPPED_TO_SYSTEM_VA;
}

SIZE_T MmSizeOfMdl(PVOID Base, SIZE_T Length)
{
	return sizeof(MDL) + sizeof(ULONG_PTR) * ADDRESS_AND_SIZE_TO_SPAN_PAGES(Base, Length);
}

PMDL MmCreateMdl(PMDL MemoryDescriptorList, PVOID Base, SIZE_T Length)
{
	if (!MemoryDescriptorList)
		MemoryDescriptorList = fm_calloc(1, sizeof(MDL));
	if (MemoryDescriptorList)
		MmInitializeMdl(MemoryDescriptorList, Base, Length);
	return MemoryDescriptorList;
}

BOOLEAN MmIsAddressValid(PVOID VirtualAddress)
{
	return VirtualAddress != NULL;
}

BOOLEAN MmIsThisAnNtAsSystem(void)
{
	return TRUE;
}

MM_SYSTEMSIZE MmQuerySystemSize(void)
{
	return MmLargeSystem;
}

PVOID MmAllocateNonCachedMemory(SIZE_T NumberOfBytes)
{
	return fm_calloc(1, NumberOfBytes);
}

void MmFreeNonCachedMemory(PVOID BaseAddress, SIZE_T NumberOfBytes)
{
	(void)NumberOfBytes;
	fm_free(BaseAddress);
}

void ProbeForRead(volatile void *Address, SIZE_T Length, ULONG Alignment)
{
	if (Length && Alignment && ((uintptr_t)Address & (Alignment - 1)))
		fm_nt_misuse(
		    "ProbeForRead: misaligned buffer (would raise STATUS_DATATYPE_MISALIGNMENT)");
}

void ProbeForWrite(volatile void *Address, SIZE_T Length, ULONG Alignment)
{
	if (Length && Alignment && ((uintptr_t)Address & (Alignment - 1)))
		fm_nt_misuse(
		    "ProbeForWrite: misaligned buffer (would raise STATUS_DATATYPE_MISALIGNMENT)");
}

PVOID MmGetSystemRoutineAddress(PUNICODE_STRING SystemRoutineName)
{
	char name[256];
	size_t n, i;

	if (!SystemRoutineName || !SystemRoutineName->Buffer)
		return NULL;
	n = SystemRoutineName->Length / sizeof(WCHAR);
	if (n == 0 || n >= sizeof(name))
		return NULL;
	for (i = 0; i < n; i++) {
		WCHAR c = SystemRoutineName->Buffer[i];
		/* Routine names are C identifiers: anything else cannot match. */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return NULL;
		name[i] = (char)c;
	}
	name[n] = 0;
	return dlsym(RTLD_DEFAULT, name);
}

PIRP IoGetTopLevelIrp(void)
{
	return NULL;
}

void IoSetTopLevelIrp(PIRP Irp)
{
	(void)Irp;
}

BOOLEAN IoIs32bitProcess(PIRP Irp)
{
	(void)Irp;
	return FALSE;
}

void IoGetStackLimits(PULONG_PTR LowLimit, PULONG_PTR HighLimit)
{
	pthread_attr_t a;
	void *addr = NULL;
	size_t size = 0;

	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		pthread_attr_getstack(&a, &addr, &size);
		pthread_attr_destroy(&a);
	}
	*LowLimit = (ULONG_PTR)addr;
	*HighLimit = (ULONG_PTR)addr + size;
}

ULONG_PTR IoGetRemainingStackSize(void)
{
	ULONG_PTR lo, hi, here = (ULONG_PTR)__builtin_frame_address(0);

	IoGetStackLimits(&lo, &hi);
	return here > lo ? here - lo : 0;
}
