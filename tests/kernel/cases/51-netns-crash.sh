#!/bin/bash
# Integration scenario 2 with kernel WireGuard (runs inside the kernel VM):
# one of 4 nodes dies (SIGKILL of everything in it, its interface gone):
# declared dead and removed from every peer set; restarted: back everywhere
# with the same key and addresses.  See 50-netns-converge.sh for logs.
exec bash "$GSM_SOURCE_ROOT/tests/net/kernel-case.sh" crash --nodes 4
