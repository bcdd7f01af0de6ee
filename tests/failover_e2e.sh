#!/usr/bin/env bash
# Fault tests with real processes and real signals (docs/failover.md): zincctl hosts, relays
# and clients over tcp loopback, one of them killed (SIGKILL) or stopped (SIGSTOP) while the
# clients edit. Every client logs the edits acknowledged to it (--acks); at the end every
# acknowledged edit must be in the new root's state exactly once, every client must exit 0
# (all its edits acknowledged), and the members' replicas must be identical.
#
# usage: failover_e2e.sh PATH/TO/zincctl SCENARIO
#   root-kill       the root is SIGKILLed while 6 clients edit a text and 6 a map
#   root-kill-keys  the same with keys (docs/security.md): every member and client has its own
#                   key, every channel is CurveZMQ, the clients follow the standby by the key
#                   the roster gives them
#   relay-kill      a relay in a depth-3 tree is SIGKILLed under 6 clients
#   root-pause      the root is SIGSTOPped for 2 s, then resumed: it steps down
#   client-offline  a client is SIGSTOPped for 5 s, then edits on resume
#   root-restart    a root with a data directory SIGKILLed under 4 writers and restarted on the
#                   same directory and address: the writers reconnect and finish, and every
#                   acknowledged edit is in the document exactly once
#   both-die        as both-restart, the root restarted only once the writers have found the standby
#                   dead too: they go back to their join address by themselves
#   both-restart    the root and its standby (both with data directories) SIGKILLed, the root
#                   restarted: nothing acknowledged is lost
#   disk-full       a root whose data directory is on a 4 MB tmpfs that fills up: edits are
#                   refused (NACK_STORE_FAILED, kept by their authors), reads still served;
#                   once space is freed the edits go through, none lost or applied twice
#   offline-rebase  a client in its own network namespace goes offline (its link down) with
#                   1,000 pending text edits while 4 others make 100,000 on a root that keeps
#                   only 1,000 fragments in memory but its log on disk: once back, every one of
#                   its edits is in the text once, in its order
#   offline-fit     the same with only 1,000 fragments in the log (and 20,000 edits by the
#                   others): its edits are replayed onto a snapshot (fitted), and it is told so
#                   (ZINC-REBASED)
#   ack-standby     --ack-after standby: the root SIGKILLed and its data directory deleted (its
#                   machine never comes back) under 6 writers; the standby, which acknowledged
#                   every edit from its own disk, takes over: every acknowledged edit is there
#   standby-behind  the standby is SIGSTOPped, the root SIGKILLed while it stands still, then
#                   the standby resumed: it takes over without the newest tail the clients had
#                   (their conflicting tail): they resync and send their own edits again
# Loop one to look for flakiness:  for i in $(seq 20); do failover_e2e.sh Z root-kill || break; done
set -u
# A second of silence (not 300 ms) makes a member dead: on a loaded 2-core machine a starved
# process is not taken for a dead one, which would start a second, needless failover (that run
# then stands for something else). zinc_bench failover measures the default heartbeat.
HB="--heartbeat-misses 10"
# A sanitizer build is several times slower: ZINC_FAULT_SLOWDOWN=N (tests/CMakeLists.txt sets
# it for those builds) divides the clients' edit counts and rates by N, so that the offered load
# stays within what the cluster sequences and the run tests the fault, not an overload. (The
# root's text transforms grow with how far behind a client's edits are: a cluster pushed past
# its rate falls further behind the longer it runs; docs/failover.md, Limits.)
SLOWDOWN=${ZINC_FAULT_SLOWDOWN:-1}
# A TSan build of zincctl reports libzmq's internal races unless told of the suppressions: run
# on its own (not through ./dev tsan), the script points TSan at them itself.
case "${TSAN_OPTIONS:-}" in
  *suppressions=*) ;;
  *) export TSAN_OPTIONS="halt_on_error=1 suppressions=$(cd "$(dirname "$0")" && pwd)/tsan.supp ${TSAN_OPTIONS:-}" ;;
