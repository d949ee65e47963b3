#!/bin/bash
# The safe-routes scenario (tests/net/test_routes_scenario.py,
# docs/routing.md) with kernel WireGuard: a member advertising 0.0.0.0/0,
# ::/0 and the underlay leaves every honest node's main tables byte-for-byte
# the same, the ping matrix complete; members' prefixes go to table 51821;
# static peers survive, a hand-added peer is removed and named; MTU.  See
# 50-netns-converge.sh for logs.
exec bash "$GSM_SOURCE_ROOT/tests/net/kernel-case.sh" test_routes_scenario.py routes
