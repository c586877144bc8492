/* dontuse.h: the WDK list of deprecated functions; nothing to enforce on GCC. */
#ifndef FM_WDK_DONTUSE_H
#define FM_WDK_DONTUSE_H
#endif
