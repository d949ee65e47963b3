#!/bin/bash
# Integration scenario 7 with kernel WireGuard (runs inside the kernel VM):
# continuous ping between two of 3 nodes while one daemon restarts (SIGTERM
# + start, then SIGKILL + start): the daemon adopts the existing kernel
# interface and at most a handful of packets are lost.  See
# 50-netns-converge.sh for logs.
exec bash "$GSM_SOURCE_ROOT/tests/net/kernel-case.sh" restart --nodes 3
