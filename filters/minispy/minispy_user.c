/* minispy (user tool): polls the minispy filter's port and prints one line per operation. */
#include <windows.h>
#include <fltUser.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "minispy.h"

/* Records fetched per FilterSendMessage. */
#define MU_BATCH 256
/* Seconds between 1601-01-01 and 1970-01-01. */
#define MU_EPOCH_DELTA 11644473600ULL

typedef struct _MU_OPTIONS {
	long Pid;		/* -1: any */
	const char *PathPrefix; /* NULL: any */
	const char *Op;		/* NULL: any */
	int Json;
	long Count; /* 0: unbounded */
} MU_OPTIONS;

static int MuMatches(const MU_OPTIONS *Options, const MINISPY_RECORD *Record)
{
	if (Options->Pid >= 0 && (unsigned long)Options->Pid != Record->ProcessId)
		return 0;
	if (Options->PathPrefix != NULL &&
	    strncmp(Record->Name, Options->PathPrefix, strlen(Options->PathPrefix)) != 0)
		return 0;
	if (Options->Op != NULL && strcmp(Record->Operation, Options->Op) != 0)
		return 0;
	return 1;
}

/* A JSON string with the escapes RFC 8259 requires. */
static void MuJsonString(const char *Text)
{
	const unsigned char *p;

	putchar('"');
	for (p = (const unsigned char *)Text; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static void MuPrint(const MU_OPTIONS *Options, const MINISPY_RECORD *Record)
{
	unsigned long long units = Record->Time;
	time_t secs = (time_t)(units / 10000000ULL - MU_EPOCH_DELTA);
	unsigned int ms = (unsigned int)(units / 10000ULL % 1000ULL);
	char stamp[32];
	struct tm tm;

	if (Record->Time < MU_EPOCH_DELTA * 10000000ULL)
		secs = 0;
	localtime_r(&secs, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	if (Options->Json) {
		printf("{\"time\":%lld.%03u,\"pid\":%lu,\"process\":", (long long)secs, ms,
		       (unsigned long)Record->ProcessId);
		MuJsonString(Record->Process);
		printf(",\"op\":");
		MuJsonString(Record->Operation);
		printf(",\"major\":%u,\"minor\":%u,\"name\":", Record->MajorFunction,
		       Record->MinorFunction);
		MuJsonString(Record->Name);
		printf(",\"status\":\"0x%08lX\",\"info\":%llu,\"arg1\":%llu,\"arg2\":%llu}\n",
		       (unsigned long)(ULONG)Record->Status,
		       (unsigned long long)Record->Information, (unsigned long long)Record->Arg1,
		       (unsigned long long)Record->Arg2);
	} else {
		printf("%s.%03u %6lu %-15s %-36s %s 0x%08lX\n", stamp, ms,
		       (unsigned long)Record->ProcessId, Record->Process, Record->Operation,
		       Record->Name[0] ? Record->Name : "-", (unsigned long)(ULONG)Record->Status);
	}
}

static void MuUsage(void)
{
	fprintf(stderr, "usage: minispy [--pid N] [--path PREFIX] [--op IRP_MJ_x] [--json] "
			"[--count N]\n");
}

int main(int argc, char **argv)
{
	MU_OPTIONS options = {-1, NULL, NULL, 0, 0};
	MINISPY_COMMAND command = {MINISPY_COMMAND_GET_RECORDS};
	const DWORD size = sizeof(MINISPY_REPLY) + MU_BATCH * sizeof(MINISPY_RECORD);
	struct timespec pause = {0, 100 * 1000 * 1000};
	long printed = 0;
	PUCHAR buffer;
	HANDLE port;
	HRESULT hr;
	int a;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--pid") == 0 && a + 1 < argc)
			options.Pid = strtol(argv[++a], NULL, 10);
		else if (strcmp(argv[a], "--path") == 0 && a + 1 < argc)
			options.PathPrefix = argv[++a];
		else if (strcmp(argv[a], "--op") == 0 && a + 1 < argc)
			options.Op = argv[++a];
		else if (strcmp(argv[a], "--count") == 0 && a + 1 < argc)
			options.Count = strtol(argv[++a], NULL, 10);
		else if (strcmp(argv[a], "--json") == 0)
			options.Json = 1;
		else {
			MuUsage();
			return 2;
		}
	}
	buffer = malloc(size);
	if (buffer == NULL)
		return 1;
	hr = FilterConnectCommunicationPort(MINISPY_PORT_NAME, 0, NULL, 0, NULL, &port);
	if (FAILED(hr)) {
		fprintf(stderr, "minispy: cannot connect to the minispy port: 0x%08X\n",
			(unsigned int)hr);
		free(buffer);
		return 1;
	}
	fprintf(stderr, "minispy: connected\n");
	for (;;) {
		MINISPY_REPLY reply;
		DWORD returned = 0;
		ULONG i;

		hr = FilterSendMessage(port, &command, sizeof(command), buffer, size, &returned);
		if (FAILED(hr)) {
			fprintf(stderr, "minispy: port closed (0x%08X), exiting\n",
				(unsigned int)hr);
			break;
		}
		if (returned < sizeof(reply))
			continue;
		memcpy(&reply, buffer, sizeof(reply));
		if (reply.Dropped != 0) {
			fprintf(options.Json ? stderr : stdout, "dropped %lu records\n",
				(unsigned long)reply.Dropped);
			fflush(options.Json ? stderr : stdout);
		}
		if (reply.RecordCount > (returned - sizeof(reply)) / sizeof(MINISPY_RECORD))
			reply.RecordCount =
			    (ULONG)((returned - sizeof(reply)) / sizeof(MINISPY_RECORD));
		for (i = 0; i < reply.RecordCount; i++) {
			MINISPY_RECORD record;

			memcpy(&record, buffer + sizeof(reply) + i * sizeof(MINISPY_RECORD),
			       sizeof(record));
			/* Never trust the strings to be terminated. */
			record.Process[sizeof(record.Process) - 1] = '\0';
			record.Operation[sizeof(record.Operation) - 1] = '\0';
			record.Name[sizeof(record.Name) - 1] = '\0';
			if (!MuMatches(&options, &record))
				continue;
			MuPrint(&options, &record);
			if (options.Count > 0 && ++printed >= options.Count)
				break;
		}
		fflush(stdout);
		if (options.Count > 0 && printed >= options.Count)
			break;
		/* A full batch means more are waiting: fetch again at once. */
		if (reply.RecordCount < MU_BATCH)
			nanosleep(&pause, NULL);
	}
	CloseHandle(port);
	free(buffer);
	return 0;
}
