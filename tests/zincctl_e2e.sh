#!/usr/bin/env bash
# End-to-end test of zincctl's contract (docs/zincctl.md): a host process and three client
# processes over tcp loopback, then cat, bad input, and the error exits.
# usage: zincctl_e2e.sh PATH/TO/zincctl
set -u
ZINCCTL=${1:?usage: zincctl_e2e.sh PATH/TO/zincctl}
WORK=$(mktemp -d)
HOST_PID=
TREE_PIDS=
cleanup() {
  [ -n "$HOST_PID" ] && kill -9 "$HOST_PID" 2>/dev/null
  for p in $TREE_PIDS; do kill -9 "$p" 2>/dev/null; done
  [ "${KEEP:-}" = 1 ] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
# A client that exits early (a failure) must not kill this script with SIGPIPE through the fifo
# it reads: its exit code and stderr are reported below instead.
trap '' PIPE
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok:   $*"; }

# Waits (up to 20 s) for a file to have a first line.
wait_line() {
  for _ in $(seq 1 2000); do
    [ -s "$1" ] && head -1 "$1" | grep -q . && return 0
    sleep 0.01
  done
  return 1
}

# --- host on free ports; it prints {"listen":ADDR,...} first
"$ZINCCTL" host --listen tcp://127.0.0.1:0 > "$WORK/host.out" 2> "$WORK/host.err" &
HOST_PID=$!
wait_line "$WORK/host.out" || { echo "host did not start"; cat "$WORK/host.err"; exit 1; }
ADDR=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["listen"])' < "$WORK/host.out")
pass "host listening on $ADDR"

# --- three clients edit one map at the same time
for c in 1 2 3; do
  {
    for i in $(seq 1 200); do
      echo "{\"set\":[\"c$c-$i\",$i]}"
      echo "{\"set\":[\"shared\",\"c$c-$i\"]}"
    done
    echo "{\"del\":\"c$c-1\"}"
  } > "$WORK/in$c"
done
for c in 1 2 3; do
  "$ZINCCTL" client --join "$ADDR" --doc board --type map < "$WORK/in$c" \
    > "$WORK/out$c" 2> "$WORK/err$c" &
  eval "PID$c=$!"
done
for c in 1 2 3; do
  eval "wait \$PID$c"; rc=$?
  [ $rc -eq 0 ] && pass "client $c exit 0" || { fail "client $c exit $rc"; cat "$WORK/err$c"; }
done

python3 - "$WORK" <<'PY' || failures=$((failures + 1))
import json, sys
work = sys.argv[1]
ok = True
for c in (1, 2, 3):
    lines = [json.loads(l) for l in open(f"{work}/out{c}")]
    final = lines[-1]
    assert "final" in final, f"client {c}: last line is not final: {final}"
    doc = final["final"]
    assert doc["type"] == "map" and isinstance(doc["seq"], int), doc
    local = [l for l in lines[:-1] if l.get("local") is True]
    if len(local) != 401:
        print(f"FAIL: client {c} printed {len(local)} local changes, expected 401"); ok = False
    for l in lines[:-1]:
        if not l.get("reset") and not {"seq", "origin", "local", "op"} <= set(l):
            print(f"FAIL: client {c}: bad change line {l}"); ok = False
    # Everything the client wrote itself is in its final state.
    entries = doc["entries"]
    for i in range(2, 201):
        if entries.get(f"c{c}-{i}") != i:
            print(f"FAIL: client {c} final lacks its own c{c}-{i}"); ok = False; break
    if f"c{c}-1" in entries:
        print(f"FAIL: client {c}: deleted key still there"); ok = False
print("ok:   client outputs follow the contract" if ok else "FAIL: client outputs")
sys.exit(0 if ok else 1)
PY

