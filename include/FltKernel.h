/* Capitalised spelling of fltKernel.h. */
#include <fltKernel.h>
