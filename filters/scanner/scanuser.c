/* scanuser: the scanner's user-mode part: verdicts on file contents, through a completion port. */
#include <windows.h>
#include <fltUser.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scanner.h"

#define SU_DEFAULT_THREADS 2
#define SU_DEFAULT_REQUESTS 4
#define SU_MAX_THREADS 16
#define SU_MAX_REQUESTS 16
#define SU_MAX_PATTERNS 32

/* One outstanding FilterGetMessage: the message buffer and its OVERLAPPED. */
typedef struct _SU_MESSAGE {
	FILTER_MESSAGE_HEADER MessageHeader;
	SCANNER_NOTIFICATION Notification;
	OVERLAPPED Ovlp;
} SU_MESSAGE, *PSU_MESSAGE;

typedef struct _SU_REPLY_MESSAGE {
	FILTER_REPLY_HEADER ReplyHeader;
	SCANNER_REPLY Reply;
} SU_REPLY_MESSAGE;

typedef struct _SU_CONTEXT {
	HANDLE Port;
	HANDLE Completion;
} SU_CONTEXT, *PSU_CONTEXT;

static const char *gPatterns[SU_MAX_PATTERNS];
static size_t gPatternCount;
static CRITICAL_SECTION gOutputLock;

static BOOL SuInfected(const UCHAR *Data, ULONG Length)
{
	for (size_t i = 0; i < gPatternCount; i++)
		if (memmem(Data, Length, gPatterns[i], strlen(gPatterns[i])) != NULL)
			return TRUE;
	return FALSE;
}

/* Take completed messages off the completion port, reply, and post the buffer again. */
static DWORD WINAPI SuWorker(LPVOID Parameter)
{
	PSU_CONTEXT context = Parameter;
	HRESULT hr = S_OK;

	for (;;) {
		DWORD bytes;
		ULONG_PTR key;
		LPOVERLAPPED ovlp;
		PSU_MESSAGE message;
		SU_REPLY_MESSAGE reply;
		ULONG length;
		BOOL infected;

		if (!GetQueuedCompletionStatus(context->Completion, &bytes, &key, &ovlp,
					       INFINITE)) {
			hr = HRESULT_FROM_WIN32(GetLastError());
			break;
		}
		message = CONTAINING_RECORD(ovlp, SU_MESSAGE, Ovlp);
		length = message->Notification.BytesToScan;
		if (length > SCANNER_CHUNK_SIZE)
			length = SCANNER_CHUNK_SIZE;
		infected = SuInfected(message->Notification.Contents, length);

		EnterCriticalSection(&gOutputLock);
		printf("scanuser: %s offset %llu, %lu bytes (pid %lu): %s\n",
		       message->Notification.Reason == SCANNER_REASON_OPEN ? "open" : "cleanup",
		       (unsigned long long)message->Notification.Offset, (unsigned long)length,
		       (unsigned long)message->Notification.ProcessId,
		       infected ? "infected" : "clean");
		fflush(stdout);
		LeaveCriticalSection(&gOutputLock);

		memset(&reply, 0, sizeof(reply));
		reply.ReplyHeader.Status = 0;
		reply.ReplyHeader.MessageId = message->MessageHeader.MessageId;
		reply.Reply.SafeToOpen = !infected;
		hr = FilterReplyMessage(context->Port, &reply.ReplyHeader,
					sizeof(FILTER_REPLY_HEADER) + sizeof(SCANNER_REPLY));
		if (FAILED(hr))
			fprintf(stderr, "scanuser: FilterReplyMessage: 0x%08X\n", (unsigned int)hr);

		memset(&message->Ovlp, 0, sizeof(OVERLAPPED));
		hr = FilterGetMessage(context->Port, &message->MessageHeader,
				      FIELD_OFFSET(SU_MESSAGE, Ovlp), &message->Ovlp);
		if (hr != HRESULT_FROM_WIN32(ERROR_IO_PENDING))
			break;
	}
	if (hr != HRESULT_FROM_WIN32(ERROR_IO_PENDING))
		fprintf(stderr, "scanuser: worker stops: 0x%08X\n", (unsigned int)hr);
	return (DWORD)hr;
}

static void SuUsage(void)
{
	fprintf(stderr,
		"usage: scanuser [-t threads] [-r requests-per-thread] [pattern ...]\n"
		"  replies 'infected' for data containing a pattern (default EICAR-TEST)\n");
}

