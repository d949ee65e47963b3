/* gossamerd: the mesh daemon.  Thin main(); the runtime lives in daemon/. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))) {
		printf("gossamerd %s\n", GSM_VERSION);
		return 0;
	}
	fprintf(stderr, "usage: gossamerd [--version]\n");
	return 2;
}
