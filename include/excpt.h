/* Structured exception handling (__try/__except/__finally/__leave) mapped onto plain C blocks. */
#ifndef FM_WDK_EXCPT_H
#define FM_WDK_EXCPT_H

/*
 * GCC has no SEH.  The mapping keeps the code's normal (non-faulting) control flow exact:
 *
 *   __try { body }                 ->  do { body } while (0);
 *   __leave;                       ->  break;              (leaves the do-block)
 *   __finally { cleanup }          ->  ... while (0); { cleanup }   (always runs after body)
 *   __except (filter) { handler }  ->  ... while (0); if (0 && (filter)) { handler }
 *
 * so the body runs, __leave jumps to its end, a __finally block always runs afterwards, and
 * an __except handler never runs (the filter expression is compiled but never evaluated, so
 * the functions it names count as used).  Limits, checked against the WDK samples: a __leave
 * inside a loop or switch nested in the __try leaves that loop instead, and a return inside a
 * __try skips the __finally block.  A hardware fault inside a __try (a bad user buffer) is not
 * caught: it raises SIGSEGV in fltmgrd, as an unhandled exception would bugcheck.
 * GetExceptionCode() is STATUS_ACCESS_VIOLATION and GetExceptionInformation() NULL; neither
 * is ever evaluated at run time because handlers never run.
 *
 * The lowercase spellings try/except/finally/leave that <excpt.h> provides for C are defined
 * too, unless FM_NO_SEH_KEYWORDS is defined before the first WDK header (for code that uses
 * those words as identifiers).
 */

#define __try do
#define __leave break
#define __finally while (0);
#define __except(filter) while (0); if (0 && (filter))

#ifndef FM_NO_SEH_KEYWORDS
#define try __try
#define leave __leave
#define finally __finally
#define except(filter) __except(filter)
#endif

#define EXCEPTION_EXECUTE_HANDLER 1
#define EXCEPTION_CONTINUE_SEARCH 0
#define EXCEPTION_CONTINUE_EXECUTION (-1)

#define GetExceptionCode() ((NTSTATUS)0xC0000005L)
#define GetExceptionInformation() ((struct _EXCEPTION_POINTERS *)0)
#define AbnormalTermination() (0)
#define _exception_code() GetExceptionCode()
#define _exception_info() GetExceptionInformation()
#define _abnormal_termination() AbnormalTermination()

#endif