# --- cat sees every client's edits
"$ZINCCTL" cat --join "$ADDR" --doc board > "$WORK/cat" 2> "$WORK/cat.err"
rc=$?
[ $rc -eq 0 ] && pass "cat exit 0" || fail "cat exit $rc: $(cat "$WORK/cat.err")"
python3 - "$WORK/cat" <<'PY' || failures=$((failures + 1))
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["type"] == "map", doc
assert doc["seq"] == 3 * 401, f"seq {doc['seq']}"
e = doc["entries"]
for c in (1, 2, 3):
    for i in range(2, 201):
        assert e[f"c{c}-{i}"] == i
    assert f"c{c}-1" not in e
assert e["shared"] in {f"c{c}-200" for c in (1, 2, 3)}
print("ok:   cat shows all 1203 edits")
PY

# --- a bad JSON line is reported with its number and skipped; the good ones go through; exit 2
printf '{"set":["good1",1]}\n{"set":["oops"\n{"set":["good2",2]}\n' |
  "$ZINCCTL" client --join "$ADDR" --doc other --type map > "$WORK/bad.out" 2> "$WORK/bad.err"
rc=$?
[ $rc -eq 2 ] && pass "bad line: exit 2" || fail "bad line: exit $rc"
grep -q "line 2" "$WORK/bad.err" && pass "bad line: reported as line 2" ||
  fail "bad line: stderr was: $(cat "$WORK/bad.err")"
"$ZINCCTL" cat --join "$ADDR" --doc other > "$WORK/cat2" 2>&1
grep -q '"entries":{"good1":1,"good2":2}' "$WORK/cat2" && pass "bad line: good lines applied" ||
  fail "bad line: cat gave $(cat "$WORK/cat2")"

# --- text: JSON edits, cat, and replay of a real trace
printf '{"insert":[0,"h\xc3\xa9llo \xf0\x9f\x98\x80!"]}\n{"delete":[0,1]}\n{"insert":[0,"H"]}\n' |
  "$ZINCCTL" client --join "$ADDR" --doc notes --type text > "$WORK/text.out" 2> "$WORK/text.err"
rc=$?
[ $rc -eq 0 ] && pass "text client: exit 0" || fail "text client: exit $rc $(cat "$WORK/text.err")"
"$ZINCCTL" cat --join "$ADDR" --doc notes > "$WORK/text.cat" 2>&1
python3 - "$WORK/text.cat" <<'PY' || failures=$((failures + 1))
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc == {"type": "text", "seq": 3, "text": "H\u00e9llo \U0001F600!"}, doc
print("ok:   cat text prints", json.dumps(doc))
PY
echo '{"insert":[99,"x"]}' | "$ZINCCTL" client --join "$ADDR" --doc notes --type text \
  > /dev/null 2> "$WORK/range.err"
rc=$?
[ $rc -eq 2 ] && grep -q "line 1" "$WORK/range.err" && pass "text out of range: refused, exit 2" ||
  fail "text out of range: exit $rc $(cat "$WORK/range.err")"
TRACE=${ZINC_TRACES_DIR:-$(dirname "$0")/../../shared/traces/sequential}/sveltecomponent.json.gz
if [ -f "$TRACE" ]; then
  "$ZINCCTL" replay --join "$ADDR" --doc svelte "$TRACE" > "$WORK/replay.out" 2> "$WORK/replay.err"
  rc=$?
  [ $rc -eq 0 ] && pass "replay: exit 0" || fail "replay: exit $rc $(cat "$WORK/replay.err")"
  python3 - "$WORK/replay.out" "$TRACE" <<'PY' || failures=$((failures + 1))
import gzip, hashlib, json, sys
line = open(sys.argv[1]).read().strip()
out = json.loads(line)
assert list(out) == ["patches", "seconds", "length", "sha256"], line
trace = json.load(gzip.open(sys.argv[2]))
want = trace["endContent"]
n = sum(len(t["patches"]) for t in trace["txns"])
assert out["patches"] == n, (out, n)
assert out["length"] == len(want), (out, len(want))
assert out["sha256"] == hashlib.sha256(want.encode()).hexdigest(), out
print("ok:   replay prints", line)
PY
  "$ZINCCTL" cat --join "$ADDR" --doc svelte > "$WORK/svelte.cat" 2>&1
  python3 - "$WORK/svelte.cat" "$TRACE" <<'PY' || failures=$((failures + 1))
