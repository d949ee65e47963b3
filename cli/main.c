/* gossamer: the operator CLI.  Thin main(); the commands live in cli/. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
	return gcli_main(argc, argv);
}
