/* specstrings.h: the annotations live in sal.h. */
#include <sal.h>
