/* Definitions of the GUIDs the WDK headers declare with DEFINE_GUID (ECP types ...). */
#include <initguid.h>
#include <ntifs.h>
