/* common/array.c - see array.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"

int gsc_grow(void *arrp, size_t *cap, size_t need, size_t elem)
{
	void *arr, *p;
	size_t nc;

	if (need <= *cap)
		return 0;
	nc = *cap ? *cap : 16;
	while (nc < need) {
		if (nc > SIZE_MAX / 2)
			return -EOVERFLOW;
		nc *= 2;
	}
	if (elem && nc > SIZE_MAX / elem)
		return -EOVERFLOW;
	memcpy(&arr, arrp, sizeof(arr));
	p = realloc(arr, nc * elem);
	if (!p)
		return -ENOMEM;
	memcpy(arrp, &p, sizeof(p));
	*cap = nc;
	return 0;
}
