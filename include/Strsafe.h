/* Capitalised spelling of strsafe.h, as some sources include it. */
#include <strsafe.h>
