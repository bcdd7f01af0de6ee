#!/usr/bin/env node
// Headless-browser test of the shared-canvas demo (examples/canvas/web, docs/canvas.md), run
// against running gateways (zinc-canvas or anything speaking the same protocol).
//
//   node tests/browser/canvas_test.mjs --url http://127.0.0.1:PORT_A [--url2 http://127.0.0.1:PORT_B]
//       [--url3 URL] [--stop-cmd "CMD" --start-cmd "CMD"] [--screenshot build/canvas-test.png]
//       [--chromium /usr/bin/chromium] [--timeout MS] [--quiet]
//       [--keyed-url URL --writer-token T --reader-token T --revoke-cmd "CMD"]
//
// Every option can also come from the environment: CANVAS_URL, CANVAS_URL2, CANVAS_URL3,
// CANVAS_STOP_CMD, CANVAS_START_CMD, CANVAS_SCREENSHOT, CHROMIUM, CANVAS_TIMEOUT_MS.
//
// Pages: A on --url, B on --url2 (default: --url), the late joiner C on --url3 (default: --url).
// The restart check runs only when both --stop-cmd and --start-cmd are given: they are run with
// /bin/sh and must stop / start the gateway serving --url2 (page B's), and return once that is
// done (start it in the background; the test then waits for the page to reconnect by itself).
// The canvas may hold shapes from earlier runs: the checks only look at what they drew, and
// compare whole states between pages.
//
// The token checks run when --keyed-url is given: a gateway started with --tokens (docs/canvas.md)
// where --writer-token may write the canvas and --reader-token only read it; --revoke-cmd must
// remove the reader's token from the gateway's tokens file and SIGHUP it.
//
// Output: one "ok - NAME" or "FAIL - NAME: why" line per check, then "N passed, N failed".
// Exit status: 0 all passed, 1 a check failed, 2 bad usage or the browser would not start.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

// ------------------------------------------------------------------------------------------
// Options.

function parseArgs(argv) {
  const o = {
    url: process.env.CANVAS_URL, url2: process.env.CANVAS_URL2, url3: process.env.CANVAS_URL3,
    stopCmd: process.env.CANVAS_STOP_CMD, startCmd: process.env.CANVAS_START_CMD,
    screenshot: process.env.CANVAS_SCREENSHOT, chromium: process.env.CHROMIUM || '/usr/bin/chromium',
    timeout: Number(process.env.CANVAS_TIMEOUT_MS) || 15000, quiet: false,
  };
  const names = { '--keyed-url': 'keyedUrl', '--writer-token': 'writerToken', '--reader-token': 'readerToken',
    '--revoke-cmd': 'revokeCmd', '--url': 'url', '--url2': 'url2', '--url3': 'url3', '--stop-cmd': 'stopCmd',
    '--start-cmd': 'startCmd', '--screenshot': 'screenshot', '--chromium': 'chromium', '--timeout': 'timeout' };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i], v;
    if (a === '--help' || a === '-h') usage(0);
    if (a === '--quiet') { o.quiet = true; continue; }
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) { v = a.slice(eq + 1); a = a.slice(0, eq); }
    if (!names[a]) usage(2, `unknown option ${a}`);
    if (v === undefined) { if (i + 1 >= argv.length) usage(2, `${a} needs a value`); v = argv[++i]; }
    o[names[a]] = v;
  }
  if (!o.url) usage(2, '--url (or CANVAS_URL) is required');
  o.url2 ||= o.url;
  o.url3 ||= o.url;
  o.timeout = Number(o.timeout);
  if (!(o.timeout > 0)) usage(2, '--timeout must be a positive number of milliseconds');
  if (!!o.stopCmd !== !!o.startCmd) usage(2, '--stop-cmd and --start-cmd go together');
  if (o.keyedUrl && !(o.writerToken && o.readerToken && o.revokeCmd)) {
    usage(2, '--keyed-url needs --writer-token, --reader-token and --revoke-cmd');
  }
  return o;
}
function usage(code, msg) {
  if (msg) console.error(`canvas_test: ${msg}`);
  console.error('usage: node canvas_test.mjs --url URL [--url2 URL] [--url3 URL] [--stop-cmd CMD --start-cmd CMD]\n' +
    '                          [--screenshot PATH] [--chromium PATH] [--timeout MS] [--quiet]');
  process.exit(code);
}
const opt = parseArgs(process.argv.slice(2));
const log = (...a) => { if (!opt.quiet) console.log('#', ...a); };

