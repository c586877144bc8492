/* Debug output and checks: DbgPrint*, KdPrint targets, ASSERT and PAGED_CODE reports. */
#include "nt/ke.h"

#include <wdm.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "core/core.h"
#include "nt/format.h"

/*
 * Which DbgPrintEx levels print.  ERROR and WARNING always do; TRACE and INFO (and masks with
 * other bits) only when FLTMGR_DBGPRINT_VERBOSE is set in the daemon's environment, as a
 * debugger's Kd_<component>_Mask would enable them on Windows.  Plain DbgPrint always prints.
 */
static int verbose = -1;

static int dbg_verbose(void)
{
	if (verbose < 0) {
		const char *v = getenv("FLTMGR_DBGPRINT_VERBOSE");
		verbose = (v && *v && strcmp(v, "0") != 0) ? 1 : 0;
	}
	return verbose;
}

static int level_enabled(ULONG Level)
{
	if (Level & DPFLTR_MASK) {
		/* A bit mask: bit 0 is ERROR, bit 1 WARNING. */
		return (Level & 3u) != 0 || dbg_verbose();
	}
	return Level <= DPFLTR_WARNING_LEVEL || dbg_verbose();
}

static const char *tag(void)
{
	const struct fm_filter *f = fm_current_filter();

	return f ? fm_filter_name(f) : "kernel";
}

static ULONG vprint(const char *prefix, PCCH Format, va_list ap)
{
	char buf[1024];
	int n;

	if (!Format)
		return STATUS_INVALID_PARAMETER;
	n = fm_ms_vsnprintf(buf, sizeof(buf), Format, ap);
	if (n < 0) {
		fm_log(FM_LOG_INFO, tag(), "%s(bad format) %s", prefix ? prefix : "", Format);
		return STATUS_SUCCESS;
	}
	fm_log(FM_LOG_INFO, tag(), "%s%s", prefix ? prefix : "", buf);
	return STATUS_SUCCESS;
}

ULONG DbgPrint(PCSTR Format, ...)
{
	va_list ap;
	ULONG r;

	va_start(ap, Format);
	r = vprint(NULL, Format, ap);
	va_end(ap);
	return r;
}

ULONG DbgPrintReturnControlC(PCCH Format, ...)
{
	va_list ap;
	ULONG r;

	va_start(ap, Format);
	r = vprint(NULL, Format, ap);
	va_end(ap);
	return r;
}

ULONG vDbgPrintExWithPrefix(PCCH Prefix, ULONG ComponentId, ULONG Level, PCCH Format,
			    va_list arglist)
{
	(void)ComponentId;
	if (!level_enabled(Level))
		return STATUS_SUCCESS;
	return vprint(Prefix, Format, arglist);
}

ULONG vDbgPrintEx(ULONG ComponentId, ULONG Level, PCCH Format, va_list arglist)
{
	return vDbgPrintExWithPrefix(NULL, ComponentId, Level, Format, arglist);
}

ULONG DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...)
{
	va_list ap;
	ULONG r;

	va_start(ap, Format);
	r = vDbgPrintExWithPrefix(NULL, ComponentId, Level, Format, ap);
	va_end(ap);
	return r;
}

NTSTATUS DbgQueryDebugFilterState(ULONG ComponentId, ULONG Level)
{
	(void)ComponentId;
	return level_enabled(Level) ? (NTSTATUS)TRUE : (NTSTATUS)FALSE;
}

NTSTATUS DbgSetDebugFilterState(ULONG ComponentId, ULONG Level, BOOLEAN State)
{
	(void)ComponentId;
	(void)Level;
	if (State)
		verbose = 1;
	return STATUS_SUCCESS;
}

void DbgBreakPoint(void)
{
	fm_log(FM_LOG_WARN, tag(), "DbgBreakPoint (no kernel debugger: continuing)");
}

void DbgBreakPointWithStatus(ULONG Status)
{
	fm_log(FM_LOG_WARN, tag(), "DbgBreakPointWithStatus(0x%08x) (continuing)", Status);
}

NTSTATUS KdDisableDebugger(void)
{
	return STATUS_SUCCESS;
}

NTSTATUS KdEnableDebugger(void)
{
	return STATUS_SUCCESS;
}

BOOLEAN KdRefreshDebuggerNotPresent(void)
{
	return TRUE;
}

void fm_nt_assert_failed(const char *expr, const char *msg, const char *file, int line)
{
	fm_log(FM_LOG_ERROR, tag(), "assertion failed at %s:%d: %s%s%s", file ? file : "?", line,
	       expr ? expr : "?", msg ? " -- " : "", msg ? msg : "");
}

void fm_nt_paged_code(const char *file, int line)
{
	KIRQL irql = KeGetCurrentIrql();

	if (irql > APC_LEVEL)
		fm_verifier_misuse(NULL, "PAGED_CODE at IRQL %u (> APC_LEVEL) at %s:%d",
				   (unsigned)irql, file ? file : "?", line);
}
