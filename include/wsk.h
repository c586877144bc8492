/* wsk.h subset: the Windows socket address types and constants filters use to print addresses. */
#ifndef FM_WDK_WSK_H
#define FM_WDK_WSK_H

/*
 * Windows values (AF_INET6 is 23 on Windows, not Linux's 10): these describe addresses found
 * in Windows structures (ECPs), not Linux sockets.  Struct tags carry an fm_ prefix so that
 * this header can coexist with <netinet/in.h>.
 */

#include <ntddk.h>

#ifndef AF_INET
#define AF_INET 2
#endif
#define FM_WIN_AF_INET6 23
#ifndef AF_INET6
#define AF_INET6 FM_WIN_AF_INET6
#endif

typedef USHORT ADDRESS_FAMILY;

typedef struct fm_in_addr {
	union {
		struct {
			UCHAR s_b1, s_b2, s_b3, s_b4;
		} S_un_b;
		struct {
			USHORT s_w1, s_w2;
		} S_un_w;
		ULONG S_addr;
	} S_un;
} IN_ADDR, *PIN_ADDR;

typedef struct fm_in6_addr {
	union {
		UCHAR Byte[16];
		USHORT Word[8];
	} u;
} IN6_ADDR, *PIN6_ADDR;

typedef struct fm_sockaddr_in {
	ADDRESS_FAMILY sin_family;
	USHORT sin_port;
	IN_ADDR sin_addr;
	CHAR sin_zero[8];
} SOCKADDR_IN, *PSOCKADDR_IN;

typedef struct fm_sockaddr_in6 {
	ADDRESS_FAMILY sin6_family;
	USHORT sin6_port;
	ULONG sin6_flowinfo;
	IN6_ADDR sin6_addr;
	ULONG sin6_scope_id;
} SOCKADDR_IN6, *PSOCKADDR_IN6;

typedef struct fm_sockaddr {
	ADDRESS_FAMILY sa_family;
	CHAR sa_data[14];
} SOCKADDR, *PSOCKADDR;

typedef struct fm_sockaddr_storage {
	ADDRESS_FAMILY ss_family;
	CHAR __ss_pad1[6];
	LONGLONG __ss_align;
	CHAR __ss_pad2[112];
} SOCKADDR_STORAGE, *PSOCKADDR_STORAGE;

NTSTATUS RtlIpv4AddressToStringExW(const IN_ADDR *Address, USHORT Port, PWSTR AddressString,
				   PULONG AddressStringLength);
NTSTATUS RtlIpv6AddressToStringExW(const IN6_ADDR *Address, ULONG ScopeId, USHORT Port,
				   PWSTR AddressString, PULONG AddressStringLength);
NTSTATUS RtlIpv4AddressToStringExA(const IN_ADDR *Address, USHORT Port, PSTR AddressString,
				   PULONG AddressStringLength);
NTSTATUS RtlIpv6AddressToStringExA(const IN6_ADDR *Address, ULONG ScopeId, USHORT Port,
				   PSTR AddressString, PULONG AddressStringLength);
#define RtlIpv4AddressToStringEx RtlIpv4AddressToStringExW
#define RtlIpv6AddressToStringEx RtlIpv6AddressToStringExW

#endif
