#!/usr/bin/env bash
# The shared-canvas browser test on a real local cluster: a root host (zincctl), two zinc-canvas
# gateways on free ports, and headless Chromium driven by canvas_test.mjs. Gateway B is
# stopped and started again during the test. A second cluster has keys (docs/security.md): its
# gateway K joins with its own key and asks browsers for tokens (--tokens). The screenshot goes to OUT_DIR/canvas-test.png.
#
#   tests/browser/run.sh ZINCCTL ZINC_CANVAS OUT_DIR
#
# Needs /usr/bin/chromium and tests/browser/node_modules (./dev test installs both).
set -euo pipefail
ZINCCTL=$1
CANVAS=$2
OUT=$3
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
mkdir -p "$OUT"

stop() {
  pkill -TERM -P $$ 2>/dev/null || true
  [ -f "$WORK/b.pid" ] && kill "$(cat "$WORK/b.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap stop EXIT

# Waits up to 20 s for a line matching $2 in file $1 and prints it.
wait_line() {
  for _ in $(seq 1 200); do
    if grep -m1 "$2" "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "run.sh: no '$2' in $1:" >&2
  cat "$1" >&2
  return 1
}

"$ZINCCTL" host --listen tcp://127.0.0.1:0 > "$WORK/host.out" &
JOIN=$(wait_line "$WORK/host.out" '"listen"' | sed 's/.*"listen":"\([^"]*\)".*/\1/')

"$CANVAS" --http 127.0.0.1:0 --join "$JOIN" > "$WORK/a.out" &
URL_A=$(wait_line "$WORK/a.out" 'open http' | sed 's/.*open \(http[^ ]*\).*/\1/')

# Gateway B keeps its port across the restart: the test stops and starts it with these scripts.
cat > "$WORK/start_b" <<SCRIPT
#!/bin/sh
"$CANVAS" --http "127.0.0.1:\${1:-0}" --join "$JOIN" > "$WORK/b.out" 2>&1 &
echo \$! > "$WORK/b.pid"
SCRIPT
cat > "$WORK/stop_b" <<SCRIPT
#!/bin/sh
kill \$(cat "$WORK/b.pid")
while kill -0 \$(cat "$WORK/b.pid") 2> /dev/null; do sleep 0.05; done
SCRIPT
chmod +x "$WORK/start_b" "$WORK/stop_b"
"$WORK/start_b" 0
URL_B=$(wait_line "$WORK/b.out" 'open http' | sed 's/.*open \(http[^ ]*\).*/\1/')

# The keyed cluster: a host and gateway K with keys, a writer and a reader token.
"$ZINCCTL" keygen "$WORK/khost" > /dev/null
"$ZINCCTL" keygen "$WORK/kgw" > /dev/null
echo "$(cat "$WORK/kgw.pub") gateway read:* write:*" > "$WORK/authorized_keys"
"$ZINCCTL" host --listen tcp://127.0.0.1:0 --key "$WORK/khost.secret" \
  --authorized-keys "$WORK/authorized_keys" > "$WORK/khost.out" &
KJOIN=$(wait_line "$WORK/khost.out" '"listen"' | sed 's/.*"listen":"\([^"]*\)".*/\1/')
WRITER=writer-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
READER=reader-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
printf '%s ada read:* write:canvas\n%s bob read:canvas\n' "$WRITER" "$READER" > "$WORK/tokens"
"$CANVAS" --http 127.0.0.1:0 --join "$KJOIN" --key "$WORK/kgw.secret" --server-key "$WORK/khost.pub" \
  --tokens "$WORK/tokens" > "$WORK/k.out" 2>&1 &
K_PID=$!
URL_K=$(wait_line "$WORK/k.out" 'open http' | sed 's/.*open \(http[^ ]*\).*/\1/')
cat > "$WORK/revoke" <<SCRIPT
#!/bin/sh
grep -v ' bob ' "$WORK/tokens" > "$WORK/tokens.new" && mv "$WORK/tokens.new" "$WORK/tokens"
kill -HUP $K_PID
SCRIPT
chmod +x "$WORK/revoke"

node "$HERE/canvas_test.mjs" --url "$URL_A" --url2 "$URL_B" \
  --stop-cmd "$WORK/stop_b" --start-cmd "$WORK/start_b ${URL_B##*:}" \
  --keyed-url "$URL_K/" --writer-token "$WRITER" --reader-token "$READER" \
  --revoke-cmd "$WORK/revoke" \
  --screenshot "$OUT/canvas-test.png"
