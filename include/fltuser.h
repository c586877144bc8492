/* Lower-case spelling of fltUser.h. */
#include <fltUser.h>
