/* gossamer: the operator CLI.  Thin main(); the commands live in cli/. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version"))) {
		printf("gossamer %s\n", GSM_VERSION);
		return 0;
	}
	fprintf(stderr, "usage: gossamer version\n");
	return 2;
}
