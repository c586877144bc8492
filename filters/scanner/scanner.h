/* scanner: the messages its kernel part (scanner.c) and user program (scanuser.c) exchange. */
#ifndef SCANNER_H
#define SCANNER_H

#define SCANNER_PORT_NAME L"\\ScannerPort"
/* Bytes of file content per message; files are scanned in chunks of this size. */
#define SCANNER_CHUNK_SIZE 65536
/* Consecutive chunks overlap so that a pattern this long that straddles two is still seen. */
#define SCANNER_CHUNK_OVERLAP 256
/* Bytes scanned at most per file. */
#define SCANNER_MAX_SCAN (16 * 1024 * 1024)

#define SCANNER_REASON_OPEN 1
#define SCANNER_REASON_CLEANUP 2

/* Kernel -> user: a chunk of a file.  Only the first BytesToScan bytes of Contents are sent. */
typedef struct _SCANNER_NOTIFICATION {
	ULONG BytesToScan;
	ULONG Reason;	  /* SCANNER_REASON_* */
	ULONGLONG Offset; /* of Contents[0] in the file */
	ULONG ProcessId;  /* who opened the file */
	ULONG Reserved;
	UCHAR Contents[SCANNER_CHUNK_SIZE];
} SCANNER_NOTIFICATION, *PSCANNER_NOTIFICATION;

/* User -> kernel: the verdict, following FILTER_REPLY_HEADER. */
typedef struct _SCANNER_REPLY {
	BOOLEAN SafeToOpen;
} SCANNER_REPLY, *PSCANNER_REPLY;

/* User -> kernel (FilterSendMessage): a command, answered in the output buffer. */
#define SCANNER_COMMAND_GET_STATS 1

typedef struct _SCANNER_COMMAND {
	ULONG Command; /* SCANNER_COMMAND_* */
} SCANNER_COMMAND, *PSCANNER_COMMAND;

typedef struct _SCANNER_STATS {
	ULONG FilesScanned;  /* scans that got a verdict for every chunk */
	ULONG FilesInfected; /* of which infected */
	ULONG CallerPid;     /* the process MessageNotify ran for */
} SCANNER_STATS, *PSCANNER_STATS;

#endif
