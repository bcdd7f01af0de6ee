#!/usr/bin/env bash
# End-to-end test of zincctl's contract (docs/zincctl.md): a host process and three client
# processes over tcp loopback, then cat, bad input, and the error exits.
# usage: zincctl_e2e.sh PATH/TO/zincctl
set -u
ZINCCTL=${1:?usage: zincctl_e2e.sh PATH/TO/zincctl}
WORK=$(mktemp -d)
HOST_PID=
cleanup() {
  [ -n "$HOST_PID" ] && kill -9 "$HOST_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
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

# --- the host stops cleanly on SIGTERM
kill -TERM "$HOST_PID"
wait "$HOST_PID"; rc=$?
HOST_PID=
[ $rc -eq 0 ] && pass "host exits 0 on SIGTERM" || fail "host exit $rc on SIGTERM"

[ $failures -eq 0 ] && echo "all zincctl checks passed" || echo "$failures zincctl checks failed"
exit $((failures > 0))
