/* The user-mode Filter Manager API (FltLib): load/unload, enumeration, attach/detach, ports. */
#ifndef FM_WDK_FLTUSER_H
#define FM_WDK_FLTUSER_H

/*
 * Implemented by libfltlib, which talks to fltmgrd over its control socket (management) and
 * over per-port sockets (communication ports).  Every routine returns an HRESULT:
 * S_OK, or HRESULT_FROM_WIN32(error) / HRESULT_FROM_NT(status) as on Windows
 * (FilterGetMessage with an OVERLAPPED returns HRESULT_FROM_WIN32(ERROR_IO_PENDING)).
 */

#include <windows.h>
#include <fltUserStructures.h>

typedef struct fm_hfilter *HFILTER;
typedef struct fm_hfilter_instance *HFILTER_INSTANCE;

#define FLT_MGR_BASELINE 1
#define FLT_MGR_LONGHORN 1
#define FLT_MGR_WIN7 1

HRESULT WINAPI FilterLoad(LPCWSTR lpFilterName);
HRESULT WINAPI FilterUnload(LPCWSTR lpFilterName);
HRESULT WINAPI FilterCreate(LPCWSTR lpFilterName, HFILTER *hFilter);
HRESULT WINAPI FilterClose(HFILTER hFilter);
HRESULT WINAPI FilterInstanceCreate(LPCWSTR lpFilterName, LPCWSTR lpVolumeName,
				    LPCWSTR lpInstanceName, HFILTER_INSTANCE *hInstance);
HRESULT WINAPI FilterInstanceClose(HFILTER_INSTANCE hInstance);
HRESULT WINAPI FilterGetInformation(HFILTER hFilter, FILTER_INFORMATION_CLASS dwInformationClass,
				    LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned);
HRESULT WINAPI FilterInstanceGetInformation(HFILTER_INSTANCE hInstance,
					    INSTANCE_INFORMATION_CLASS dwInformationClass,
					    LPVOID lpBuffer, DWORD dwBufferSize,
					    LPDWORD lpBytesReturned);

HRESULT WINAPI FilterFindFirst(FILTER_INFORMATION_CLASS dwInformationClass, LPVOID lpBuffer,
			       DWORD dwBufferSize, LPDWORD lpBytesReturned,
			       LPHANDLE lpFilterFind);
HRESULT WINAPI FilterFindNext(HANDLE hFilterFind, FILTER_INFORMATION_CLASS dwInformationClass,
			      LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned);
HRESULT WINAPI FilterFindClose(HANDLE hFilterFind);
HRESULT WINAPI FilterVolumeFindFirst(FILTER_VOLUME_INFORMATION_CLASS dwInformationClass,
				     LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned,
				     PHANDLE lpVolumeFind);
HRESULT WINAPI FilterVolumeFindNext(HANDLE hVolumeFind,
				    FILTER_VOLUME_INFORMATION_CLASS dwInformationClass,
				    LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned);
HRESULT WINAPI FilterVolumeFindClose(HANDLE hVolumeFind);
HRESULT WINAPI FilterInstanceFindFirst(LPCWSTR lpFilterName,
				       INSTANCE_INFORMATION_CLASS dwInformationClass,
				       LPVOID lpBuffer, DWORD dwBufferSize,
				       LPDWORD lpBytesReturned, LPHANDLE lpFilterInstanceFind);
HRESULT WINAPI FilterInstanceFindNext(HANDLE hFilterInstanceFind,
				      INSTANCE_INFORMATION_CLASS dwInformationClass,
				      LPVOID lpBuffer, DWORD dwBufferSize,
				      LPDWORD lpBytesReturned);
HRESULT WINAPI FilterInstanceFindClose(HANDLE hFilterInstanceFind);
HRESULT WINAPI FilterVolumeInstanceFindFirst(LPCWSTR lpVolumeName,
					     INSTANCE_INFORMATION_CLASS dwInformationClass,
					     LPVOID lpBuffer, DWORD dwBufferSize,
					     LPDWORD lpBytesReturned,
					     LPHANDLE lpVolumeInstanceFind);
HRESULT WINAPI FilterVolumeInstanceFindNext(HANDLE hVolumeInstanceFind,
					    INSTANCE_INFORMATION_CLASS dwInformationClass,
					    LPVOID lpBuffer, DWORD dwBufferSize,
					    LPDWORD lpBytesReturned);
HRESULT WINAPI FilterVolumeInstanceFindClose(HANDLE hVolumeInstanceFind);

HRESULT WINAPI FilterAttach(LPCWSTR lpFilterName, LPCWSTR lpVolumeName, LPCWSTR lpInstanceName,
			    DWORD dwCreatedInstanceNameLength, LPWSTR lpCreatedInstanceName);
HRESULT WINAPI FilterAttachAtAltitude(LPCWSTR lpFilterName, LPCWSTR lpVolumeName,
				      LPCWSTR lpAltitude, LPCWSTR lpInstanceName,
				      DWORD dwCreatedInstanceNameLength,
				      LPWSTR lpCreatedInstanceName);
HRESULT WINAPI FilterDetach(LPCWSTR lpFilterName, LPCWSTR lpVolumeName, LPCWSTR lpInstanceName);
HRESULT WINAPI FilterGetDosName(LPCWSTR lpVolumeName, LPWSTR lpDosName, DWORD dwDosNameBufferSize);

HRESULT WINAPI FilterConnectCommunicationPort(LPCWSTR lpPortName, DWORD dwOptions,
					      LPCVOID lpContext, WORD wSizeOfContext,
					      LPSECURITY_ATTRIBUTES lpSecurityAttributes,
					      HANDLE *hPort);
HRESULT WINAPI FilterSendMessage(HANDLE hPort, LPVOID lpInBuffer, DWORD dwInBufferSize,
				 LPVOID lpOutBuffer, DWORD dwOutBufferSize,
				 LPDWORD lpBytesReturned);
HRESULT WINAPI FilterGetMessage(HANDLE hPort, PFILTER_MESSAGE_HEADER lpMessageBuffer,
				DWORD dwMessageBufferSize, LPOVERLAPPED lpOverlapped);
HRESULT WINAPI FilterReplyMessage(HANDLE hPort, PFILTER_REPLY_HEADER lpReplyBuffer,
				  DWORD dwReplyBufferSize);

#endif
