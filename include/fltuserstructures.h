/* Lower-case spelling of fltUserStructures.h. */
#include <fltUserStructures.h>
