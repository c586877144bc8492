/* suppress.h: static-analysis suppression macros, empty on GCC. */
#ifndef FM_WDK_SUPPRESS_H
#define FM_WDK_SUPPRESS_H
#define __PREfast_suppress_(...)
#define PREFAST_SUPPRESS_(...)
#endif
