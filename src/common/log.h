/* Logging for the daemon, the core and the filters' DbgPrint output: one sink, tagged lines. */
#ifndef FM_COMMON_LOG_H
#define FM_COMMON_LOG_H

#include <stdarg.h>

enum fm_log_level { FM_LOG_ERROR = 0, FM_LOG_WARN = 1, FM_LOG_INFO = 2, FM_LOG_DEBUG = 3 };

/*
 * Open the log: lines go to stderr and, when `path` is not NULL, are appended to that file.
 * Safe to call again (reopens).  Returns 0 or -errno.  Before it is called, lines go to stderr.
 */
int fm_log_open(const char *path, enum fm_log_level max_level);
void fm_log_close(void);

/*
 * Write one line "<time> <level> [<tag>] <message>" (tag omitted when NULL).  A trailing
 * newline in the message is dropped; every call writes exactly one line, atomically with
 * respect to other threads.  Thread-safe, async-signal-unsafe.
 */
void fm_log(enum fm_log_level level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fm_logv(enum fm_log_level level, const char *tag, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define fm_err(...) fm_log(FM_LOG_ERROR, NULL, __VA_ARGS__)
#define fm_warn(...) fm_log(FM_LOG_WARN, NULL, __VA_ARGS__)
#define fm_info(...) fm_log(FM_LOG_INFO, NULL, __VA_ARGS__)
#define fm_debug(...) fm_log(FM_LOG_DEBUG, NULL, __VA_ARGS__)

#endif
