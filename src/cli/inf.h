/* A minifilter INF reader for `fltmc install`: the service and the registry values it adds. */
#ifndef FM_CLI_INF_H
#define FM_CLI_INF_H

#include <stddef.h>
#include <stdint.h>

/* One value an AddReg line under the service key (HKR) writes, in Windows data layout. */
struct fm_inf_value {
	char *subkey; /* relative to the service key, "" for the key itself */
	char *name;   /* "" for the default value */
	uint32_t type;
	uint8_t *data;
	size_t len;
};

struct fm_inf_service {
	char *name;		     /* AddService's service name */
	char *binary;		     /* ServiceBinary as written (after %string% substitution) */
	char *default_instance;	     /* from HKR "Instances" (or "Parameters\Instances") */
	char *altitude;		     /* that instance's Altitude */
	uint32_t flags;		     /* that instance's Flags */
	struct fm_inf_value *values; /* every HKR value, in file order */
	size_t nvalues;
	unsigned int skipped; /* AddReg lines not applied (other roots, DELVAL, KEYONLY) */
};

/*
 * Parse INF text (the whole file, NUL-terminated).  Finds the first AddService directive in a
 * [*.Services] section (DefaultInstall.NTamd64.Services first), its service-install section
 * (ServiceBinary, AddReg) and the values of those AddReg sections under HKR, with %strkey%
 * replaced from [Strings].  Returns 0, or -EINVAL with a one-line reason (naming the line)
 * in err, or -ENOMEM.  Free with fm_inf_free.
 */
int fm_inf_parse(const char *text, struct fm_inf_service *out, char *err, size_t errcap);
void fm_inf_free(struct fm_inf_service *s);

#endif
