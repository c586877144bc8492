/* winioctl.h for user mode: device types, CTL_CODE and the file system control codes. */
#ifndef FM_WDK_WINIOCTL_H
#define FM_WDK_WINIOCTL_H

/* The kernel headers hold the one copy of these definitions. */
#include <ntifs.h>

#endif