esac
scaled() { local n=$(($1 / SLOWDOWN)); [ $n -lt 1 ] && n=1; echo $n; }
ZINCCTL=${1:?usage: failover_e2e.sh PATH/TO/zincctl SCENARIO}
SCENARIO=${2:?usage: failover_e2e.sh PATH/TO/zincctl SCENARIO}
WORK=$(mktemp -d)
PIDS=
cleanup() {
  for p in $PIDS; do kill -9 "$p" 2> /dev/null; done
  wait 2> /dev/null
  [ "${KEEP:-}" = 1 ] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok:   $*"; }
die() { echo "FAIL: $*"; tail -n 5 "$WORK"/*.err 2> /dev/null; exit 1; }

# Waits (up to 30 s) until the command succeeds.
wait_for() {
  for _ in $(seq 1 3000); do
    "$@" && return 0
    sleep 0.01
  done
  return 1
}
has_line() { [ -s "$1" ] && head -1 "$1" | grep -q .; }
field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())[sys.argv[1]])' "$1"; }

# Keys (KEYED=1): NAME.secret/NAME.pub in $WORK for every member and for the clients ("client")
# and zincctl stat/cat ("ops"); one authorized-keys file for every host. SERVER_KEY_<port> is
# the public key file of the member listening on that port.
KEYED=0
make_keys() {
  KEYED=1
  for k in "$@" client ops; do "$ZINCCTL" keygen "$WORK/$k" > /dev/null || die "keygen $k"; done
  {
    for k in "$@"; do echo "$(cat "$WORK/$k.pub") $k member"; done
    echo "$(cat "$WORK/client.pub") clients read:* write:*"
    echo "$(cat "$WORK/ops.pub") ops read:*"
  } > "$WORK/authorized_keys"
}
port_of() { echo "${1##*:}"; }
# The flags that reach the member at ADDR with key NAME: "" without keys.
keys_to() {
  [ $KEYED = 1 ] || return 0
  eval "echo --key $WORK/$2.secret --server-key \$SERVER_KEY_$(port_of "$1")"
}

# start_host NAME [flags]: sets ADDR_<NAME>, PID_<NAME>, ID_<NAME>. With keys, a relay's --join
# (the first flag pair) gets the server key of the member it names.
start_node() {
  local kind=$1 name=$2
  shift 2
  local keys=""
  if [ $KEYED = 1 ]; then
    keys="--key $WORK/$name.secret --authorized-keys $WORK/authorized_keys"
    [ "${1:-}" = --join ] && keys="$keys --server-key $(eval "echo \$SERVER_KEY_$(port_of "$2")")"
  fi
  "$ZINCCTL" "$kind" --listen "${LISTEN:-tcp://127.0.0.1:0}" --name "$name" --log-level info $HB $keys "$@" \
    > "$WORK/$name.out" 2> "$WORK/$name.err" &
  local pid=$!
  PIDS="$PIDS $pid"
  wait_for has_line "$WORK/$name.out" || die "$name did not start"
  eval "PID_$name=$pid"
  eval "ADDR_$name=$(field listen < "$WORK/$name.out")"
  eval "ID_$name=$(field id < "$WORK/$name.out")"
  eval "SERVER_KEY_$(port_of "$(field listen < "$WORK/$name.out")")=$WORK/$name.pub"
}

# The edits of client NAME: COUNT lines at RATE a second. A text client inserts "[NAME:k]" at
# the start, a map client sets "NAME-k" to k: the k-th edit has origin_seq k.
gen() {
  python3 - "$@" << 'PY'
import sys, time
kind, name, count, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
pad = "~" * int(sys.argv[5]) if len(sys.argv) > 5 else ""
start = time.monotonic()
for k in range(1, count + 1):
    if kind == "ballast":
        print('{"set":["ballast-%d","%s"]}' % (k % 10, "~" * 32000), flush=True)
    elif kind == "text":
        print('{"insert":[0,"[%s:%d]%s"]}' % (name, k, pad), flush=True)
    else:
        print('{"set":["%s-%d",%d]}' % (name, k, k), flush=True)
    ahead = start + k / rate - time.monotonic()
    if ahead > 0:
        time.sleep(ahead)
PY
}

# start_client NAME KIND JOIN COUNT RATE [flags]: edits document "t" (text) or "m" (map).
# PAD=N pads each text insert with N bytes.
start_client() {
  local name=$1 kind=$2 join=$3 count=$(scaled $4) rate=$(scaled $5)
  shift 5
  local doc=m
  [ "$kind" = text ] && doc=t
  gen "$kind" "$name" "$count" "$rate" "${PAD:-0}" |
    "$ZINCCTL" client --join "$join" --doc "$doc" --type "$kind" --acks "$WORK/$name.acks" \
      --name "$name" --log-level info --timeout-ms 60000 $HB $(keys_to "$join" client) "$@" \
      > "$WORK/$name.out" 2> "$WORK/$name.err" &
  local pid=$!
  PIDS="$PIDS $pid"
  eval "PID_$name=$pid"
  CLIENTS="${CLIENTS:-} $name"
}

# start_writers N COUNT RATE: text clients t1..tN and map clients m1..mN joined to the root.
start_writers() {
  for i in $(seq 1 "$1"); do
    start_client "t$i" text "$ADDR_root" "$2" "$3"
    start_client "m$i" map "$ADDR_root" "$2" "$3"
  done
}

acked_at_least() { [ -s "$WORK/$1.acks" ] && [ "$(wc -l < "$WORK/$1.acks")" -ge "$2" ]; }

wait_clients() {
  for c in $CLIENTS; do
    eval "wait \$PID_$c"
    local rc=$?
    [ $rc -eq 0 ] && pass "client $c exit 0 (every edit acknowledged)" ||
      { fail "client $c exit $rc"; tail -n 5 "$WORK/$c.err"; }
  done
}

stat_field() { "$ZINCCTL" stat --join "$1" --timeout-ms 2000 $(keys_to "$1" ops) 2> /dev/null | field "$2"; }
stat_is() { [ "$(stat_field "$1" "$2")" = "$3" ]; }

# check_docs MEMBER [MEMBER...]: cat t and m at each member (the first is the root) until they
# agree, then check every acknowledged edit of every client is in the root's state, once.
check_docs() {
  local root=$1
  local ok=0
  local deadline=$((SECONDS + 60))
  while [ $SECONDS -lt $deadline ]; do
    ok=1
    for doc in t m; do
      "$ZINCCTL" cat --join "$root" --doc "$doc" --timeout-ms 3000 $(keys_to "$root" ops) > "$WORK/cat.$doc" 2> /dev/null ||
        { ok=0; continue; }
      for m in "$@"; do
        "$ZINCCTL" cat --join "$m" --doc "$doc" --timeout-ms 3000 $(keys_to "$m" ops) > "$WORK/cat2.$doc" 2> /dev/null &&
          cmp -s "$WORK/cat.$doc" "$WORK/cat2.$doc" || ok=0
      done
    done
    [ $ok = 1 ] && break
    sleep 0.1
  done
  [ $ok = 1 ] && pass "replicas at $# members identical" || { fail "replicas differ"; return; }
  python3 - "$WORK" $CLIENTS << 'PY' || failures=$((failures + 1))
import json, re, sys
work, clients = sys.argv[1], sys.argv[2:]
text = json.load(open(f"{work}/cat.t"))
entries = json.load(open(f"{work}/cat.m"))["entries"]
counts = {}
for token in re.findall(r"\[([^\]:]+):(\d+)\]", text["text"]):
    counts[token] = counts.get(token, 0) + 1
dupes = [t for t, n in counts.items() if n != 1]
ok = True
if dupes:
    print(f"FAIL: {len(dupes)} text edits appear more than once, e.g. {dupes[:3]}"); ok = False
total = 0
for c in clients:
    acked = [int(l.split()[0]) for l in open(f"{work}/{c}.acks")]
    total += len(acked)
    if len(set(acked)) != len(acked):
        print(f"FAIL: {c} logged an acknowledgement twice"); ok = False
    for k in acked:
        if c.startswith("t"):
            present = counts.get((c, str(k)), 0) == 1
        else:
            present = entries.get(f"{c}-{k}") == k
        if not present:
            print(f"FAIL: {c}'s acknowledged edit {k} is not in the root's state"); ok = False
            break
print(f"ok:   all {total} acknowledged edits are in the root's state, each once" if ok else
      "FAIL: acknowledged edits lost")
sys.exit(0 if ok else 1)
PY
}

case "$SCENARIO" in
  root-kill | root-kill-keys)
    if [ "$SCENARIO" = root-kill-keys ]; then
      make_keys root standby other
      # Nothing gets in without a key: a plain client's edit is never sequenced.
    fi
    start_node host root
    start_node relay standby --join "$ADDR_root" --priority 10
    start_node relay other --join "$ADDR_root" --priority 1
    wait_for stat_is "$ADDR_root" standby "$ID_standby" || die "no standby named"
    pass "the root names the relay of the highest priority its standby"
    start_writers 6 2500 500
    # A second into the 5 s of editing.
    wait_for acked_at_least t1 "$(scaled 500)" || die "t1 made no progress"
    kill -9 "$PID_root"
    wait "$PID_root" 2> /dev/null
    pass "root SIGKILLed with 12 clients editing"
    wait_clients
    wait_for stat_is "$ADDR_standby" role root && stat_is "$ADDR_standby" epoch 2 &&
      pass "the standby is the root at epoch 2" || fail "standby not root at epoch 2"
    stat_is "$ADDR_other" root "$ID_standby" && pass "the other relay follows the new root" ||
      fail "the other relay does not follow the new root"
    check_docs "$ADDR_standby" "$ADDR_other"
    if [ $KEYED = 1 ]; then
      echo '{"set":["plain",1]}' | "$ZINCCTL" client --join "$ADDR_standby" --doc m --type map \
        --timeout-ms 1000 > /dev/null 2>&1 && fail "a client without a key edited the new root" ||
        pass "a client without a key cannot join the new root"
      "$ZINCCTL" cat --join "$ADDR_standby" --doc m --timeout-ms 3000 $(keys_to "$ADDR_standby" ops) |
        grep -q '"plain"' && fail "the keyless edit is in the document" ||
        pass "the keyless edit is not in the document"
      grep -q "ZINC-KEY-REFUSED" "$WORK"/t*.err "$WORK"/m*.err &&
        fail "a client's key was refused during the failover" || pass "no client's key was refused"
    fi
    ;;
  relay-kill)
    start_node host root --max-children 1
    start_node relay r1 --join "$ADDR_root" --max-children 1
    start_node relay r2 --join "$ADDR_root"
    [ "$(field depth < "$WORK/r2.out")" = 2 ] || die "r2 not at depth 2"
    start_writers 3 2500 500
    deep() { [ "$("$ZINCCTL" stat --join "$ADDR_root" 2> /dev/null |
      python3 -c 'import json,sys; print(sum(m["depth"] == 3 for m in json.load(sys.stdin)["members"]))')" = 6 ]; }
    wait_for deep || die "the clients are not at depth 3"
    pass "6 clients at depth 3, below r1 and r2"
    wait_for acked_at_least t1 "$(scaled 500)" || die "t1 made no progress"
    kill -9 "$PID_r1"
    wait "$PID_r1" 2> /dev/null
    pass "relay r1 (depth 1) SIGKILLed"
    wait_clients
    stat_is "$ADDR_r2" depth 1 2> /dev/null
    check_docs "$ADDR_root" "$ADDR_r2"
    ;;
  root-pause)
    start_node host root
    start_node relay standby --join "$ADDR_root" --priority 10
    wait_for stat_is "$ADDR_root" standby "$ID_standby" || die "no standby named"
    start_writers 3 3000 500
    wait_for acked_at_least t1 "$(scaled 500)" || die "t1 made no progress"
    kill -STOP "$PID_root"
    sleep 2 # the fault itself: the root stands still for 2 s
    kill -CONT "$PID_root"
    pass "root SIGSTOPped for 2 s, then resumed"
    wait_for stat_is "$ADDR_root" epoch 2 || fail "the old root never learned of epoch 2"
    stat_is "$ADDR_root" root "$ID_standby" && ! stat_is "$ADDR_root" role root &&
      pass "the old root stepped down and follows the new one" || fail "the old root did not step down"
    stat_is "$ADDR_standby" role root && pass "exactly one root: the standby" || fail "standby not root"
    # A client given the old root's address is sent to the new one, and its edits land there.
    start_client t9 text "$ADDR_root" 50 500
    wait_clients
    grep -q '"stepped down"\|stepping down' "$WORK/root.err" && pass "the old root logged stepping down"
    check_docs "$ADDR_standby"
    ;;
  client-offline)
    start_node host root
    start_node relay standby --join "$ADDR_root" --priority 10
    start_writers 2 4000 500
    mkfifo "$WORK/x.in"
    "$ZINCCTL" client --join "$ADDR_root" --doc t --type text --acks "$WORK/tx.acks" --name tx \
      --timeout-ms 60000 $HB < "$WORK/x.in" > "$WORK/tx.out" 2> "$WORK/tx.err" &
    PID_tx=$!
    PIDS="$PIDS $PID_tx"
    CLIENTS="$CLIENTS tx"
    exec 3> "$WORK/x.in"
    for k in $(seq 1 100); do echo "{\"insert\":[0,\"[tx:$k]\"]}" >&3; done
    wait_for acked_at_least tx 100 || die "tx made no progress"
    kill -STOP "$PID_tx"
    # Edits typed while the process stands still wait in its stdin.
    for k in $(seq 101 150); do echo "{\"insert\":[0,\"[tx:$k]\"]}" >&3; done
    sleep 5 # the fault itself: the client is offline for 5 s while the others edit
    kill -CONT "$PID_tx"
    for k in $(seq 151 300); do echo "{\"insert\":[0,\"[tx:$k]\"]}" >&3; done
    exec 3>&-
    pass "client tx SIGSTOPped for 5 s, then resumed and edited"
    wait_clients
    check_docs "$ADDR_root" "$ADDR_standby"
    ;;
  offline-rebase | offline-fit)
    # A real network between the root and the offline client: a veth pair into a namespace of
    # its own, whose link goes down (packets vanish; no reset) and comes back.
    NS=zincoff$$
    VA=zoa$$
    VB=zob$$
    NET=10.$((($$ >> 8) % 200 + 20)).$(($$ % 250)).
    if ! ip netns add "$NS" 2> /dev/null; then echo "SKIP: cannot create a network namespace"; exit 0; fi
    trap 'ip link del "$VA" 2> /dev/null; ip netns del "$NS" 2> /dev/null; cleanup' EXIT
    ip link add "$VA" type veth peer name "$VB" && ip link set "$VB" netns "$NS" &&
      ip addr add "${NET}1/24" dev "$VA" && ip link set "$VA" up &&
      ip netns exec "$NS" ip addr add "${NET}2/24" dev "$VB" &&
      ip netns exec "$NS" ip link set "$VB" up && ip netns exec "$NS" ip link set lo up ||
      die "cannot set up the veth pair"
    # 1,000 fragments in memory, 200,000 in the log: the offline client's base is only on disk.
    # offline-fit: the log keeps 1,000 too, so its edits are replayed onto a snapshot (fitted)
    # and it is told so.
    retention=200000
    [ "$SCENARIO" = offline-fit ] && retention=1000
    LISTEN="tcp://${NET}1:0" start_node host root --insecure --data "$WORK/root" --history-fragments 1000 \
      --retention-fragments $retention --snapshot-fragments 1000
    mkfifo "$WORK/x.in"
    ip netns exec "$NS" "$ZINCCTL" client --join "$ADDR_root" --doc t --type text \
      --acks "$WORK/tx.acks" --name tx --log-level info --timeout-ms 120000 $HB \
      < "$WORK/x.in" > "$WORK/tx.out" 2> "$WORK/tx.err" &
    PID_tx=$!
    PIDS="$PIDS $PID_tx"
    exec 3> "$WORK/x.in"
    for k in $(seq 1 100); do echo "{\"insert\":[0,\"[tx:$k]\"]}" >&3; done
    wait_for acked_at_least tx 100 || die "tx made no progress"
    ip link set "$VA" down
    pass "tx's link is down (100 edits acknowledged)"
    offline=$(scaled 1000)
    for k in $(seq 101 $((100 + offline))); do echo "{\"insert\":[0,\"[tx:$k]\"]}" >&3; done
    # offline-fit: fewer and slower, since the writers' own bases must stay within the 1,000
    # fragments the root keeps (at 10,000 edits a second on two cores they fell behind it, were
    # fitted themselves and timed out now and then); 20,000 are far past tx's base already.
    per=25000
    rate=2500
    [ "$SCENARIO" = offline-fit ] && per=5000 && rate=1000
    others=$(scaled $per)
    for i in 1 2 3 4; do start_client "t$i" text "$ADDR_root" $per $rate; done
    wait_clients
    pass "4 clients made $((4 * others)) edits while tx was offline with $offline pending"
    ip link set "$VA" up
    exec 3>&-
    CLIENTS=tx
    wait_clients
    grep -h -o 'ZINC-[A-Z-]*' "$WORK/tx.err" "$WORK/root.err" | sort | uniq -c | sed 's/^/      /'
    if [ "$SCENARIO" = offline-fit ]; then
      grep -q "ZINC-REBASED" "$WORK/tx.err" &&
        pass "tx was told: $(grep -o 'ZINC-REBASED.*' "$WORK/tx.err" | head -1)" ||
        fail "tx's edits were replayed without a ZINC-REBASED notice"
    else
      grep -q "ZINC-REBASED" "$WORK/tx.err" && fail "tx's edits were fitted, not transformed"
      grep -q "ZINC-EDIT-REFUSED" "$WORK/tx.err" && fail "tx had edits refused"
    fi
    "$ZINCCTL" cat --join "$ADDR_root" --doc t --timeout-ms 10000 > "$WORK/cat.t" ||
      die "cannot read the text"
    python3 - "$WORK" "$((100 + offline))" "$((4 * others))" << 'PY' || failures=$((failures + 1))
import json, re, sys
work, mine, others = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tokens = re.findall(r"\[([^\]:]+):(\d+)\]", json.load(open(f"{work}/cat.t"))["text"])
tx = [int(k) for c, k in tokens if c == "tx"]
rest = len(tokens) - len(tx)
ok = True
if sorted(tx) != list(range(1, mine + 1)):
    missing = sorted(set(range(1, mine + 1)) - set(tx))
    print(f"FAIL: tx's {len(tx)} tokens are not 1..{mine} once each (missing {missing[:5]}, "
          f"{len(tx) - len(set(tx))} twice)"); ok = False
elif tx != sorted(tx, reverse=True):
    print("FAIL: tx's tokens are out of its order"); ok = False
else:
    print(f"ok:   every one of tx's {mine} edits is in the text once, in its order")
if rest != others or len(set(tokens)) != len(tokens):
    print(f"FAIL: {rest} other tokens, {others} expected, {len(tokens) - len(set(tokens))} twice"); ok = False
else:
    print(f"ok:   the others' {others} edits are there once each")
sys.exit(0 if ok else 1)
PY
    ;;
  ack-standby)
    start_node host root --data "$WORK/root" --ack-after standby
    start_node relay standby --join "$ADDR_root" --priority 10 --data "$WORK/standby" \
      --ack-after standby
    wait_for stat_is "$ADDR_root" standby "$ID_standby" || die "no standby named"
    start_writers 3 2500 500
    wait_for acked_at_least t1 "$(scaled 500)" || die "t1 made no progress"
    kill -9 "$PID_root"
    wait "$PID_root" 2> /dev/null
    rm -rf "$WORK/root"
    pass "root SIGKILLed and its data directory deleted, 6 clients editing"
    wait_clients
    wait_for stat_is "$ADDR_standby" role root || fail "the standby did not take over"
    check_docs "$ADDR_standby"
    ;;
  standby-behind)
    # The standby must stand still for less than the member timeout (heartbeat_misses + 1/2
    # reports), or the root rightly names no standby and none takes over. A sanitizer build
    # takes up to 11 s to sequence the ballast below (10.5 s is the timeout at 10 misses):
    # there, 30 misses (3 s to lose the root, 30.5 s of member timeout).
    [ "$SLOWDOWN" -gt 1 ] && HB="--heartbeat-misses 30"
    start_node host root
    # A small kernel buffer, so that what the root queues for the stopped standby soon waits
    # in the root's own memory.
    start_node relay standby --join "$ADDR_root" --priority 10 --subscribe-rcvbuf 65536
    wait_for stat_is "$ADDR_root" standby "$ID_standby" || die "no standby named"
    # (Counts not scaled: the clients must still be editing when the root dies, however long
    # the standby stands still below.)
    for i in 1 2 3; do
      start_client "t$i" text "$ADDR_root" $((2500 * SLOWDOWN)) 500
      start_client "m$i" map "$ADDR_root" $((2500 * SLOWDOWN)) 500
    done
    # Ballast: 10 MB/s of 32 KB values on ten keys of its own document (not checked), so that
    # what the root queues for the stopped standby outgrows the kernel's socket buffers and
    # waits in the root. Not scaled: it is what makes the scenario happen (and map edits cost
    # the root little). On a document of its own, so that its seq counts ballast alone.
    gen ballast ballast 1500 300 2> /dev/null | "$ZINCCTL" client --join "$ADDR_root" --doc b --type map \
      --timeout-ms 60000 $HB > /dev/null 2> "$WORK/ballast.err" &
    PIDS="$PIDS $!"
    wait_for acked_at_least t1 "$(scaled 400)" || die "t1 made no progress"
    b_seq() { "$ZINCCTL" cat --join "$ADDR_root" --doc b --timeout-ms 3000 2> /dev/null | field seq; }
    behind_by() { [ "$(b_seq)" -ge $(($1 + 256)) ] 2> /dev/null; }
    kill -STOP "$PID_standby"
    stopped_at=$(b_seq)
    stop_began=$SECONDS
    # The root keeps acknowledging while the standby stands still and falls behind: what the
    # root queued for it (beyond the kernel's buffers) dies with the root.
    # At least 256 ballast edits (8 MB) sequenced since it stopped, more than the kernel's
    # buffers hold (what they hold still reaches the standby after the root's death): a slow
    # build sequences them later. Few and large, so that a sanitizer build gets there well
    # within the member timeout (it follows --heartbeat-misses: 10.5 s here), after which the
    # root names no standby and none takes over.
    wait_for behind_by "$stopped_at" || fail "the root sequenced too little while the standby stood still"
    kill -9 "$PID_root"
    wait "$PID_root" 2> /dev/null
    kill -CONT "$PID_standby"
    pass "standby SIGSTOPped $((SECONDS - stop_began)) s, root SIGKILLed, standby resumed"
    wait_clients
    wait_for stat_is "$ADDR_standby" role root || fail "standby not root"
    # The tail comes back either way: the new root takes it from the members' offers (as far as
    # their bounded tails reach back), and what it still lacks the authors send again.
    taken=$(grep -c "ZINC-TAIL.*took" "$WORK/standby.err")
    recovered=$(cat "$WORK"/[tm][0-9].err | grep -c ZINC-RECOVERED)
    [ $((taken + recovered)) -gt 0 ] &&
      pass "the new root lacked a tail: it took $taken from the members' offers, $recovered replicas sent their own edits again" ||
      fail "the new root lacked no tail (the scenario did not happen)"
    check_docs "$ADDR_standby"
    ;;
  root-restart | both-restart | both-die)
    start_node host root --data "$WORK/root.data"
    if [ "$SCENARIO" != root-restart ]; then
      start_node relay standby --join "$ADDR_root" --priority 10 --data "$WORK/standby.data"
      wait_for stat_is "$ADDR_root" standby "$ID_standby" || die "no standby named"
    fi
    for i in 1 2; do
      start_client "t$i" text "$ADDR_root" 2500 500
      start_client "m$i" map "$ADDR_root" 2500 500
    done
    wait_for acked_at_least t1 "$(scaled 500)" || die "t1 made no progress"
    kill -9 "$PID_root"
    [ "$SCENARIO" != root-restart ] && kill -9 "$PID_standby"
    wait "$PID_root" 2> /dev/null
    if [ "$SCENARIO" = both-die ]; then
      # Restarted only once the writers have found the standby dead too: they must come back
      # to their join address by themselves.
      wait_for grep -q "does not answer either; asking $ADDR_root" "$WORK/t1.err" ||
        die "t1 never gave up on the dead standby"
      pass "the writers gave up on the dead standby and ask their join address"
    fi
    acked=$(cat "$WORK"/[tm][0-9].acks | wc -l)
    pass "root SIGKILLed with 4 writers editing ($acked edits acknowledged)"
    old_root=$ADDR_root
    LISTEN=$ADDR_root start_node host root --data "$WORK/root.data"
    [ "$ADDR_root" = "$old_root" ] || die "the root came back on $ADDR_root, not $old_root"
    grep -q "ZINC-STORE.*serving 2 documents" "$WORK/root.err" &&
      pass "restarted on its data directory: $(grep -o 'serving.*epoch [0-9]*' "$WORK/root.err")" ||
      fail "the restarted root did not serve its documents from its store"
    wait_clients
    check_docs "$ADDR_root"
    # Offline: the stopped root's store shows what the running root served.
    kill -TERM "$PID_root"
    wait "$PID_root" 2> /dev/null
    for doc in t m; do
      "$ZINCCTL" dump --data "$WORK/root.data" --doc $doc > "$WORK/dump.$doc" 2> "$WORK/dump.err" &&
        cmp -s "$WORK/cat.$doc" "$WORK/dump.$doc" &&
        pass "zincctl dump of the stopped root's store equals what cat served ($doc)" ||
        fail "zincctl dump of $doc differs from cat: $(cat "$WORK/dump.err")"
    done
    # A store cut short (a lost tail of the file) is refused with a clear error, never served.
    cp -r "$WORK/root.data" "$WORK/cut.data"
    truncate -s -4096 "$WORK/cut.data/data.mdb"
    "$ZINCCTL" dump --data "$WORK/cut.data" > /dev/null 2> "$WORK/cut.err"
    rc=$?
    [ $rc = 1 ] && grep -q "data.mdb" "$WORK/cut.err" &&
      pass "a truncated store is refused: $(head -c 160 "$WORK/cut.err")" ||
      fail "a truncated store: exit $rc, $(cat "$WORK/cut.err")"
    ;;
  replaced-restart)
    # The root dies, its standby takes over, and the old root is restarted on its data
    # directory and address: it must not come back as a second root, but join as a member.
    start_node host root --data "$WORK/root.data"
    start_node relay standby --join "$ADDR_root" --priority 10 --data "$WORK/standby.data"
    wait_for stat_is "$ADDR_root" standby "$ID_standby" || die "no standby named"
    for i in 1 2; do
      start_client "t$i" text "$ADDR_root" 2500 500
      start_client "m$i" map "$ADDR_root" 2500 500
    done
    wait_for acked_at_least t1 "$(scaled 500)" || die "t1 made no progress"
    kill -9 "$PID_root"
    wait "$PID_root" 2> /dev/null
    wait_for stat_is "$ADDR_standby" role root || die "the standby did not take over"
    pass "root SIGKILLed; the standby took over at epoch $(stat_field "$ADDR_standby" epoch)"
    old_root=$ADDR_root
    LISTEN=$ADDR_root start_node host root --data "$WORK/root.data"
    [ "$ADDR_root" = "$old_root" ] || die "the root came back on $ADDR_root, not $old_root"
    wait_for grep -q "ZINC-RESTART.*holding" "$WORK/root.err" &&
      pass "the restarted root holds for a newer root's notice" || fail "no restart hold"
    wait_for stat_is "$ADDR_root" root "$ID_standby" &&
      pass "the restarted root joined the new root as a member ($(stat_field "$ADDR_root" role))" ||
      fail "the restarted root did not join the new root: $(stat_field "$ADDR_root" role)"
    grep -q "no newer root spoke up" "$WORK/root.err" &&
      fail "the restarted root sequenced as a second root" ||
      pass "it never sequenced as a second root"
    stat_is "$ADDR_standby" role root && pass "the new root is still the root" ||
      fail "the new root was deposed"
    wait_clients
    check_docs "$ADDR_standby" "$ADDR_root"
    ;;
  disk-full)
    mkdir "$WORK/small"
    mount -t tmpfs -o size=4m tmpfs "$WORK/small" 2> /dev/null || { echo "SKIP: cannot mount a tmpfs"; exit 0; }
    trap 'umount -l "$WORK/small" 2> /dev/null; cleanup' EXIT
    start_node host root --data "$WORK/small/data"
    # Fill the disk but for about 1 MB.
    avail=$(df -k --output=avail "$WORK/small" | tail -1)
    dd if=/dev/zero of="$WORK/small/filler" bs=1k count=$((avail - 1024)) 2> /dev/null
    # 400 map edits of 8 KB: 3.2 MB, more than the disk has left.
    PAD=0 python3 -c '
for k in range(1, 401):
    print("{\"set\":[\"m1-%d\",%d]}" % (k, k))
    print("{\"set\":[\"pad\",\"%s\"]}" % ("~" * 8000))' |
      "$ZINCCTL" client --join "$ADDR_root" --doc m --type map --acks "$WORK/m1.acks" --name m1 \
        --log-level info --timeout-ms 60000 $HB > "$WORK/m1.out" 2> "$WORK/m1.err" &
    PID_m1=$!
    PIDS="$PIDS $PID_m1"
    CLIENTS="m1"
    refused() { grep -q "ZINC-STORE.*the disk is full" "$WORK/root.err" 2> /dev/null; }
    wait_for refused && pass "the full disk refused edits: $(grep -o 'ZINC-STORE.*disk is full' "$WORK/root.err" | head -1 | cut -c1-160)" ||
      fail "no edit was refused for a full disk"
    "$ZINCCTL" cat --join "$ADDR_root" --doc m --timeout-ms 5000 > "$WORK/cat.m" 2> "$WORK/cat.err" &&
      pass "reads still served while the disk is full (seq $(field seq < "$WORK/cat.m"))" ||
      fail "no read while the disk is full"
    kill -0 "$PID_root" 2> /dev/null && pass "the root is still running" || fail "the root died"
    rm -f "$WORK/small/filler"
    pass "space freed"
    wait_clients
    "$ZINCCTL" cat --join "$ADDR_root" --doc m --timeout-ms 3000 > "$WORK/cat.m" 2> /dev/null
    python3 - "$WORK" << 'PY' || failures=$((failures + 1))
import json, sys
work = sys.argv[1]
entries = json.load(open(f"{work}/cat.m"))["entries"]
acked = [int(l.split()[0]) for l in open(f"{work}/m1.acks")]
ok = len(acked) == 800 and len(set(acked)) == 800
ok = ok and all(entries.get(f"m1-{k}") == k for k in range(1, 401))
print("ok:   all 800 edits acknowledged once and in the document" if ok else
      f"FAIL: {len(acked)} acknowledgements, {sum(entries.get(f'm1-{k}') == k for k in range(1, 401))} of 400 keys")
sys.exit(0 if ok else 1)
PY
    ;;
  *)
    die "unknown scenario $SCENARIO"
    ;;
esac

[ $failures -eq 0 ] && echo "PASS: $SCENARIO" || echo "FAILED: $SCENARIO ($failures)"
[ $failures -eq 0 ]
