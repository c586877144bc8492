/* Overflow-checked integer arithmetic and conversions for drivers (RtlULongAdd, RtlSizeTMult, ...). */
#ifndef FM_WDK_NTINTSAFE_H
#define FM_WDK_NTINTSAFE_H

/*
 * Each returns STATUS_SUCCESS with the result, or STATUS_INTEGER_OVERFLOW with the result
 * set to the type's error value (all bits set for unsigned types, -1 for signed ones).
 */

#include <ntdef.h>
#include <ntstatus.h>

#define USHORT_ERROR ((USHORT)0xffff)
#define ULONG_ERROR 0xffffffffU
#define ULONGLONG_ERROR 0xffffffffffffffffULL
#define SIZET_ERROR ((SIZE_T)-1)
#define ULONG_PTR_ERROR ((ULONG_PTR)-1)
#define LONG_ERROR (-1)
#define INT_ERROR (-1)
#define UINT_ERROR 0xffffffffU
#define BYTE_ERROR 0xff

#define FM_INTSAFE_OP(name, type, op, err)                                                       \
	FORCEINLINE NTSTATUS name(type a, type b, type *r)                                        \
	{                                                                                         \
		if (__builtin_##op##_overflow(a, b, r)) {                                         \
			*r = (type)(err);                                                         \
			return STATUS_INTEGER_OVERFLOW;                                           \
		}                                                                                 \
		return STATUS_SUCCESS;                                                            \
	}

#define FM_INTSAFE_CONV(name, from, to, err)                                                     \
	FORCEINLINE NTSTATUS name(from v, to *r)                                                  \
	{                                                                                         \
		if (__builtin_add_overflow(v, (from)0, r)) {                                      \
			*r = (to)(err);                                                           \
			return STATUS_INTEGER_OVERFLOW;                                           \
		}                                                                                 \
		return STATUS_SUCCESS;                                                            \
	}

FM_INTSAFE_OP(RtlUShortAdd, USHORT, add, USHORT_ERROR)
FM_INTSAFE_OP(RtlUShortSub, USHORT, sub, USHORT_ERROR)
FM_INTSAFE_OP(RtlUShortMult, USHORT, mul, USHORT_ERROR)
FM_INTSAFE_OP(RtlULongAdd, ULONG, add, ULONG_ERROR)
FM_INTSAFE_OP(RtlULongSub, ULONG, sub, ULONG_ERROR)
FM_INTSAFE_OP(RtlULongMult, ULONG, mul, ULONG_ERROR)
FM_INTSAFE_OP(RtlUIntAdd, UINT, add, UINT_ERROR)
FM_INTSAFE_OP(RtlUIntSub, UINT, sub, UINT_ERROR)
FM_INTSAFE_OP(RtlUIntMult, UINT, mul, UINT_ERROR)
FM_INTSAFE_OP(RtlULongLongAdd, ULONGLONG, add, ULONGLONG_ERROR)
FM_INTSAFE_OP(RtlULongLongSub, ULONGLONG, sub, ULONGLONG_ERROR)
FM_INTSAFE_OP(RtlULongLongMult, ULONGLONG, mul, ULONGLONG_ERROR)
FM_INTSAFE_OP(RtlSizeTAdd, SIZE_T, add, SIZET_ERROR)
FM_INTSAFE_OP(RtlSizeTSub, SIZE_T, sub, SIZET_ERROR)
FM_INTSAFE_OP(RtlSizeTMult, SIZE_T, mul, SIZET_ERROR)
FM_INTSAFE_OP(RtlULongPtrAdd, ULONG_PTR, add, ULONG_PTR_ERROR)
FM_INTSAFE_OP(RtlULongPtrSub, ULONG_PTR, sub, ULONG_PTR_ERROR)
FM_INTSAFE_OP(RtlULongPtrMult, ULONG_PTR, mul, ULONG_PTR_ERROR)
FM_INTSAFE_OP(RtlLongAdd, LONG, add, LONG_ERROR)
FM_INTSAFE_OP(RtlLongSub, LONG, sub, LONG_ERROR)
FM_INTSAFE_OP(RtlLongMult, LONG, mul, LONG_ERROR)
FM_INTSAFE_OP(RtlIntAdd, INT, add, INT_ERROR)
FM_INTSAFE_OP(RtlLongLongAdd, LONGLONG, add, -1)
FM_INTSAFE_OP(RtlLongLongMult, LONGLONG, mul, -1)
#define RtlDWordAdd RtlULongAdd
#define RtlDWordMult RtlULongMult
#define RtlDWordSub RtlULongSub

FM_INTSAFE_CONV(RtlULongToUShort, ULONG, USHORT, USHORT_ERROR)
FM_INTSAFE_CONV(RtlULongToUChar, ULONG, UCHAR, BYTE_ERROR)
FM_INTSAFE_CONV(RtlULongToLong, ULONG, LONG, LONG_ERROR)
FM_INTSAFE_CONV(RtlULongLongToULong, ULONGLONG, ULONG, ULONG_ERROR)
FM_INTSAFE_CONV(RtlULongLongToUShort, ULONGLONG, USHORT, USHORT_ERROR)
FM_INTSAFE_CONV(RtlULongLongToLong, ULONGLONG, LONG, LONG_ERROR)
FM_INTSAFE_CONV(RtlULongLongToSizeT, ULONGLONG, SIZE_T, SIZET_ERROR)
FM_INTSAFE_CONV(RtlSizeTToULong, SIZE_T, ULONG, ULONG_ERROR)
FM_INTSAFE_CONV(RtlSizeTToUShort, SIZE_T, USHORT, USHORT_ERROR)
FM_INTSAFE_CONV(RtlSizeTToUInt, SIZE_T, UINT, UINT_ERROR)
FM_INTSAFE_CONV(RtlSizeTToLong, SIZE_T, LONG, LONG_ERROR)
FM_INTSAFE_CONV(RtlULongPtrToULong, ULONG_PTR, ULONG, ULONG_ERROR)
FM_INTSAFE_CONV(RtlLongToULong, LONG, ULONG, ULONG_ERROR)
FM_INTSAFE_CONV(RtlLongToUShort, LONG, USHORT, USHORT_ERROR)
FM_INTSAFE_CONV(RtlLongLongToULong, LONGLONG, ULONG, ULONG_ERROR)
FM_INTSAFE_CONV(RtlLongLongToLong, LONGLONG, LONG, LONG_ERROR)
FM_INTSAFE_CONV(RtlLongLongToSizeT, LONGLONG, SIZE_T, SIZET_ERROR)
FM_INTSAFE_CONV(RtlIntToULong, INT, ULONG, ULONG_ERROR)
FM_INTSAFE_CONV(RtlUIntToUShort, UINT, USHORT, USHORT_ERROR)
#define RtlSizeTToDWord RtlSizeTToULong
#define RtlULongLongToDWord RtlULongLongToULong

#endif
