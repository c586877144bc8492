/* initguid.h: from here on, DEFINE_GUID defines the GUIDs instead of declaring them. */
/* No include guard: including it again re-enables defining mode, as in the WDK. */
#ifndef INITGUID
#define INITGUID
#endif
#include <ntdef.h>
#undef DEFINE_GUID
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8)                             \
	extern const GUID name;                                                                   \
	const GUID name __attribute__((weak)) = {l, w1, w2, {b1, b2, b3, b4, b5, b6, b7, b8}}
