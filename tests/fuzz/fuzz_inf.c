/*
 * Fuzz target for the INF reader behind `fltmc install` (src/cli/inf.c): a file anyone may
 * hand to the tool.  Properties: no crash or overread, a failure always comes with a reason,
 * and a success names a service whose every registry value is self-consistent.
 */
#include "cli/inf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_inf: property violated: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fm_inf_service svc;
	char err[256];
	char *text;
	int rc;

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	memset(&svc, 0, sizeof(svc));
	rc = fm_inf_parse(text, &svc, err, sizeof(err));
	require(rc == 0 || rc == -22 || rc == -12, "result is 0, -EINVAL or -ENOMEM");
	if (rc == -22)
		require(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL,
			"a refusal says why");
	if (rc == 0) {
		require(svc.name && svc.name[0], "a service has a name");
		require(svc.nvalues == 0 || svc.values, "values are there when counted");
		for (size_t i = 0; i < svc.nvalues; i++) {
			const struct fm_inf_value *v = &svc.values[i];

			require(v->subkey && v->name, "value names are strings");
			require(v->len == 0 || v->data, "value data is there when it has a length");
		}
		fm_inf_free(&svc);
	}
	free(text);
	return 0;
}