int main(int argc, char **argv)
{
	SU_CONTEXT context;
	HANDLE threads[SU_MAX_THREADS];
	PSU_MESSAGE messages;
	DWORD threadCount = SU_DEFAULT_THREADS, requestCount = SU_DEFAULT_REQUESTS, i, j;
	HRESULT hr;
	int a;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "-t") == 0 && a + 1 < argc) {
			threadCount = (DWORD)atoi(argv[++a]);
		} else if (strcmp(argv[a], "-r") == 0 && a + 1 < argc) {
			requestCount = (DWORD)atoi(argv[++a]);
		} else if (argv[a][0] == '-') {
			SuUsage();
			return 2;
		} else if (gPatternCount < SU_MAX_PATTERNS && argv[a][0] != '\0') {
			gPatterns[gPatternCount++] = argv[a];
		}
	}
	if (threadCount == 0 || threadCount > SU_MAX_THREADS || requestCount == 0 ||
	    requestCount > SU_MAX_REQUESTS) {
		SuUsage();
		return 2;
	}
	if (gPatternCount == 0)
		gPatterns[gPatternCount++] = "EICAR-TEST";
	InitializeCriticalSection(&gOutputLock);

	hr = FilterConnectCommunicationPort(SCANNER_PORT_NAME, 0, NULL, 0, NULL, &context.Port);
	if (FAILED(hr)) {
		fprintf(stderr, "scanuser: cannot connect to the scanner port: 0x%08X\n",
			(unsigned int)hr);
		return 1;
	}
	context.Completion = CreateIoCompletionPort(context.Port, NULL, 0, threadCount);
	if (context.Completion == NULL) {
		fprintf(stderr, "scanuser: CreateIoCompletionPort: %lu\n",
			(unsigned long)GetLastError());
		CloseHandle(context.Port);
		return 1;
	}
	messages = calloc((size_t)threadCount * requestCount, sizeof(SU_MESSAGE));
	if (messages == NULL) {
		CloseHandle(context.Completion);
		CloseHandle(context.Port);
		return 1;
	}
	for (i = 0; i < threadCount; i++) {
		threads[i] = CreateThread(NULL, 0, SuWorker, &context, 0, NULL);
		if (threads[i] == NULL) {
			fprintf(stderr, "scanuser: CreateThread: %lu\n",
				(unsigned long)GetLastError());
			return 1;
		}
		for (j = 0; j < requestCount; j++) {
			PSU_MESSAGE msg = &messages[i * requestCount + j];
			hr = FilterGetMessage(context.Port, &msg->MessageHeader,
					      FIELD_OFFSET(SU_MESSAGE, Ovlp), &msg->Ovlp);
			if (hr != HRESULT_FROM_WIN32(ERROR_IO_PENDING)) {
				fprintf(stderr, "scanuser: FilterGetMessage: 0x%08X\n",
					(unsigned int)hr);
				return 1;
			}
		}
	}
	printf("scanuser: connected, %lu threads x %lu requests, %zu pattern(s)\n",
	       (unsigned long)threadCount, (unsigned long)requestCount, gPatternCount);
	{
		SCANNER_COMMAND command = {SCANNER_COMMAND_GET_STATS};
		SCANNER_STATS stats;
		DWORD returned = 0;

		hr = FilterSendMessage(context.Port, &command, sizeof(command), &stats,
				       sizeof(stats), &returned);
		if (SUCCEEDED(hr) && returned == sizeof(stats))
			printf("scanuser: kernel stats: %lu files scanned, %lu infected (asked by "
			       "pid %lu)\n",
			       (unsigned long)stats.FilesScanned,
			       (unsigned long)stats.FilesInfected, (unsigned long)stats.CallerPid);
		else
			printf("scanuser: kernel stats unavailable: 0x%08X\n", (unsigned int)hr);
	}
	fflush(stdout);

	/* Workers run until the port goes away (filter unloaded) or the process is killed. */
	WaitForMultipleObjects(threadCount, threads, TRUE, INFINITE);
	printf("scanuser: port closed, exiting\n");
	for (i = 0; i < threadCount; i++)
		CloseHandle(threads[i]);
	CloseHandle(context.Port);
	CloseHandle(context.Completion);
	free(messages);
	DeleteCriticalSection(&gOutputLock);
	return 0;
}