import gzip, json, sys
doc = json.load(open(sys.argv[1]))
assert doc["text"] == json.load(gzip.open(sys.argv[2]))["endContent"]
print("ok:   cat after replay equals the trace's endContent")
PY
else
  echo "skip: no trace at $TRACE"
fi

# --- unknown document: exit 1 with a clear message
"$ZINCCTL" cat --join "$ADDR" --doc nosuchdoc > /dev/null 2> "$WORK/unknown.err"
rc=$?
[ $rc -eq 1 ] && grep -q "does not exist" "$WORK/unknown.err" && pass "cat unknown document: exit 1" ||
  fail "cat unknown document: exit $rc, stderr $(cat "$WORK/unknown.err")"

# --- unreachable host, bad address, bad flags: non-zero with a message
echo '{"set":["a",1]}' | "$ZINCCTL" client --join tcp://127.0.0.1:1 --doc d --type map \
  --timeout-ms 500 > /dev/null 2> "$WORK/unreach.err"
rc=$?
[ $rc -eq 1 ] && grep -q "unreachable" "$WORK/unreach.err" && pass "unreachable host: exit 1" ||
  fail "unreachable host: exit $rc, stderr $(cat "$WORK/unreach.err")"
"$ZINCCTL" cat --join "nonsense" --doc d > /dev/null 2> "$WORK/addr.err"
rc=$?
[ $rc -eq 1 ] && grep -q "bad address" "$WORK/addr.err" && pass "bad address: exit 1" ||
  fail "bad address: exit $rc, stderr $(cat "$WORK/addr.err")"
"$ZINCCTL" client --join "$ADDR" --doc d > /dev/null 2> "$WORK/flags.err" < /dev/null
rc=$?
[ $rc -eq 1 ] && pass "missing --type: exit 1" || fail "missing --type: exit $rc"
"$ZINCCTL" host --listen tcp://127.0.0.1:0 --bogus 1 > /dev/null 2>&1
rc=$?
[ $rc -eq 1 ] && pass "unknown flag: exit 1" || fail "unknown flag: exit $rc"

# Tree members take a peer for dead after 1 s of silence, not 300 ms: CI runs tests side by side
# on two cores, and a starved process must not reshape the tree the checks look at.
SLOW="--heartbeat-misses 10"

# --- a tree: a root that takes one child, two relays (the second is redirected below the first),
# a client that asks the root and lands below the relays, stat from any member
"$ZINCCTL" host --listen tcp://127.0.0.1:0 --max-children 1 --name root $SLOW > "$WORK/root.out" \
  2> "$WORK/root.err" &
TREE_PIDS="$!"
wait_line "$WORK/root.out" || fail "tree root did not start"
ROOT=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["listen"])' < "$WORK/root.out")
"$ZINCCTL" relay --listen tcp://127.0.0.1:0 --join "$ROOT" --max-children 1 --name r1 $SLOW \
  > "$WORK/r1.out" 2> "$WORK/r1.err" &
TREE_PIDS="$TREE_PIDS $!"
wait_line "$WORK/r1.out" || fail "relay r1 did not join: $(cat "$WORK/r1.err")"
"$ZINCCTL" relay --listen tcp://127.0.0.1:0 --join "$ROOT" --name r2 $SLOW \
  > "$WORK/r2.out" 2> "$WORK/r2.err" &
R2_PID=$!
TREE_PIDS="$TREE_PIDS $R2_PID"
wait_line "$WORK/r2.out" || fail "relay r2 did not join: $(cat "$WORK/r2.err")"
R2=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["listen"])' < "$WORK/r2.out")
python3 - "$WORK" <<'PY' && pass "relay r2 redirected to depth 2" || fail "relay line: $(cat "$WORK/r2.out")"
import json, sys
r1 = json.loads(open(f"{sys.argv[1]}/r1.out").readline())
r2 = json.loads(open(f"{sys.argv[1]}/r2.out").readline())
assert r1["depth"] == 1 and r2["depth"] == 2 and r2["parent"] == r1["listen"], (r1, r2)
PY
echo '{"set":["deep",1]}' | "$ZINCCTL" client --join "$ROOT" --doc tree --type map --name leaf $SLOW \
  > "$WORK/leaf.out" 2> "$WORK/leaf.err"
