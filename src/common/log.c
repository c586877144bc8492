/* log: one sink for the daemon, the core and filters' DbgPrint: tagged lines to stderr and a file. */
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Longer messages are cut, so a line is always built on the stack and written at once. */
#define LINE_MAX_BYTES 8192

/* Guards log_fd: readers write lines, fm_log_open/fm_log_close swap the descriptor. */
static pthread_rwlock_t log_lock = PTHREAD_RWLOCK_INITIALIZER;
static int log_fd = -1; /* guarded by log_lock */
static _Atomic int log_max_level = FM_LOG_INFO;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

int fm_log_open(const char *path, enum fm_log_level max_level)
{
	int fd = -1, old;

	if ((int)max_level < FM_LOG_ERROR || max_level > FM_LOG_DEBUG)
		return -EINVAL;
	if (path) {
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (fd < 0)
			return -errno;
	}
	pthread_rwlock_wrlock(&log_lock);
	old = log_fd;
	log_fd = fd;
	atomic_store(&log_max_level, (int)max_level);
	pthread_rwlock_unlock(&log_lock);
	if (old >= 0)
		close(old);
	return 0;
}

void fm_log_close(void)
{
	int old;

	pthread_rwlock_wrlock(&log_lock);
	old = log_fd;
	log_fd = -1;
	pthread_rwlock_unlock(&log_lock);
	if (old >= 0)
		close(old);
}

/* Write all of buf; a line is small enough that one write(2) normally takes it whole. */
static void write_line(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

void fm_logv(enum fm_log_level level, const char *tag, const char *fmt, va_list ap)
{
	char line[LINE_MAX_BYTES];
	struct timespec ts;
	struct tm tm;
	size_t len, head, i;
	int saved_errno = errno, n;

	if ((int)level < FM_LOG_ERROR || level > FM_LOG_DEBUG)
		level = FM_LOG_ERROR;
	if ((int)level > atomic_load_explicit(&log_max_level, memory_order_relaxed))
		return;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     ts.tv_nsec / 1000000, level_names[level]);
	head = n > 0 ? (size_t)n : 0;
	if (tag) {
		n = snprintf(line + head, sizeof(line) - head, "[%s] ", tag);
		if (n > 0)
			head += (size_t)n;
		/* An absurd tag must still leave room for the message. */
		if (head > sizeof(line) / 2)
			head = sizeof(line) / 2;
	}
	/* Keep one byte free for the newline. */
	n = vsnprintf(line + head, sizeof(line) - head - 1, fmt, ap);
	len = head;
	if (n > 0)
		len += (size_t)n < sizeof(line) - head - 1 ? (size_t)n : sizeof(line) - head - 2;
	while (len > head && line[len - 1] == '\n')
		len--;
	/* A message with embedded newlines must still be one line, or readers mis-split it. */
	for (i = head; i < len; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[len++] = '\n';

	pthread_rwlock_rdlock(&log_lock);
	write_line(STDERR_FILENO, line, len);
	if (log_fd >= 0)
		write_line(log_fd, line, len);
	pthread_rwlock_unlock(&log_lock);
	errno = saved_errno;
}

void fm_log(enum fm_log_level level, const char *tag, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fm_logv(level, tag, fmt, ap);
	va_end(ap);
}
