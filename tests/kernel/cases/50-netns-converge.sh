#!/bin/bash
# Integration scenario 1 with kernel WireGuard (runs inside the kernel VM):
# 4 gossamerd nodes in namespaces converge from one seed; every node has
# every other as a WireGuard peer with the right key, allowed IPs and
# endpoint; full ping matrix over the IPv4 and IPv6 overlay addresses.
# Harness: tests/net/gsmnet.py (docs/testing.md).  Work dir and logs in /tmp
# inside the VM (daemon sockets and state on tmpfs, not on the 9p-shared
# build dir); the logs are copied to $GSM_BUILD_ROOT/tests/net/logs-kernel/.
exec bash "$GSM_SOURCE_ROOT/tests/net/kernel-case.sh" converge --nodes 4