rc=$?
[ $rc -eq 0 ] && pass "client through two relays: exit 0" || fail "client through relays: exit $rc $(cat "$WORK/leaf.err")"
"$ZINCCTL" cat --join "$R2" --doc tree > "$WORK/tree.cat" 2>&1
grep -q '"deep":1' "$WORK/tree.cat" && pass "cat at a relay" || fail "cat at a relay: $(cat "$WORK/tree.cat")"
# The roster reaches a relay within a heartbeat or so of a change: ask until it has all three.
cat > "$WORK/check_roster.py" <<'PY'
import json, sys
roster = json.loads(open(sys.argv[1]).read())
names = {m["name"]: m for m in roster["members"]}
assert {"root", "r1", "r2"} <= set(names), roster
assert names["root"]["parent"] is None and names["root"]["depth"] == 0
assert names["r1"]["parent"] == names["root"]["id"] and names["r2"]["parent"] == names["r1"]["id"]
assert names["root"]["max_children"] == 1 and names["r1"]["children"] == 1
assert roster["root"] == names["root"]["id"] and roster["count"] == len(roster["members"])
PY
stat_ok=1
for _ in $(seq 1 100); do
  "$ZINCCTL" stat --join "$R2" > "$WORK/stat.out" 2> "$WORK/stat.err" &&
    python3 "$WORK/check_roster.py" "$WORK/stat.out" 2> "$WORK/stat.check" && { stat_ok=0; break; }
  sleep 0.05
done
[ $stat_ok -eq 0 ] && pass "stat at a relay prints the roster" ||
  fail "stat: $(cat "$WORK/stat.out" "$WORK/stat.err" "$WORK/stat.check")"
"$ZINCCTL" stat --join tcp://127.0.0.1:1 --timeout-ms 300 > /dev/null 2> "$WORK/stat.err"
rc=$?
[ $rc -eq 1 ] && grep -q "unreachable" "$WORK/stat.err" && pass "stat of an unreachable member: exit 1" ||
  fail "stat unreachable: exit $rc $(cat "$WORK/stat.err")"
kill -TERM "$R2_PID"
wait "$R2_PID"; rc=$?
[ $rc -eq 0 ] && pass "relay exits 0 on SIGTERM" || fail "relay exit $rc on SIGTERM"
for p in $TREE_PIDS; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
TREE_PIDS=

# --- a relay killed with SIGKILL under a client that keeps editing: the client joins the
# relay's parent (the root), its edits all get acknowledged, exit 0, and the root has them all
"$ZINCCTL" host --listen tcp://127.0.0.1:0 --max-children 1 --name root2 $SLOW > "$WORK/root2.out" \
  2> "$WORK/root2.err" &
TREE_PIDS="$!"
wait_line "$WORK/root2.out" || fail "root2 did not start"
ROOT2=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["listen"])' < "$WORK/root2.out")
# (Priority 0: not the standby; tests/failover_e2e.sh covers a dying standby.)
"$ZINCCTL" relay --listen tcp://127.0.0.1:0 --join "$ROOT2" --name doomed --priority 0 $SLOW > "$WORK/doomed.out" \
  2> "$WORK/doomed.err" &
DOOMED=$!
TREE_PIDS="$TREE_PIDS $DOOMED"
wait_line "$WORK/doomed.out" || fail "relay doomed did not join"
mkfifo "$WORK/edits"
"$ZINCCTL" client --join "$ROOT2" --doc survive --type map --timeout-ms 20000 $SLOW \
  < "$WORK/edits" > "$WORK/survivor.out" 2> "$WORK/survivor.err" &
