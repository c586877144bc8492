/* crtdbg.h subset: the debug CRT's assertion macros, mapped to assert(). */
#ifndef FM_WDK_CRTDBG_H
#define FM_WDK_CRTDBG_H

#include <assert.h>

#define _ASSERT(expr) assert(expr)
#define _ASSERTE(expr) assert(expr)
#define _ASSERT_EXPR(expr, msg) assert(expr)
#define _RPT0(rptno, msg) ((void)0)
#define _RPT1(rptno, msg, arg1) ((void)(arg1))
#define _CrtSetDbgFlag(f) (0)
#define _CrtDumpMemoryLeaks() (0)

#endif
