/* Altitudes: infinite-precision decimal strings, normalized and compared exactly. */
#include "core/core_i.h"

#include <errno.h>
#include <string.h>

int fm__altitude_normalize(const char *in, char *out, size_t cap)
{
	const char *p = in, *int_start, *int_end, *frac_start = NULL, *frac_end = NULL;
	size_t len = 0;

	if (!in || !*in)
		return -EINVAL;
	while (*p == '0' && p[1] >= '0' && p[1] <= '9')
		p++;
	int_start = p;
	while (*p >= '0' && *p <= '9')
		p++;
	int_end = p;
	if (int_end == int_start)
		return -EINVAL;
	if (*p == '.') {
		frac_start = ++p;
		while (*p >= '0' && *p <= '9')
			p++;
		frac_end = p;
		if (frac_end == frac_start)
			return -EINVAL;
		/* Trailing zeros of the fraction do not change the number. */
		while (frac_end > frac_start && frac_end[-1] == '0')
			frac_end--;
	}
	if (*p != '\0')
		return -EINVAL;
	len = (size_t)(int_end - int_start);
	if (frac_start && frac_end > frac_start)
		len += 1 + (size_t)(frac_end - frac_start);
	if (len + 1 > cap)
		return -ENAMETOOLONG;
	memcpy(out, int_start, (size_t)(int_end - int_start));
	if (frac_start && frac_end > frac_start) {
		out[int_end - int_start] = '.';
		memcpy(out + (int_end - int_start) + 1, frac_start,
		       (size_t)(frac_end - frac_start));
	}
	out[len] = '\0';
	return 0;
}

int fm__altitude_cmp(const char *a, const char *b)
{
	size_t ia = strcspn(a, "."), ib = strcspn(b, ".");
	const char *fa, *fb;
	int c;

	/* Normalized integer parts have no leading zeros: the longer one is larger. */
	if (ia != ib)
		return ia < ib ? -1 : 1;
	c = strncmp(a, b, ia);
	if (c)
		return c < 0 ? -1 : 1;
	fa = a[ia] ? a + ia + 1 : "";
	fb = b[ib] ? b + ib + 1 : "";
	/* Fractions compare digit by digit; a missing digit is 0 and trailing zeros are gone. */
	while (*fa || *fb) {
		char da = *fa ? *fa : '0', db = *fb ? *fb : '0';
		if (da != db)
			return da < db ? -1 : 1;
		if (*fa)
			fa++;
		if (*fb)
			fb++;
	}
	return 0;
}
