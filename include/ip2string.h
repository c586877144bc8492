/* ip2string.h: address-to-string routines live with the address types in wsk.h. */
#include <wsk.h>
