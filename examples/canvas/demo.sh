#!/usr/bin/env bash
# The shared-canvas demo on a local cluster: a root host, a standby replica of the canvas and a
# zinc-canvas gateway, with embedded defaults. ./dev demo runs it after building.
#
#   examples/canvas/demo.sh [BUILD_DIR]
#
# Open the address it prints in two browser windows and draw. More gateways can join the same
# cluster:  BUILD_DIR/examples/zinc-canvas --http 127.0.0.1:8081 --join tcp://127.0.0.1:7750
# Ctrl-C stops everything. ZINC_DEMO_HTTP (127.0.0.1:8080) and ZINC_DEMO_PORT (7750: the host
# uses it and the next two) change the addresses.
set -euo pipefail
BUILD=${1:-build}
HTTP=${ZINC_DEMO_HTTP:-127.0.0.1:8080}
JOIN=tcp://127.0.0.1:${ZINC_DEMO_PORT:-7750}

stop() {
  trap - EXIT INT TERM
  pkill -TERM -P $$ 2>/dev/null || true  # Every child, the standby's stdin feeder too.
  wait 2>/dev/null || true
  echo "demo: stopped"
}
trap stop EXIT
trap 'exit 0' INT TERM

"$BUILD/tools/zincctl" host --listen "$JOIN" --name root > /dev/null &
# The standby keeps a full replica of the canvas (failover, when it lands, promotes it).
tail -f /dev/null | "$BUILD/tools/zincctl" client --join "$JOIN" --name standby \
  --doc canvas --type canvas > /dev/null &
"$BUILD/examples/zinc-canvas" --http "$HTTP" --join "$JOIN" &
echo "demo: root host and standby on $JOIN; open http://$HTTP (Ctrl-C stops)"
wait -n
