/* minispy: the records and commands its kernel part (minispy.c) and user tool share. */
#ifndef MINISPY_H
#define MINISPY_H

#define MINISPY_PORT_NAME L"\\MiniSpyPort"
/* Records the kernel part keeps until the user tool collects them. */
#define MINISPY_RING_RECORDS 4096
#define MINISPY_NAME_CHARS 256
#define MINISPY_OP_CHARS 48
#define MINISPY_PROC_CHARS 16

#define MINISPY_COMMAND_GET_RECORDS 1

/* User -> kernel (FilterSendMessage input). */
typedef struct _MINISPY_COMMAND {
	ULONG Command; /* MINISPY_COMMAND_* */
} MINISPY_COMMAND;

/* One completed operation.  Strings are UTF-8, NUL-terminated, truncated when too long. */
typedef struct _MINISPY_RECORD {
	ULONGLONG Time; /* 100 ns units since 1601-01-01 UTC (KeQuerySystemTime) */
	ULONG ProcessId;
	UCHAR MajorFunction;
	UCHAR MinorFunction;
	USHORT Reserved;
	LONG Status;	       /* final IoStatus.Status */
	ULONG Flags;	       /* FLT_CALLBACK_DATA Flags */
	ULONGLONG Information; /* IoStatus.Information */
	ULONGLONG Arg1;	       /* read/write: length; create: options; else 0 */
	ULONGLONG Arg2;	       /* read/write: byte offset; create: desired access; else 0 */
	char Process[MINISPY_PROC_CHARS];
	char Operation[MINISPY_OP_CHARS];
	char Name[MINISPY_NAME_CHARS];
} MINISPY_RECORD;

/* Kernel -> user (FilterSendMessage output): the header, then RecordCount whole records. */
typedef struct _MINISPY_REPLY {
	ULONG RecordCount;
	ULONG Dropped; /* records dropped because the ring was full, since the previous call */
} MINISPY_REPLY;

#endif
