/* strsafe.h for user mode: StringCch* / StringCb* over the ntstrsafe implementations. */
#ifndef FM_WDK_STRSAFE_H
#define FM_WDK_STRSAFE_H

/*
 * Same semantics as the Rtl forms, reported as HRESULTs: S_OK, STRSAFE_E_INSUFFICIENT_BUFFER
 * on truncation (the result is still terminated), STRSAFE_E_INVALID_PARAMETER.  The
 * undecorated names are the wide (UNICODE) forms.
 */

#include <windows.h>
#include <ntstrsafe.h>

#define STRSAFE_E_INSUFFICIENT_BUFFER ((HRESULT)0x8007007AL)
#define STRSAFE_E_INVALID_PARAMETER ((HRESULT)0x80070057L)
#define STRSAFE_E_END_OF_FILE ((HRESULT)0x80070026L)

FORCEINLINE HRESULT fm_strsafe_hr(NTSTATUS st)
{
	return st == STATUS_SUCCESS		? S_OK
	       : st == STATUS_BUFFER_OVERFLOW ? STRSAFE_E_INSUFFICIENT_BUFFER
					      : STRSAFE_E_INVALID_PARAMETER;
}

#define StringCchCopyW(d, n, s) fm_strsafe_hr(RtlStringCchCopyW((d), (n), (s)))
#define StringCchCopyA(d, n, s) fm_strsafe_hr(RtlStringCchCopyA((d), (n), (s)))
#define StringCbCopyW(d, n, s) fm_strsafe_hr(RtlStringCbCopyW((d), (n), (s)))
#define StringCbCopyA(d, n, s) fm_strsafe_hr(RtlStringCbCopyA((d), (n), (s)))
#define StringCchCopyNW(d, n, s, m) fm_strsafe_hr(RtlStringCchCopyNW((d), (n), (s), (m)))
#define StringCchCatW(d, n, s) fm_strsafe_hr(RtlStringCchCatW((d), (n), (s)))
#define StringCchCatA(d, n, s) fm_strsafe_hr(RtlStringCchCatA((d), (n), (s)))
#define StringCbCatW(d, n, s) fm_strsafe_hr(RtlStringCbCatW((d), (n), (s)))
#define StringCbCatA(d, n, s) fm_strsafe_hr(RtlStringCbCatA((d), (n), (s)))
#define StringCchLengthW(s, n, l) fm_strsafe_hr(RtlStringCchLengthW((s), (n), (l)))
#define StringCchLengthA(s, n, l) fm_strsafe_hr(RtlStringCchLengthA((s), (n), (l)))
#define StringCbLengthW(s, n, l) fm_strsafe_hr(RtlStringCbLengthW((s), (n), (l)))
#define StringCchPrintfW(d, n, ...) fm_strsafe_hr(RtlStringCchPrintfW((d), (n), __VA_ARGS__))
#define StringCchPrintfA(d, n, ...) fm_strsafe_hr(RtlStringCchPrintfA((d), (n), __VA_ARGS__))
#define StringCbPrintfW(d, n, ...) fm_strsafe_hr(RtlStringCbPrintfW((d), (n), __VA_ARGS__))
#define StringCbPrintfA(d, n, ...) fm_strsafe_hr(RtlStringCbPrintfA((d), (n), __VA_ARGS__))
#define StringCchVPrintfW(d, n, f, a) fm_strsafe_hr(RtlStringCchVPrintfW((d), (n), (f), (a)))

#define StringCchCopy StringCchCopyW
#define StringCbCopy StringCbCopyW
#define StringCchCat StringCchCatW
#define StringCbCat StringCbCatW
#define StringCchLength StringCchLengthW
#define StringCbLength StringCbLengthW
#define StringCchPrintf StringCchPrintfW
#define StringCbPrintf StringCbPrintfW

#endif
