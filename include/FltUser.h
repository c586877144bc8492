/* Capitalised spelling of fltUser.h. */
#include <fltUser.h>
