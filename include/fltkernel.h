/* Lower-case spelling of fltKernel.h, as some sources include it. */
#include <fltKernel.h>