// ------------------------------------------------------------------------------------------
// Helpers.

class CheckError extends Error {}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls cond() (async, returns a truthy value when satisfied) until the deadline; on timeout
// throws `what` plus the last diagnostic that describe() gives.
async function until(what, cond, { timeout = opt.timeout, every = 100, describe } = {}) {
  const end = Date.now() + timeout;
  let lastErr = null;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
      lastErr = null;
    } catch (e) { lastErr = e; }
    if (Date.now() >= end) {
      let detail = '';
      if (describe) { try { detail = await describe(); } catch (e) { detail = `(no state: ${e.message})`; } }
      if (lastErr) detail += ` [last error: ${lastErr.message}]`;
      throw new CheckError(`${what} (not within ${timeout} ms)${detail ? ': ' + detail : ''}`);
    }
    await sleep(every);
  }
}

const state = (page) => page.evaluate(() => window.zincCanvas.state());
function brief(s) {
  return JSON.stringify({ connected: s.connected, status: s.status, participants: s.participants, pending: s.pending,
    shapes: s.shapes.map((x) => `${x.id}:${x.kind}${x.points ? '/' + x.points.length : ''}`) });
}
const describe = (page) => async () => brief(await state(page));

function runShell(cmd, label) {
  return new Promise((resolve, reject) => {
    log(`running ${label}: ${cmd}`);
    const child = spawn('/bin/sh', ['-c', cmd], { stdio: ['ignore', 'inherit', 'inherit'] });
    const timer = setTimeout(() => reject(new CheckError(`${label} did not return within 60 s: ${cmd}`)), 60000);
    child.on('error', (e) => { clearTimeout(timer); reject(new CheckError(`${label} failed to run: ${e.message}`)); });
    // 'exit', not 'close': a gateway started in the background may keep our stdout open.
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) resolve(); else reject(new CheckError(`${label} exited with ${code ?? sig}: ${cmd}`));
    });
  });
}

// Draws a polyline with the mouse (pen tool), returns the id of the stroke it made.
async function drawStroke(page, points, colorHex) {
  await page.click('button[data-tool="pen"]');
  await page.click(`button.swatch[data-color="${colorHex}"]`);
  const before = new Set((await state(page)).shapes.map((s) => s.id));
  await page.mouse.move(points[0][0], points[0][1]);
  await page.mouse.down();
  for (let i = 1; i < points.length; i++) {
    await page.mouse.move(points[i][0], points[i][1], { steps: 4 });
    await sleep(8);   // simulate a hand: the page streams appends every ~30 ms
  }
  await page.mouse.up();
  const s = await until('the stroke just drawn shows in the drawing page', async () => {
    const st = await state(page);
    return st.shapes.find((x) => !before.has(x.id) && x.kind === 'stroke' && x.id.startsWith(st.tabId + '-') && x.color === colorHex);
  }, { describe: describe(page) });
  const extra = (await state(page)).shapes.filter((x) => !before.has(x.id) && x.id !== s.id && x.id.startsWith(s.id.split('-')[0] + '-'));
  if (extra.length) throw new CheckError(`drawing one stroke made other shapes too: ${extra.map((x) => `${x.id}:${x.kind}`).join(', ')}`);
  return s.id;
}
function linePoints(from, to, n) {
  const out = [];
  for (let i = 0; i <= n; i++) out.push([from[0] + ((to[0] - from[0]) * i) / n, from[1] + ((to[1] - from[1]) * i) / n]);
  return out;
}
const sameJson = (a, b) => JSON.stringify(a) === JSON.stringify(b);
async function settled(page) {
  const s = await state(page);
  return s.connected && s.pending === 0 ? s : null;
}
// Waits until every page is online with nothing pending and all show the same shapes.
async function converge(pages, what) {
  return until(what, async () => {
    const ss = [];
    for (const p of pages) { const s = await settled(p); if (!s) return null; ss.push(s); }
    return ss.every((s) => sameJson(s.shapes, ss[0].shapes)) ? ss : null;
  }, { describe: async () => (await Promise.all(pages.map(async (p) => brief(await state(p))))).join(' | ') });
}
const shapeIn = (s, id) => s.shapes.find((x) => x.id === id);

