/* gossamerd: the mesh daemon.  Thin main(); the runtime lives in daemon/. */
#include "daemon/daemon.h"

int main(int argc, char **argv)
{
	return gsd_main(argc, argv);
}