SURVIVOR=$!
exec 7> "$WORK/edits"
for i in $(seq 1 100); do echo "{\"set\":[\"before$i\",$i]}" >&7; done
# Wait until the client's first edits are in (through the relay: the root takes one child).
for _ in $(seq 1 200); do
  "$ZINCCTL" cat --join "$ROOT2" --doc survive 2> /dev/null | grep -q '"seq":100,' && break
  sleep 0.02
done
kill -9 "$DOOMED"
{ wait "$DOOMED"; } 2> /dev/null
for i in $(seq 1 100); do echo "{\"set\":[\"after$i\",$i]}" >&7; sleep 0.002; done
exec 7>&-
wait "$SURVIVOR"; rc=$?
[ $rc -eq 0 ] && pass "client below a SIGKILLed relay: exit 0" ||
  fail "client below a killed relay: exit $rc $(tail -3 "$WORK/survivor.err")"
"$ZINCCTL" cat --join "$ROOT2" --doc survive > "$WORK/survive.cat" 2>&1
python3 - "$WORK" <<'PY' && pass "every edit of the client survived the relay" || fail "survive: $(cat "$WORK/survive.cat")"
import json, sys
doc = json.loads(open(f"{sys.argv[1]}/survive.cat").read())
keys = set(doc["entries"])
want = {f"before{i}" for i in range(1, 101)} | {f"after{i}" for i in range(1, 101)}
assert keys == want, sorted(want - keys)[:5]
assert doc["seq"] == 200, doc["seq"]
PY
grep -q '"depth":1' "$WORK/doomed.out" && pass "the client was below the relay" || fail "relay line: $(cat "$WORK/doomed.out")"
for p in $TREE_PIDS; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
TREE_PIDS=

# --- ls and rm on a host with a store: idle documents leave memory (ls says so) and come back
# when read; rm deletes one from the store (dump no longer has it) and every replica
"$ZINCCTL" host --listen tcp://127.0.0.1:0 --data "$WORK/lsdata" --unload-after-ms 200 \
  > "$WORK/lshost.out" 2> "$WORK/lshost.err" &
LS_PID=$!
TREE_PIDS="$LS_PID"
wait_line "$WORK/lshost.out" || fail "ls host did not start"
LSADDR=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["listen"])' < "$WORK/lshost.out")
for d in alpha beta gamma; do
  echo "{\"set\":[\"k\",\"$d\"]}" | "$ZINCCTL" client --join "$LSADDR" --doc "$d" --type map \
    > /dev/null 2> "$WORK/ls-client.err" || fail "client $d: $(cat "$WORK/ls-client.err")"
done
for _ in $(seq 1 500); do
  "$ZINCCTL" ls --join "$LSADDR" > "$WORK/ls.out" 2> "$WORK/ls.err"
  [ "$(grep -c '"in_memory":false' "$WORK/ls.out")" = 3 ] && break
  sleep 0.02
done
python3 - "$WORK/ls.out" <<'PY' && pass "ls lists the three documents, unloaded once idle" || fail "ls: $(cat "$WORK/ls.out" "$WORK/ls.err")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert [l["name"] for l in lines] == ["alpha", "beta", "gamma"], lines
for l in lines:
    assert list(l) == ["name", "type", "seq", "bytes", "open", "in_memory"], l
    assert l["type"] == "map" and l["seq"] == 1 and l["bytes"] > 0 and not l["in_memory"], l
PY
"$ZINCCTL" cat --join "$LSADDR" --doc beta | grep -q '"k":"beta"' && pass "cat loads an unloaded document" ||
  fail "cat beta after unload"
"$ZINCCTL" ls --join "$LSADDR" | grep '"name":"beta"' | grep -q '"in_memory":true' &&
  pass "ls shows it in memory again" || fail "beta not in memory after cat"
"$ZINCCTL" rm --join "$LSADDR" --doc beta > "$WORK/rm.out" 2> "$WORK/rm.err"; rc=$?
[ $rc -eq 0 ] && grep -qx '{"name":"beta","deleted":true,"seq":1}' "$WORK/rm.out" &&
  pass "rm deletes: $(cat "$WORK/rm.out")" || fail "rm exit $rc: $(cat "$WORK/rm.out" "$WORK/rm.err")"
