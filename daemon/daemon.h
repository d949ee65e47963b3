/* daemon/daemon.h - the gossamerd runtime (libuv). */
#ifndef GOSSAMER_DAEMON_DAEMON_H
#define GOSSAMER_DAEMON_DAEMON_H

/* Exit codes */
#define GSD_EXIT_OK	 0
#define GSD_EXIT_RUNTIME 1
#define GSD_EXIT_CONFIG	 2

/* The whole program: parse flags and config, run until stopped.  Returns
 * the process exit code. */
int gsd_main(int argc, char **argv);

#endif