// ------------------------------------------------------------------------------------------
// The checks.

const RED = '#e53935', BLUE = '#1e88e5', GREEN = '#43a047';
const PATH_A = [...linePoints([150, 200], [300, 330], 10), ...linePoints([300, 330], [450, 200], 10).slice(1)];
const PATH_B = linePoints([160, 460], [460, 420], 16);
const PATH_B_OFFLINE = linePoints([560, 470], [820, 380], 12);

const results = [];
let browser;
const contexts = [];
const pages = {};
const ids = {};

async function openPage(url, name, { connected = true } = {}) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 }, deviceScaleFactor: 1 });
  contexts.push(context);
  await context.addInitScript((n) => { try { localStorage.setItem('zinc-canvas-name', n); } catch {} }, name);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`# [${name}] page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') log(`[${name}] console ${m.type()}: ${m.text()}`); });
  await page.goto(url, { timeout: opt.timeout });
  await until(`${name}: the page's test hook exists (is ${url} the canvas page?)`, () => page.evaluate(() => !!window.zincCanvas));
  if (connected) await until(`${name}: connected (got a welcome) on ${url}`, async () => (await state(page)).connected, { describe: describe(page) });
  return page;
}

const checks = [
  ['two pages connect and see each other (presence)', async () => {
    pages.A = await openPage(opt.url, 'Tester A');
    pages.B = await openPage(opt.url2, 'Tester B');
    await until('A lists B among its peers and B lists A', async () => {
      const pa = await pages.A.evaluate(() => window.zincCanvas.peers());
      const pb = await pages.B.evaluate(() => window.zincCanvas.peers());
      return pa.some((p) => p.name === 'Tester B') && pb.some((p) => p.name === 'Tester A');
    }, { describe: async () => `A peers ${JSON.stringify(await pages.A.evaluate(() => window.zincCanvas.peers()))}, B peers ${JSON.stringify(await pages.B.evaluate(() => window.zincCanvas.peers()))}` });
    const sa = await state(pages.A);
    if (sa.participants < 2) throw new CheckError(`A shows ${sa.participants} participants, want >= 2`);
    if (!/online/.test(sa.status)) throw new CheckError(`A's status line says "${sa.status}", want "online"`);
  }],
  ['a cursor moved on B shows on A', async () => {
    await pages.B.mouse.move(620, 300);
    await sleep(50);
    await pages.B.mouse.move(640, 310);
    await until('A sees B\'s cursor at (640, 310)', async () => {
      const pa = await pages.A.evaluate(() => window.zincCanvas.peers());
      const b = pa.find((p) => p.name === 'Tester B');
      return b && Math.abs(b.x - 640) < 1 && Math.abs(b.y - 310) < 1;
    }, { describe: async () => JSON.stringify(await pages.A.evaluate(() => window.zincCanvas.peers())) });
    await until('A draws B\'s cursor tag', () => pages.A.evaluate(() => [...document.querySelectorAll('.cursor span')].some((e) => e.textContent === 'Tester B' && e.offsetParent !== null)));
  }],
  ['strokes drawn on A and B show on both', async () => {
    ids.a = await drawStroke(pages.A, PATH_A, RED);
    ids.b = await drawStroke(pages.B, PATH_B, BLUE);
    const [sa] = await converge([pages.A, pages.B], 'A and B settle (online, nothing pending) on the same shapes');
    for (const [id, path0] of [[ids.a, PATH_A], [ids.b, PATH_B]]) {
      const s = shapeIn(sa, id);
      if (!s) throw new CheckError(`stroke ${id} missing: ${brief(sa)}`);
      if (s.points.length < 5) throw new CheckError(`stroke ${id} has only ${s.points.length} points`);
      const [x0, y0] = s.points[0], [x1, y1] = s.points[s.points.length - 1];
      const [ex0, ey0] = path0[0], [ex1, ey1] = path0[path0.length - 1];
      if (Math.hypot(x0 + s.x - ex0, y0 + s.y - ey0) > 2 || Math.hypot(x1 + s.x - ex1, y1 + s.y - ey1) > 2) {
        throw new CheckError(`stroke ${id} runs from (${x0},${y0}) to (${x1},${y1}), want (${ex0},${ey0}) to (${ex1},${ey1})`);
      }
    }
  }],
  ['a page opened afterwards shows everything (late join)', async () => {
    pages.C = await openPage(opt.url3, 'Tester C');
    const [, , sc] = await converge([pages.A, pages.B, pages.C], 'C settles on the same shapes as A and B');
    if (!shapeIn(sc, ids.a) || !shapeIn(sc, ids.b)) throw new CheckError(`C lacks the strokes: ${brief(sc)}`);
  }],
  ['screenshot, and the strokes are really painted', async () => {
    if (opt.screenshot) {
      fs.mkdirSync(path.dirname(path.resolve(opt.screenshot)), { recursive: true });
      await pages.C.screenshot({ path: opt.screenshot });
      const size = fs.statSync(opt.screenshot).size;
      if (size < 1000) throw new CheckError(`screenshot ${opt.screenshot} is only ${size} bytes`);
      log(`screenshot of page C written to ${opt.screenshot}`);
    }
    // Sample the canvas along each drawn path (away from the V's corner, where the curve is
    // smoothed): every sample must be the stroke's colour; a spot far off must not be.
    const samples = (pts, color) => pts.slice(1, -1)
      .filter((_, i) => pts === PATH_A ? Math.abs(i + 1 - 10) > 2 : true)
      .map(([x, y]) => ({ x, y, color }));
    const want = [...samples(PATH_A, RED), ...samples(PATH_B, BLUE)];
    for (const page of [pages.C, pages.A]) {
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      const got = await page.evaluate((pts) => {
        const c = document.getElementById('board');
        const g = c.getContext('2d');
        const scale = c.width / c.getBoundingClientRect().width;
        const img = g.getImageData(0, 0, c.width, c.height);   // one readback
        const px = (x, y) => { const i = (Math.floor(y * scale) * c.width + Math.floor(x * scale)) * 4; return Array.from(img.data.slice(i, i + 4)); };
        return { on: pts.map((p) => ({ ...p, rgba: px(p.x, p.y) })), off: px(900, 640) };
      }, want);
      const hex = (h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
      const bad = got.on.filter((p) => { const w = hex(p.color); return p.rgba.slice(0, 3).some((v, i) => Math.abs(v - w[i]) > 40); });
      if (bad.length) {
        throw new CheckError(`${bad.length} of ${got.on.length} samples along the strokes are not the stroke colour, e.g. ` +
          bad.slice(0, 3).map((p) => `(${p.x},${p.y}) rgba(${p.rgba}) want ${p.color}`).join(', '));
      }
      const off = got.off;
      if ([RED, BLUE].some((c) => hex(c).every((v, i) => Math.abs(v - off[i]) <= 40))) {
        throw new CheckError(`the background at (900,640) has a stroke colour rgba(${off})`);
      }
    }
  }],
  ['a bad edit is refused with an error and harms nobody', async () => {
    const r = await pages.C.evaluate(async (takenId) => {
      const ws = new WebSocket(new URL('ws', location.href).href.replace(/^http/, 'ws'));
      const frames = [];
      const waitFor = (pred, ms) => new Promise((resolve) => {
        const t0 = Date.now();
        const tick = () => { const f = frames.find(pred); if (f || Date.now() - t0 > ms) resolve(f || null); else setTimeout(tick, 20); };
        tick();
      });
      ws.onmessage = (e) => frames.push(JSON.parse(e.data));
      await new Promise((res, rej) => { ws.onopen = res; ws.onerror = () => rej(new Error('websocket failed')); });
      ws.send(JSON.stringify({ t: 'hello', name: 'Raw probe', color: '#000000' }));
      const welcome = await waitFor((f) => f.t === 'welcome', 5000);
      ws.send(JSON.stringify({ t: 'edit', n: 1, edit: { add: { id: takenId, kind: 'stroke', points: [[1, 1]] } } }));
      const refused = await waitFor((f) => f.t === 'error' && f.n === 1, 5000);
      ws.send('{this is not json');
      const protocolError = await waitFor((f) => f.t === 'error' && f.n === undefined, 5000);
      ws.close();
      return { welcome: !!welcome, refused, protocolError, acked: frames.some((f) => f.t === 'change' && f.n === 1) };
    }, ids.a);
    if (!r.welcome) throw new CheckError('a raw WebSocket got no welcome');
    if (!r.refused) throw new CheckError(`an add of the existing id ${ids.a} got no {"t":"error","n":1}${r.acked ? ' (it was acknowledged!)' : ''}`);
    if (!r.protocolError) throw new CheckError('malformed JSON got no {"t":"error"} without n');
    await converge([pages.A, pages.B, pages.C], 'the pages are still online and agree after the bad input');
  }],
  ['rectangle: create, move, undo move, Delete key, undo delete, undo create', async () => {
    const A = pages.A, B = pages.B;
    await A.click('button[data-tool="rect"]');
    await A.click(`button.swatch[data-color="${GREEN}"]`);
    const before = new Set((await state(A)).shapes.map((s) => s.id));
    await A.mouse.move(600, 150); await A.mouse.down();
    await A.mouse.move(680, 200, { steps: 3 }); await A.mouse.move(750, 250, { steps: 3 }); await A.mouse.up();
    const rect = await until('A shows the new rectangle', async () =>
      (await state(A)).shapes.find((s) => !before.has(s.id) && s.kind === 'rect'), { describe: describe(A) });
    if (rect.x !== 600 || rect.y !== 150 || rect.w !== 150 || rect.h !== 100) throw new CheckError(`rect is ${JSON.stringify(rect)}, want x 600 y 150 w 150 h 100`);
    const onB = (pred, what) => until(what, async () => { const s = await settled(B); return s && pred(shapeIn(s, rect.id), s); }, { describe: describe(B) });
    await onB((s) => s && s.x === 600, 'B shows the rectangle');
    await A.click('button[data-tool="select"]');
    await A.mouse.move(605, 200); await A.mouse.down();
    await A.mouse.move(630, 215, { steps: 3 }); await A.mouse.move(655, 230, { steps: 3 }); await A.mouse.up();
    await onB((s) => s && s.x === 650 && s.y === 180, 'B shows the rectangle moved to (650, 180)');
    await A.keyboard.press('Control+z');
    await onB((s) => s && s.x === 600 && s.y === 150, 'B shows the move undone (back at 600, 150)');
    await A.evaluate((id) => window.zincCanvas.select(id), rect.id);
    await A.keyboard.press('Delete');
    await onB((s) => !s, 'B no longer shows the rectangle deleted with the Delete key');
    await A.keyboard.press('Control+z');
    const copy = await onB((s, st) => !s && st.shapes.find((x) => x.kind === 'rect' && !before.has(x.id) && x.id !== rect.id && x.x === 600 && x.y === 150 && x.w === 150),
      'B shows a copy of the rectangle (new id) after undoing the delete');
    await A.keyboard.press('Control+z');
    await onB((s, st) => !shapeIn(st, copy.id), `B no longer shows the copy ${copy.id} after undoing the creation`);
    await A.click('button[data-tool="pen"]');
  }],
  ['text label: typed on A, shown on B', async () => {
    const A = pages.A, B = pages.B;
    await A.click('button[data-tool="text"]');
    await A.mouse.click(620, 560);
    await until('A opens the text entry and focuses it', () => A.evaluate(() => {
      const el = document.getElementById('text-entry');
      return !el.hidden && document.activeElement === el;
    }));
    await A.keyboard.type('hello zinc');
    await A.keyboard.press('Enter');
    await until('B shows the text "hello zinc" at (620, 560)', async () => {
      const s = await settled(B);
      return s && s.shapes.some((x) => x.kind === 'text' && x.text === 'hello zinc' && x.x === 620 && x.y === 560);
    }, { describe: describe(B) });
    await A.click('button[data-tool="pen"]');
  }],
];

const restartChecks = [
  ['B\'s gateway restarts: B draws offline, reconnects, the stroke reaches A', async () => {
    const A = pages.A, B = pages.B;
    await runShell(opt.stopCmd, '--stop-cmd');
    await until('B shows offline after its gateway stopped', async () => {
      const s = await state(B);
      return !s.connected && /offline/.test(s.status);
    }, { describe: describe(B) });
    ids.off = await drawStroke(B, PATH_B_OFFLINE, GREEN);
    const sb = await state(B);
    if (sb.pending === 0) throw new CheckError('B drew offline but shows nothing pending');
    if (!/pending/.test(sb.status)) throw new CheckError(`B's status line does not mention pending edits: "${sb.status}"`);
    await runShell(opt.startCmd, '--start-cmd');
    await until('B reconnects and its offline edits are acknowledged', async () => settled(B),
      { timeout: Math.max(opt.timeout, 30000), describe: describe(B) });
    const [sa] = await converge([A, B], 'A and B agree after B reconnected');
    const s = shapeIn(sa, ids.off);
    if (!s) throw new CheckError(`A lacks B's offline stroke ${ids.off}: ${brief(sa)}`);
    const drawn = shapeIn(sb, ids.off);
    if (!sameJson(s.points, drawn.points)) throw new CheckError(`B's offline stroke arrived with ${s.points.length} points, drawn with ${drawn.points.length} (sent twice?)`);
    for (const id of [ids.a, ids.b]) if (!shapeIn(sa, id)) throw new CheckError(`stroke ${id} was lost over the restart`);
  }],
];

const tokenChecks = [
  ['with --tokens: a page without a token, or with a wrong one, is refused and says why', async () => {
    for (const [suffix, why] of [['', /refused — this gateway needs a token/], ['#token=not-a-token-0123456789', /refused — unknown token/]]) {
      const page = await openPage(opt.keyedUrl + suffix, 'Stranger', { connected: false });
      await until(`the page at ${opt.keyedUrl}${suffix} shows ${why}`, async () => {
        const s = await state(page);
        return !s.connected && why.test(s.status);
      }, { describe: describe(page) });
    }
  }],
  ['a writer token draws; a reader token sees it, read-only, and its own strokes are refused', async () => {
    const W = pages.W = await openPage(`${opt.keyedUrl}#token=${opt.writerToken}`, 'Writer');
    const R = pages.R = await openPage(`${opt.keyedUrl}#token=${opt.readerToken}`, 'Reader');
    const sr = await state(R);
    if (!/read-only/.test(sr.status)) throw new CheckError(`the reader's status says "${sr.status}", want read-only`);
    const w = await drawStroke(W, linePoints([200, 250], [400, 260], 8), BLUE);
    await until('the reader shows the writer\'s stroke', async () => shapeIn(await state(R), w), { describe: describe(R) });
    // The reader draws: the stroke shows as pending, is refused, and is dropped.
    await R.click('button[data-tool="pen"]');
    await R.mouse.move(200, 450);
    await R.mouse.down();
    for (const [x, y] of linePoints([200, 450], [400, 460], 8).slice(1)) await R.mouse.move(x, y, { steps: 2 });
    await R.mouse.up();
    await until('the reader is told its stroke was refused (forbidden)', () => R.evaluate(() => {
      const t = document.getElementById('toast');
      return !t.hidden && /forbidden: token 'bob' may not write 'canvas'/.test(t.textContent);
    }));
    await until('the reader\'s refused stroke is dropped, nothing pending', async () => {
      const s = await state(R);
      return s.connected && s.pending === 0 && !s.shapes.some((x) => x.id.startsWith(s.tabId + '-'));
    }, { describe: describe(R) });
    const sw = await settled(W);
    if (!sw) throw new CheckError('the writer is not settled');
    if (sw.shapes.some((x) => x.id.startsWith((sr.tabId || '?') + '-'))) throw new CheckError('a stroke of the reader reached the writer');
  }],
  ['SIGHUP with the reader\'s token removed: the reader is cut off at once', async () => {
    await runShell(opt.revokeCmd, '--revoke-cmd');
    await until('the reader shows it was refused', async () => {
      const s = await state(pages.R);
      return !s.connected && /refused/.test(s.status);
    }, { describe: describe(pages.R) });
    if (!(await state(pages.W)).connected) throw new CheckError('the writer lost its connection too');
  }],
];

// ------------------------------------------------------------------------------------------

async function main() {
  try {   // launch() gives the browser a fresh, temporary profile

    browser = await chromium.launch({
      executablePath: opt.chromium,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run'],
      timeout: 60000,
    });
  } catch (e) {
    console.error(`canvas_test: cannot start ${opt.chromium}: ${e.message}`);
    process.exit(2);
  }
  const all = [...checks];
  if (opt.stopCmd) all.push(...restartChecks);
  else log('no --stop-cmd/--start-cmd: the restart check is skipped');
  if (opt.keyedUrl) all.push(...tokenChecks);
  else log('no --keyed-url: the token checks are skipped');
  let failed = false;
  for (const [name, fn] of all) {
    if (failed) { results.push({ name, skipped: true }); console.log(`skip - ${name} (an earlier check failed)`); continue; }
    const t0 = Date.now();
    try {
      await fn();
      results.push({ name, ok: true });
      console.log(`ok - ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed = true;
      results.push({ name, ok: false });
      console.log(`FAIL - ${name}: ${e instanceof CheckError ? e.message : e.stack || e}`);
    }
  }
  if (failed && opt.screenshot && pages.A) {   // help debugging: what A looked like
    const p = opt.screenshot.replace(/(\.png)?$/, '-failure.png');
    try { await pages.A.screenshot({ path: p }); console.log(`# page A at the failure: ${p}`); } catch { /* ignore */ }
  }
  for (const c of contexts) await c.close().catch(() => {});
  await browser.close().catch(() => {});
  const passed = results.filter((r) => r.ok).length;
  const nfailed = results.filter((r) => r.ok === false).length;
  const skipped = results.filter((r) => r.skipped).length + (opt.stopCmd ? 0 : restartChecks.length) +
    (opt.keyedUrl ? 0 : tokenChecks.length);
  console.log(`${passed} passed, ${nfailed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(nfailed ? 1 : 0);
}
main().catch((e) => { console.error(`canvas_test: ${e.stack || e}`); process.exit(1); });