"$ZINCCTL" rm --join "$LSADDR" --doc beta > /dev/null 2> "$WORK/rm2.err"; rc=$?
[ $rc -eq 1 ] && grep -q "does not exist" "$WORK/rm2.err" && pass "rm of a missing document: exit 1" ||
  fail "rm again: exit $rc $(cat "$WORK/rm2.err")"
"$ZINCCTL" cat --join "$LSADDR" --doc beta --timeout-ms 2000 > /dev/null 2> "$WORK/cat-beta.err"; rc=$?
[ $rc -eq 1 ] && pass "cat of a deleted document: exit 1" || fail "cat deleted: exit $rc"
kill -TERM "$LS_PID"; wait "$LS_PID"
TREE_PIDS=
"$ZINCCTL" dump --data "$WORK/lsdata" > "$WORK/dump.out" 2>&1
[ "$(python3 -c 'import json,sys; print(",".join(json.loads(l)["name"] for l in sys.stdin))' < "$WORK/dump.out")" = "alpha,gamma" ] &&
  pass "the store no longer has the deleted document" || fail "dump after rm: $(cat "$WORK/dump.out")"

# --- protected mode: no keys, no listening beyond loopback unless --insecure
"$ZINCCTL" host --listen tcp://0.0.0.0:0 > /dev/null 2> "$WORK/protected.err"; rc=$?
[ $rc -eq 1 ] && grep -q "refusing to listen on tcp://0.0.0.0:0 without keys" "$WORK/protected.err" &&
  pass "a host without keys refuses tcp://0.0.0.0: exit 1, says why" ||
  fail "protected mode: rc $rc, $(cat "$WORK/protected.err")"
"$ZINCCTL" host --listen tcp://0.0.0.0:0 --insecure > "$WORK/insecure.out" 2>&1 &
INSECURE_PID=$!
for _ in $(seq 1 500); do [ -s "$WORK/insecure.out" ] && break; sleep 0.01; done
grep -q '"listen"' "$WORK/insecure.out" && pass "--insecure listens on tcp://0.0.0.0" ||
  fail "--insecure: $(cat "$WORK/insecure.out")"
kill -TERM "$INSECURE_PID"; wait "$INSECURE_PID"

# --- bounds (docs/security.md): a root that hosts at most 2 documents, and stat's refusals
"$ZINCCTL" host --listen tcp://127.0.0.1:0 --max-documents 2 > "$WORK/bounded.out" 2> /dev/null &
BOUNDED_PID=$!
for _ in $(seq 1 500); do [ -s "$WORK/bounded.out" ] && break; sleep 0.01; done
BADDR=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["listen"])' < "$WORK/bounded.out")
for d in one two; do
  echo '{"set":["a",1]}' | "$ZINCCTL" client --join "$BADDR" --doc $d --type map --timeout-ms 5000 > /dev/null 2>&1 ||
    fail "bounded host: document $d not created"
done
echo '{"set":["a",1]}' | "$ZINCCTL" client --join "$BADDR" --doc three --type map --timeout-ms 5000 \
  > /dev/null 2> "$WORK/bounded.err"; rc=$?
[ $rc -ne 0 ] && grep -q "max_documents" "$WORK/bounded.err" &&
  pass "a root over --max-documents refuses a new document, naming the bound (exit $rc)" ||
  fail "--max-documents: rc $rc, $(cat "$WORK/bounded.err")"
"$ZINCCTL" stat --join "$BADDR" > "$WORK/bounded.stat" 2>&1
python3 -c 'import json,sys; r=json.load(sys.stdin)["refused"]; sys.exit(0 if r.get("documents",0)>=1 else 1)' \
  < "$WORK/bounded.stat" && pass "zincctl stat shows the refusals by reason" ||
  fail "stat refused: $(cat "$WORK/bounded.stat")"
