#!/usr/bin/env bash
# The shared-canvas demo on a local cluster: a root host, a standby replica of the canvas and a
# zinc-canvas gateway, with embedded defaults. ./dev demo runs it after building.
#
#   examples/canvas/demo.sh [BUILD_DIR]
#
# Open the address it prints in two browser windows and draw. More gateways can join the same
# cluster:  BUILD_DIR/examples/zinc-canvas --http 127.0.0.1:8081 --join tcp://127.0.0.1:7750
# Ctrl-C stops everything. ZINC_DEMO_HTTP (127.0.0.1:8080) and ZINC_DEMO_PORT (7750: the host
# uses it and the next two, the standby the three from 7760) change the addresses. Kill the root
# (kill -9) to see the standby take over: the gateway follows it and the canvas goes on.
# The drawing is kept in ZINC_DEMO_DATA (.zinc-demo/ in the current directory, ignored by git):
# it survives Ctrl-C and a restart of the demo; delete the directory to start over.
set -euo pipefail
BUILD=${1:-build}
HTTP=${ZINC_DEMO_HTTP:-127.0.0.1:8080}
PORT=${ZINC_DEMO_PORT:-7750}
JOIN=tcp://127.0.0.1:$PORT
STANDBY=tcp://127.0.0.1:$((PORT + 10))
DATA=${ZINC_DEMO_DATA:-.zinc-demo}

stop() {
  trap - EXIT INT TERM
  pkill -TERM -P $$ 2>/dev/null || true  # Every child.
  wait 2>/dev/null || true
  echo "demo: stopped"
}
trap stop EXIT
trap 'exit 0' INT TERM

"$BUILD/tools/zincctl" host --listen "$JOIN" --name root --data "$DATA/root" > /dev/null &
# The standby: a relay the root names to take over if it dies; it replicates every document
# (docs/failover.md).
"$BUILD/tools/zincctl" relay --listen "$STANDBY" --join "$JOIN" --priority 10 --name standby \
  --data "$DATA/standby" > /dev/null &
"$BUILD/examples/zinc-canvas" --http "$HTTP" --join "$JOIN" &
GATEWAY=$!
echo "demo: root host on $JOIN, standby on $STANDBY, documents kept in $DATA/;" \
  "open http://$HTTP (Ctrl-C stops)"
wait "$GATEWAY"
