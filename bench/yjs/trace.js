// Applies every patch of an editing trace to a local Yjs Y.Text, one transaction per patch, and
// prints one JSON line: {"trace":..,"patches":N,"seconds":S,"patches_per_s":R,"ok":true|false}.
// usage: node trace.js FILE.json.gz [rounds]   (median of rounds, default 3)
'use strict';
const fs = require('fs');
const zlib = require('zlib');
const Y = require('yjs');

const file = process.argv[2];
const rounds = Number(process.argv[3] || 3);
const trace = JSON.parse(zlib.gunzipSync(fs.readFileSync(file)).toString('utf8'));
const patches = [];
for (const txn of trace.txns) for (const p of txn.patches) patches.push(p);

const times = [];
let ok = true;
for (let r = 0; r < rounds; ++r) {
  const doc = new Y.Doc();
  const text = doc.getText('t');
  const start = process.hrtime.bigint();
  for (const [pos, del, ins] of patches) {
    doc.transact(() => {
      if (del > 0) text.delete(pos, del);
      if (ins.length > 0) text.insert(pos, ins);
    });
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  times.push(seconds);
  ok = ok && text.toString() === trace.endContent;
}
times.sort((a, b) => a - b);
const seconds = times[Math.floor(times.length / 2)];
console.log(JSON.stringify({
  trace: require('path').basename(file), patches: patches.length, seconds,
  patches_per_s: Math.round(patches.length / seconds), ok,
}));