kill -TERM "$BOUNDED_PID"; wait "$BOUNDED_PID"

# --- keygen: NAME.pub and NAME.secret (0600), never replaced
"$ZINCCTL" keygen "$WORK/alice" > "$WORK/keygen.out" 2>&1; rc=$?
pub=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["public"])' < "$WORK/keygen.out" 2> /dev/null)
[ $rc -eq 0 ] && [ "$(cat "$WORK/alice.pub")" = "$pub" ] && [ ${#pub} -eq 40 ] &&
  [ "$(stat -c %a "$WORK/alice.secret")" = 600 ] && [ "$(wc -c < "$WORK/alice.secret")" = 41 ] &&
  pass "keygen writes alice.pub (40 Z85 characters) and alice.secret (mode 600)" ||
  fail "keygen: rc $rc, $(cat "$WORK/keygen.out")"
"$ZINCCTL" keygen "$WORK/alice" > /dev/null 2> "$WORK/keygen.err"; rc=$?
[ $rc -eq 1 ] && [ "$(cat "$WORK/alice.pub")" = "$pub" ] && grep -q "exists" "$WORK/keygen.err" &&
  pass "keygen refuses to replace a key: exit 1" || fail "keygen again: rc $rc"

# --- keys (docs/security.md): a host with keys, a writer, a read-only key, an outsider
for k in root writer reader outsider; do "$ZINCCTL" keygen "$WORK/$k" > /dev/null || fail "keygen $k"; done
{
  echo "# zinc_e2e"
  echo "$(cat "$WORK/root.pub") root member"
  echo "$(cat "$WORK/writer.pub") writer read:* write:*"
  echo "$(cat "$WORK/reader.pub") reader read:*"
} > "$WORK/authorized_keys"
echo "$(cat "$WORK/writer.pub") writer read:* bogus:*" > "$WORK/bad_keys"
"$ZINCCTL" host --listen tcp://127.0.0.1:0 --key "$WORK/root.secret" \
  --authorized-keys "$WORK/bad_keys" > /dev/null 2> "$WORK/badkeys.err"; rc=$?
[ $rc -eq 1 ] && grep -q "bad_keys:1:" "$WORK/badkeys.err" &&
  pass "a bad authorized-keys line is refused at start with its line number" ||
  fail "bad authorized-keys: rc $rc, $(cat "$WORK/badkeys.err")"
"$ZINCCTL" host --listen tcp://0.0.0.0:0 > /dev/null 2> "$WORK/protected.err"; rc=$?
[ $rc -eq 1 ] && grep -q -- "--insecure" "$WORK/protected.err" &&
  pass "protected mode: no keys, no address beyond loopback without --insecure" ||
  fail "protected mode: rc $rc, $(cat "$WORK/protected.err")"
"$ZINCCTL" host --listen tcp://127.0.0.1:0 --key "$WORK/root.secret" \
  --authorized-keys "$WORK/authorized_keys" --log-level info > "$WORK/khost.out" 2> "$WORK/khost.err" &
KHOST_PID=$!
TREE_PIDS="$TREE_PIDS $KHOST_PID"
if wait_line "$WORK/khost.out"; then
  KADDR=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["listen"])' < "$WORK/khost.out")
  K="--join $KADDR --server-key $WORK/root.pub --timeout-ms 5000"
  echo '{"set":["secret",42]}' | "$ZINCCTL" client $K --key "$WORK/writer.secret" --doc vault \
    --type map > "$WORK/kw.out" 2> "$WORK/kw.err"; rc=$?
  [ $rc -eq 0 ] && pass "a writer's key writes" || fail "keyed writer: rc $rc, $(cat "$WORK/kw.err")"
  echo '{"set":["reader",1]}' | "$ZINCCTL" client $K --key "$WORK/reader.secret" --doc vault \
    --type map > "$WORK/kr.out" 2> "$WORK/kr.err"; rc=$?
  [ $rc -eq 3 ] && grep -q "may not write document 'vault'" "$WORK/kr.err" &&
    pass "a read-only key's edit is refused: exit 3, naming the document and the key" ||
    fail "read-only client: rc $rc, $(cat "$WORK/kr.err")"
  "$ZINCCTL" cat $K --key "$WORK/reader.secret" --doc vault > "$WORK/kcat.out" 2> "$WORK/kcat.err"; rc=$?
  [ $rc -eq 0 ] && grep -q '"secret":42' "$WORK/kcat.out" && ! grep -q '"reader"' "$WORK/kcat.out" &&
    pass "the read-only key cats the document, without its refused edit" ||
    fail "keyed cat: rc $rc, $(cat "$WORK/kcat.out" "$WORK/kcat.err")"
  "$ZINCCTL" cat $K --key "$WORK/outsider.secret" --doc vault --timeout-ms 1000 \
    > "$WORK/kout.out" 2> "$WORK/kout.err"; rc=$?
  [ $rc -eq 1 ] && ! grep -q secret "$WORK/kout.out" &&
    grep -q "refused this endpoint's key $(cut -c1-10 "$WORK/outsider.pub" | sed 's/[]\/$*.^[]/\\&/g')" "$WORK/kout.err" &&
    pass "an unknown key reads nothing and is told its key was refused (exit 1)" ||
    fail "outsider cat: rc $rc, $(cat "$WORK/kout.err")"
  "$ZINCCTL" cat --join "$KADDR" --doc vault --timeout-ms 1000 > "$WORK/kplain.out" 2>&1; rc=$?
  [ $rc -ne 0 ] && ! grep -q secret "$WORK/kplain.out" &&
    pass "no key reads nothing (exit $rc)" || fail "plain cat of a keyed host: rc $rc"
  "$ZINCCTL" stat $K --key "$WORK/reader.secret" > "$WORK/kstat.out" 2> "$WORK/kstat.err"; rc=$?
  [ $rc -eq 0 ] && grep -q "\"public_key\":\"$(cat "$WORK/root.pub" | sed 's/[]\/$*.^[]/\\&/g')\"" "$WORK/kstat.out" &&
    pass "stat over CURVE; the roster carries the members' public keys" ||
    fail "keyed stat: rc $rc, $(cat "$WORK/kstat.out" "$WORK/kstat.err")"
  # SIGHUP with the writer removed: its next edit is refused.
  grep -v " writer " "$WORK/authorized_keys" > "$WORK/ak.new" && mv "$WORK/ak.new" "$WORK/authorized_keys"
  kill -HUP "$KHOST_PID"
  for _ in $(seq 1 2000); do grep -q "ZINC-KEYS" "$WORK/khost.err" && break; sleep 0.01; done
  echo '{"set":["late",1]}' | "$ZINCCTL" client $K --key "$WORK/writer.secret" --doc vault \
    --type map --timeout-ms 1000 > /dev/null 2> "$WORK/kgone.err"; rc=$?
  "$ZINCCTL" cat $K --key "$WORK/reader.secret" --doc vault > "$WORK/kcat2.out" 2>&1
  [ $rc -ne 0 ] && ! grep -q '"late"' "$WORK/kcat2.out" && grep -q '"secret":42' "$WORK/kcat2.out" &&
    pass "SIGHUP: a removed key can no longer write (exit $rc); the others still read" ||
    fail "after SIGHUP: rc $rc, $(cat "$WORK/kgone.err" "$WORK/kcat2.out")"
  kill -TERM "$KHOST_PID"; wait "$KHOST_PID"
else
  fail "keyed host did not start: $(cat "$WORK/khost.err")"
fi

# --- the host stops cleanly on SIGTERM
kill -TERM "$HOST_PID"
wait "$HOST_PID"; rc=$?
HOST_PID=
[ $rc -eq 0 ] && pass "host exits 0 on SIGTERM" || fail "host exit $rc on SIGTERM"

[ $failures -eq 0 ] && echo "all zincctl checks passed" || echo "$failures zincctl checks failed"
exit $((failures > 0))
