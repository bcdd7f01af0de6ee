// zinc shared canvas: the browser side. Speaks the WebSocket protocol of docs/canvas.md and the
// canvas edit format of documents/canvas_document.h. No dependencies, no build step.
//
// State model (docs/canvas.md, "The tab's state"): `confirmed` is the gateway's replica as the
// tab has been told (welcome/reset, then every change in stream order); `pending` holds this
// tab's edits not yet acknowledged. What is drawn is confirmed with the pending edits applied on
// top, so our own drawing shows at once and still ends exactly as the gateway's replica.

const PROPS = ['x', 'y', 'w', 'h', 'z', 'width', 'color', 'fill', 'text'];
const DEFAULTS = { x: 0, y: 0, w: 0, h: 0, z: 0, width: 1, color: '#000000', fill: 'none', text: '' };
const SWATCHES = ['#1f2937', '#e53935', '#fb8c00', '#fdd835', '#43a047', '#1e88e5', '#8e24aa', '#ffffff'];
const WIDTHS = [2, 4, 8, 16];
const FLUSH_MS = 30;          // stroke points are streamed at this period
const MOVE_MS = 50;           // a dragged shape's position is streamed at this period
const CURSOR_MS = 34;         // presence: at most ~30 cursor frames a second
const MIN_STEP = 1.5;         // points closer than this to the previous one are skipped
const MAX_POINTS_PER_EDIT = 8000;  // keeps one frame well under the gateway's 256 KiB
const BACKOFF_MIN = 500, BACKOFF_MAX = 5000;

const $ = (sel) => document.querySelector(sel);
const round = (v) => Math.round(v * 10) / 10;   // 0.1 px: small frames, same numbers everywhere

// ---------------------------------------------------------------------------------------------
// Identity: a tab id kept for the tab's life (sessionStorage), a name and colour kept per browser.

function randomId(len) {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = crypto.getRandomValues(new Uint8Array(len));
  return Array.from(bytes, (b) => alphabet[b % 36]).join('');
}
function storageGet(store, key) { try { return store.getItem(key); } catch { return null; } }
function storageSet(store, key, value) { try { store.setItem(key, value); } catch { /* private mode */ } }

let tabId = storageGet(sessionStorage, 'zinc-canvas-tab');
if (!/^[a-z0-9]{8}$/.test(tabId || '')) {
  tabId = randomId(8);
  storageSet(sessionStorage, 'zinc-canvas-tab', tabId);
  storageSet(sessionStorage, 'zinc-canvas-counter', '0');
}
let idCounter = Number(storageGet(sessionStorage, 'zinc-canvas-counter')) || 0;
function newShapeId() {
  idCounter += 1;
  storageSet(sessionStorage, 'zinc-canvas-counter', String(idCounter));
  return `${tabId}-${idCounter}`;
}
function noteIdSeen(id) {   // never reuse one of our ids (e.g. storage lost but the shape exists)
  if (typeof id !== 'string' || !id.startsWith(tabId + '-')) return;
  const k = Number(id.slice(tabId.length + 1));
  if (Number.isInteger(k) && k > idCounter) {
    idCounter = k;
    storageSet(sessionStorage, 'zinc-canvas-counter', String(idCounter));
  }
}

const FRIENDLY = [
  ['Blue', '#1e88e5'], ['Red', '#e53935'], ['Green', '#43a047'], ['Orange', '#f57c00'],
  ['Purple', '#8e24aa'], ['Teal', '#00897b'], ['Pink', '#d81b60'], ['Indigo', '#3949ab'],
  ['Amber', '#ff8f00'], ['Cyan', '#0097a7'], ['Lime', '#7cb342'], ['Brown', '#6d4c41'],
];
const ANIMALS = ['Otter', 'Fox', 'Owl', 'Panda', 'Heron', 'Lynx', 'Koala', 'Badger', 'Finch',
  'Seal', 'Moose', 'Gecko', 'Hare', 'Crane', 'Bison', 'Wren'];
function clampName(s) { return Array.from(String(s).trim()).slice(0, 32).join(''); }
let myName = clampName(storageGet(localStorage, 'zinc-canvas-name') || '');
let myColor = storageGet(localStorage, 'zinc-canvas-color') || '';
if (!myName || !/^#[0-9a-f]{6}$/i.test(myColor)) {
  const pick = (a) => a[crypto.getRandomValues(new Uint32Array(1))[0] % a.length];
  const [adjective, color] = pick(FRIENDLY);
  if (!myName) myName = `${adjective} ${pick(ANIMALS)}`;
  if (!/^#[0-9a-f]{6}$/i.test(myColor)) myColor = color;
  storageSet(localStorage, 'zinc-canvas-name', myName);
  storageSet(localStorage, 'zinc-canvas-color', myColor);
}

// ---------------------------------------------------------------------------------------------
// The document model: shapes by id; edits applied with copy-on-write so the confirmed state is
// never changed by drawing the pending overlay.

function shapeFromAdd(add) {
  const s = { id: add.id, kind: add.kind };
  for (const p of PROPS) s[p] = add[p] !== undefined ? add[p] : DEFAULTS[p];
  if (s.kind === 'stroke') s.points = Array.isArray(add.points) ? add.points.slice() : [];
  return s;
}
function shapeFromJson(j) { return shapeFromAdd(j); }   // welcome/reset shapes carry every field

function opsOf(edit) { return Array.isArray(edit) ? edit : [edit]; }

// Applies one edit to `shapes` (a Map). `tombs` (a Set, or null) remembers deleted ids. Lenient:
// the gateway already refused what is invalid; an op on a missing shape changes nothing.
function applyEdit(shapes, tombs, edit) {
  for (const op of opsOf(edit)) {
    if (!op || typeof op !== 'object') continue;
    if (op.add) {
      const id = op.add.id;
      if (shapes.has(id) || (tombs && tombs.has(id))) continue;
      shapes.set(id, shapeFromAdd(op.add));
      noteZ(op.add.z);
      noteIdSeen(id);
    } else if (op.update) {
      const old = shapes.get(op.update.id);
      if (!old) continue;
      const s = { ...old };
      for (const p of PROPS) if (op.update[p] !== undefined) s[p] = op.update[p];
      shapes.set(s.id, s);
      noteZ(op.update.z);
    } else if (op.append) {
      const old = shapes.get(op.append.id);
      if (!old || old.kind !== 'stroke' || !Array.isArray(op.append.points)) continue;
      const k = Math.max(0, Math.min(Number(op.append.before_last) || 0, old.points.length));
      const at = old.points.length - k;
      const points = old.points.slice(0, at).concat(op.append.points, old.points.slice(at));
      shapes.set(old.id, { ...old, points });
    } else if (op.delete !== undefined) {
      shapes.delete(op.delete);
      if (tombs) tombs.add(op.delete);
    } else if (op.front !== undefined || op.back !== undefined) {
      const id = op.front !== undefined ? op.front : op.back;
      const old = shapes.get(id);
      if (old && typeof op.z === 'number') { shapes.set(id, { ...old, z: op.z }); noteZ(op.z); }
    }
  }
}

let confirmed = new Map();
let tombstones = new Set();   // ids deleted while we watched (a welcome does not list them)
let pending = [];             // {n, edit, starts: Map(id -> point index of an append), sent, resent}
let nextN = 1;
let topZ = 0;                 // the largest z seen: new shapes go to topZ + 1
function noteZ(z) { if (typeof z === 'number' && Number.isFinite(z) && z > topZ) topZ = z; }

let view = null;              // Map: confirmed + pending, recomputed lazily
let viewSorted = null;
function invalidate() { view = null; viewSorted = null; requestRender(); }
function getView() {
  if (!view) {
    view = new Map(confirmed);
    for (const p of pending) applyEdit(view, null, p.edit);
  }
  return view;
}
function byRenderOrder(a, b) { return a.z - b.z || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0); }
function sortedShapes() {
  if (!viewSorted) viewSorted = [...getView().values()].sort(byRenderOrder);
  return viewSorted;
}
function stateFromCanvas(canvas) {
  const m = new Map();
  for (const j of (canvas && canvas.shapes) || []) {
    m.set(j.id, shapeFromJson(j));
    noteZ(j.z);
    noteIdSeen(j.id);
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// Connection.

const wsUrl = (() => {
  const u = new URL('ws', location.href);
  u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  u.search = ''; u.hash = '';
  return u.href;
})();
// A gateway started with --tokens wants a token: the page's URL carries it as #token=T (never
// sent to any server by the browser) or ?token=T, and the socket offers it as the subprotocol
// zinc.token.T (docs/canvas.md).
const token = (() => {
  for (const part of [location.hash.slice(1), location.search.slice(1)]) {
    const t = new URLSearchParams(part).get('token');
    if (t) return t;
  }
  return '';
})();
let ws = null;
let online = false;           // a welcome was received on the current socket
let readOnly = false;         // the welcome said this tab may not edit
let refused = '';             // the gateway refused this tab (its reason); no more retries
let participantId = null;
let peers = [];
let backoff = BACKOFF_MIN;
let retryAt = 0;
let retryTimer = 0;

function connect() {
  clearTimeout(retryTimer);
  retryAt = 0;
  let sock;
  try {
    sock = token ? new WebSocket(wsUrl, ['zinc.token.' + token]) : new WebSocket(wsUrl);
  } catch { scheduleReconnect(); return; }
  ws = sock;
  updateStatus();
  sock.onopen = () => { if (ws === sock) send({ t: 'hello', name: myName, color: myColor }); };
  sock.onmessage = (e) => {
    if (ws !== sock) return;
    let f;
    try { f = JSON.parse(e.data); } catch { console.warn('zinc: bad frame', e.data); return; }
    onFrame(f);
  };
  sock.onclose = (e) => {
    if (ws !== sock) return;
    ws = null; online = false; peers = []; renderCursors();
    clearTimeout(pumpTimer); pumpTimer = 0;
    if (e.code === 1008 || e.code === 1009) console.warn('zinc: connection closed', e.code, e.reason);
    // 4401, 4403: no valid token, or it does not give this document. Retrying cannot help.
    if (e.code === 4401 || e.code === 4403) {
      refused = e.reason || 'not allowed';
      updateStatus();
      return;
    }
    scheduleReconnect(sock.reconnectNow ? 0 : undefined);
  };
  sock.onerror = () => { /* a close follows */ };
}
function scheduleReconnect(delay) {
  if (delay === undefined) { delay = backoff; backoff = Math.min(backoff * 2, BACKOFF_MAX); }
  retryAt = Date.now() + delay;
  clearTimeout(retryTimer);
  retryTimer = setTimeout(connect, delay);
  updateStatus();
}
function send(frame) {
  if (!ws || ws.readyState !== WebSocket.OPEN) return false;
  ws.send(JSON.stringify(frame));
  return true;
}
function reconnectNow() {      // e.g. the name changed: a new hello is the only way to say it
  if (ws) { ws.reconnectNow = true; try { ws.close(1000, 'hello again'); } catch { /* ignore */ } }
}

function onFrame(f) {
  switch (f.t) {
    case 'welcome': {
      online = true;
      readOnly = f.readonly === true;
      backoff = BACKOFF_MIN;
      participantId = f.id;
      confirmed = stateFromCanvas(f.canvas);
      tombstones = new Set();
      // The welcome's state already holds whatever the gateway applied: do not send those
      // edits again (an add of an id that exists is refused, an append would double points).
      pending = pending.filter((p) => !alreadyApplied(p, confirmed));
      for (const p of pending) { if (p.sent) p.resent = true; p.sent = false; }
      invalidate();
      pump();
      if (lastCursor) send({ t: 'cursor', x: lastCursor.x, y: lastCursor.y });
      break;
    }
    case 'reset':
      confirmed = stateFromCanvas(f.canvas);
      tombstones = new Set();
      invalidate();
      break;
    case 'change': {
      if (f.n !== undefined && f.n !== null) {
        const i = pending.findIndex((p) => p.n === f.n);
        if (i >= 0) pending.splice(i, 1);
      }
      applyEdit(confirmed, tombstones, f.edit);
      invalidate();
      break;
    }
    case 'error': {
      if (f.n !== undefined && f.n !== null) {
        const i = pending.findIndex((p) => p.n === f.n);
        if (i >= 0) {
          const [p] = pending.splice(i, 1);
          invalidate();
          if (!p.resent) toast(`Edit refused: ${f.text || 'error'}`);
        }
      } else {
        console.warn('zinc: protocol error:', f.text);
      }
      break;
    }
    case 'presence':
      peers = Array.isArray(f.peers) ? f.peers : [];
      renderCursors();
      break;
    default:
      console.warn('zinc: unknown frame', f);
  }
  updateStatus();
}

// Whether the gateway had already applied pending edit p before we lost it (the state is the
// new welcome's). Only our own ids can be decided: we create them and only we append to them.
function alreadyApplied(p, state) {
  for (const op of opsOf(p.edit)) {
    if (op.add && String(op.add.id).startsWith(tabId + '-')) return state.has(op.add.id);
    if (op.append && p.starts && p.starts.has(op.append.id)) {
      const s = state.get(op.append.id);
      if (!s) return false;   // resend: a no-op on a deleted stroke
      return s.points.length >= p.starts.get(op.append.id) + op.append.points.length;
    }
  }
  return false;
}

// Makes one edit of ours: pending at once (drawn), sent when connected.
function pushEdit(edit) {
  const last = pending[pending.length - 1];
  if (!online && last && !last.sent && edit.append && last.edit.append && last.edit.append.id === edit.append.id &&
      last.edit.append.points.length + edit.append.points.length <= MAX_POINTS_PER_EDIT) {
    // Offline: grow the unsent append instead of queueing many small ones (fewer frames later).
    last.edit.append.points = last.edit.append.points.concat(edit.append.points);
    invalidate();
    return last.n;
  }
  const p = { n: nextN++, edit, starts: null, sent: false, resent: false };
  const v = getView();
  for (const op of opsOf(edit)) {
    if (op.append) {
      const s = v.get(op.append.id);
      (p.starts ||= new Map()).set(op.append.id, s && s.points ? s.points.length : 0);
    }
  }
  pending.push(p);
  invalidate();
  pump();
  updateStatus();
  return p.n;
}

// Sends the unsent pending edits in order, at most SEND_BURST per SEND_WINDOW_MS (the gateway
// refuses more than 500 frames a second; a reconnect may have many edits to send again).
const SEND_BURST = 100, SEND_WINDOW_MS = 250;
let pumpTimer = 0, windowStart = 0, windowCount = 0;
function pump() {
  if (!online || pumpTimer) return;
  for (const p of pending) {
    if (p.sent) continue;
    const now = performance.now();
    if (now - windowStart >= SEND_WINDOW_MS) { windowStart = now; windowCount = 0; }
    if (windowCount >= SEND_BURST) {
      pumpTimer = setTimeout(() => { pumpTimer = 0; pump(); }, SEND_WINDOW_MS - (now - windowStart) + 1);
      return;
    }
    if (!send({ t: 'edit', n: p.n, edit: p.edit })) return;
    p.sent = true;
    windowCount++;
  }
}

// ---------------------------------------------------------------------------------------------
// Drawing.

const canvas = $('#board');
const ctx = canvas.getContext('2d');
let cssW = 0, cssH = 0, dpr = 1;
let renderQueued = false;
let gridPattern = null;

function resize() {
  dpr = window.devicePixelRatio || 1;
  cssW = window.innerWidth; cssH = window.innerHeight;
  canvas.width = Math.max(1, Math.round(cssW * dpr));
  canvas.height = Math.max(1, Math.round(cssH * dpr));
  gridPattern = null;
  render();
}
function requestRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; render(); });
}
function makeGrid() {
  const c = document.createElement('canvas');
  c.width = c.height = 24;
  const g = c.getContext('2d');
  g.fillStyle = '#e3e6ea';
  g.fillRect(0, 0, 1.5, 1.5);
  return ctx.createPattern(c, 'repeat');
}

function fontFor(s) { return `${14 + 4 * Math.max(0, s.width)}px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif`; }

function traceStroke(points, ox, oy) {
  const n = points.length;
  ctx.beginPath();
  ctx.moveTo(points[0][0] + ox, points[0][1] + oy);
  if (n === 2) { ctx.lineTo(points[1][0] + ox, points[1][1] + oy); return; }
  for (let i = 1; i < n - 1; i++) {   // quadratic curves through the midpoints
    const [x1, y1] = points[i], [x2, y2] = points[i + 1];
    ctx.quadraticCurveTo(x1 + ox, y1 + oy, (x1 + x2) / 2 + ox, (y1 + y2) / 2 + oy);
  }
  ctx.lineTo(points[n - 1][0] + ox, points[n - 1][1] + oy);
}

function drawShape(s, extraPoints) {
  ctx.save();
  const lw = Math.max(0, s.width);
  ctx.lineWidth = lw;
  ctx.strokeStyle = s.color;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  if (s.kind === 'stroke') {
    const pts = extraPoints && extraPoints.length ? s.points.concat(extraPoints) : s.points;
    if (pts.length === 1 || (pts.length > 1 && pts.every((p) => p[0] === pts[0][0] && p[1] === pts[0][1]))) {
      ctx.fillStyle = s.color;
      ctx.beginPath();
      ctx.arc(pts[0][0] + s.x, pts[0][1] + s.y, Math.max(lw / 2, 0.5), 0, Math.PI * 2);
      ctx.fill();
    } else if (pts.length > 1) {
      traceStroke(pts, s.x, s.y);
      if (lw > 0) ctx.stroke();
    }
  } else if (s.kind === 'rect' || s.kind === 'ellipse') {
    const x = Math.min(s.x, s.x + s.w), y = Math.min(s.y, s.y + s.h);
    const w = Math.abs(s.w), h = Math.abs(s.h);
    ctx.beginPath();
    if (s.kind === 'rect') ctx.rect(x, y, w, h);
    else ctx.ellipse(x + w / 2, y + h / 2, w / 2, h / 2, 0, 0, Math.PI * 2);
    if (s.fill && s.fill !== 'none') { ctx.fillStyle = s.fill; ctx.fill(); }
    if (lw > 0 && s.color !== 'none') ctx.stroke();
  } else if (s.kind === 'text') {
    ctx.font = fontFor(s);
    ctx.textBaseline = 'top';
    ctx.fillStyle = s.color;
    const lines = String(s.text).split('\n');
    const lh = (14 + 4 * lw) * 1.2;
    lines.forEach((line, i) => ctx.fillText(line, s.x, s.y + i * lh));
  }
  ctx.restore();
}

// A shape's bounding box {x, y, w, h} in canvas coordinates.
function bounds(s) {
  if (s.kind === 'stroke') {
    if (!s.points.length) return { x: s.x, y: s.y, w: 0, h: 0 };
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const [x, y] of s.points) { x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); }
    const m = s.width / 2;
    return { x: x0 + s.x - m, y: y0 + s.y - m, w: x1 - x0 + 2 * m, h: y1 - y0 + 2 * m };
  }
  if (s.kind === 'text') {
    ctx.save();
    ctx.font = fontFor(s);
    const lines = String(s.text).split('\n');
    const w = Math.max(...lines.map((l) => ctx.measureText(l).width), 4);
    ctx.restore();
    const lh = (14 + 4 * s.width) * 1.2;
    return { x: s.x, y: s.y, w, h: lh * lines.length };
  }
  const m = s.width / 2;
  return { x: Math.min(s.x, s.x + s.w) - m, y: Math.min(s.y, s.y + s.h) - m, w: Math.abs(s.w) + 2 * m, h: Math.abs(s.h) + 2 * m };
}

function segmentDistance(px, py, ax, ay, bx, by) {
  const dx = bx - ax, dy = by - ay;
  const len2 = dx * dx + dy * dy;
  let t = len2 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
  t = Math.max(0, Math.min(1, t));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}
function hits(s, px, py) {
  const slack = 4;
  const b = bounds(s);
  if (px < b.x - slack || py < b.y - slack || px > b.x + b.w + slack || py > b.y + b.h + slack) return false;
  if (s.kind === 'stroke') {
    const r = Math.max(s.width / 2, 2) + slack;
    const pts = s.points;
    if (pts.length === 1) return Math.hypot(px - pts[0][0] - s.x, py - pts[0][1] - s.y) <= r;
    for (let i = 1; i < pts.length; i++) {
      if (segmentDistance(px - s.x, py - s.y, pts[i - 1][0], pts[i - 1][1], pts[i][0], pts[i][1]) <= r) return true;
    }
    return false;
  }
  if (s.kind === 'ellipse') {
    const rx = b.w / 2 + slack, ry = b.h / 2 + slack;
    const dx = px - (b.x + b.w / 2), dy = py - (b.y + b.h / 2);
    return (dx * dx) / (rx * rx) + (dy * dy) / (ry * ry) <= 1;
  }
  return true;   // rect, text: the box
}
function shapeAt(px, py) {
  const list = sortedShapes();
  for (let i = list.length - 1; i >= 0; i--) if (hits(list[i], px, py)) return list[i];
  return null;
}

function render() {
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  gridPattern ||= makeGrid();
  ctx.fillStyle = gridPattern;
  ctx.fillRect(0, 0, cssW, cssH);

  for (const s0 of sortedShapes()) {
    let s = s0;
    if (drag && drag.id === s.id) s = { ...s, x: drag.x, y: drag.y };
    drawShape(s, drawing && drawing.id === s.id ? drawing.buf : null);
  }
  if (draft) drawShape(draft);

  const sel = selectedId && getView().get(selectedId);
  if (sel) {
    const s = drag && drag.id === sel.id ? { ...sel, x: drag.x, y: drag.y } : sel;
    const b = bounds(s);
    ctx.save();
    ctx.strokeStyle = '#6366f1';
    ctx.lineWidth = 1.25;
    ctx.setLineDash([5, 4]);
    ctx.strokeRect(b.x - 4, b.y - 4, b.w + 8, b.h + 8);
    ctx.restore();
  } else if (selectedId && !drag) {
    selectedId = null;   // it was deleted (by us or someone else)
  }
}

// ---------------------------------------------------------------------------------------------
// Tools and input.

let tool = 'pen';
let color = SWATCHES[0];
let width = WIDTHS[1];
let fillShapes = false;
let selectedId = null;
let drawing = null;   // {id, buf: [[x,y]...], last: [x,y], timer}
let draft = null;     // a rect/ellipse being dragged out (not sent yet)
let drag = null;      // {id, startX, startY, px, py, x, y, sentX, sentY, timer}
let activePointer = null;
const undoStack = [];

function canvasPoint(e) {
  const r = canvas.getBoundingClientRect();
  return [round(e.clientX - r.left), round(e.clientY - r.top)];
}

canvas.addEventListener('pointerdown', (e) => {
  if (activePointer !== null || (e.pointerType === 'mouse' && e.button !== 0)) return;
  if (!textEntry.hidden) { commitText(); return; }
  activePointer = e.pointerId;
  canvas.setPointerCapture(e.pointerId);
  const [x, y] = canvasPoint(e);
  if (tool === 'pen') {
    const id = newShapeId();
    drawing = { id, buf: [], last: [x, y], timer: setInterval(flushStroke, FLUSH_MS) };
    pushEdit({ add: { id, kind: 'stroke', z: topZ + 1, width, color, points: [[x, y]] } });
  } else if (tool === 'rect' || tool === 'ellipse') {
    draft = { id: '', kind: tool, x, y, w: 0, h: 0, z: 0, width, color, fill: fillShapes ? color : 'none', text: '', ox: x, oy: y };
    requestRender();
  } else if (tool === 'text') {
    activePointer = null;
    e.preventDefault();   // no mousedown focus change: the text entry keeps the focus
    openText(x, y);
  } else if (tool === 'select') {
    const s = shapeAt(x, y);
    selectedId = s ? s.id : null;
    if (s) drag = { id: s.id, startX: s.x, startY: s.y, px: x, py: y, x: s.x, y: s.y, sentX: s.x, sentY: s.y, timer: setInterval(flushMove, MOVE_MS) };
    requestRender();
  } else if (tool === 'delete') {
    const s = shapeAt(x, y);
    if (s) deleteShape(s.id);
  }
});

canvas.addEventListener('pointermove', (e) => {
  const [x, y] = canvasPoint(e);
  sendCursor(x, y);
  if (e.pointerId !== activePointer) {
    if (tool === 'select' || tool === 'delete') document.body.classList.toggle('over-shape', !!shapeAt(x, y));
    return;
  }
  if (drawing) {
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
    for (const ev of events.length ? events : [e]) addStrokePoint(canvasPoint(ev));
  } else if (draft) {
    draft.x = Math.min(draft.ox, x); draft.y = Math.min(draft.oy, y);
    draft.w = Math.abs(x - draft.ox); draft.h = Math.abs(y - draft.oy);
    if (e.shiftKey) { const m = Math.max(draft.w, draft.h); draft.w = draft.h = m; draft.x = x < draft.ox ? draft.ox - m : draft.ox; draft.y = y < draft.oy ? draft.oy - m : draft.oy; }
    requestRender();
  } else if (drag) {
    drag.x = round(drag.startX + x - drag.px);
    drag.y = round(drag.startY + y - drag.py);
    requestRender();
  }
});

function endPointer(e) {
  if (e.pointerId !== activePointer) return;
  activePointer = null;
  if (drawing) {
    if (e.type === 'pointerup') addStrokePoint(canvasPoint(e));
    flushStroke();
    clearInterval(drawing.timer);
    undoStack.push({ type: 'create', id: drawing.id });
    drawing = null;
  } else if (draft) {
    const d = draft;
    draft = null;
    if (d.w >= 2 || d.h >= 2) {
      const id = newShapeId();
      pushEdit({ add: { id, kind: d.kind, x: round(d.x), y: round(d.y), w: round(d.w), h: round(d.h), z: topZ + 1, width, color: d.color, fill: d.fill } });
      undoStack.push({ type: 'create', id });
    }
    requestRender();
  } else if (drag) {
    clearInterval(drag.timer);
    flushMove();
    const d = drag;
    drag = null;
    if (d.x !== d.startX || d.y !== d.startY) undoStack.push({ type: 'move', id: d.id, x: d.startX, y: d.startY });
    requestRender();
  }
}
canvas.addEventListener('pointerup', endPointer);
canvas.addEventListener('pointercancel', endPointer);
canvas.addEventListener('pointerleave', (e) => { if (e.pointerId !== activePointer) sendCursor(null, null); });
window.addEventListener('blur', () => sendCursor(null, null));

function addStrokePoint(p) {
  const last = drawing.last;
  if (Math.hypot(p[0] - last[0], p[1] - last[1]) < MIN_STEP) return;
  drawing.buf.push(p);
  drawing.last = p;
  requestRender();
}
function flushStroke() {
  if (!drawing || !drawing.buf.length) return;
  const points = drawing.buf;
  drawing.buf = [];
  for (let i = 0; i < points.length; i += MAX_POINTS_PER_EDIT) {
    pushEdit({ append: { id: drawing.id, points: points.slice(i, i + MAX_POINTS_PER_EDIT) } });
  }
}
function flushMove() {
  if (!drag || (drag.x === drag.sentX && drag.y === drag.sentY)) return;
  drag.sentX = drag.x; drag.sentY = drag.y;
  pushEdit({ update: { id: drag.id, x: drag.x, y: drag.y } });
}

function deleteShape(id) {
  const s = getView().get(id);
  if (!s) return;
  pushEdit({ delete: id });
  undoStack.push({ type: 'delete', shape: s });
  if (selectedId === id) selectedId = null;
}

function undo() {
  const v = getView();
  while (undoStack.length) {
    const u = undoStack.pop();
    if (u.type === 'create') {
      if (!v.has(u.id)) continue;   // already gone: nothing to undo, try the one before
      pushEdit({ delete: u.id });
      if (selectedId === u.id) selectedId = null;
    } else if (u.type === 'move') {
      if (!v.has(u.id)) continue;
      pushEdit({ update: { id: u.id, x: u.x, y: u.y } });
    } else if (u.type === 'delete') {
      // A deleted id can never come back: re-add a copy under a new id.
      const s = u.shape;
      const id = newShapeId();
      const add = { id, kind: s.kind };
      for (const p of PROPS) if (s[p] !== DEFAULTS[p]) add[p] = s[p];
      if (s.kind === 'stroke') {
        add.points = s.points.slice(0, MAX_POINTS_PER_EDIT);
        pushEdit({ add });
        for (let i = MAX_POINTS_PER_EDIT; i < s.points.length; i += MAX_POINTS_PER_EDIT) {
          pushEdit({ append: { id, points: s.points.slice(i, i + MAX_POINTS_PER_EDIT) } });
        }
      } else {
        pushEdit({ add });
      }
      for (const o of undoStack) if (o.id === s.id) o.id = id;   // older entries follow the copy
    }
    return true;
  }
  return false;
}

// Text entry: an <input> placed where the text will be drawn.
const textEntry = $('#text-entry');
let textAt = null;
function openText(x, y) {
  textAt = { x, y, width, color };
  textEntry.value = '';
  textEntry.style.left = `${x}px`;
  textEntry.style.top = `${y}px`;
  textEntry.style.fontSize = `${14 + 4 * width}px`;
  textEntry.style.height = `${(14 + 4 * width) * 1.2}px`;
  textEntry.style.color = color;
  textEntry.hidden = false;
  textEntry.focus();
  setTimeout(() => { if (!textEntry.hidden) textEntry.focus(); }, 0);
}
function commitText() {
  if (textEntry.hidden) return;
  const text = textEntry.value;
  textEntry.hidden = true;
  if (!textAt || !text.trim()) { textAt = null; return; }
  let bytes = new TextEncoder().encode(text);
  const clipped = bytes.length > 4096 ? new TextDecoder().decode(bytes.slice(0, 4096)).replace(/\uFFFD$/, '') : text;
  const id = newShapeId();
  pushEdit({ add: { id, kind: 'text', x: textAt.x, y: textAt.y, z: topZ + 1, width: textAt.width, color: textAt.color, text: clipped } });
  undoStack.push({ type: 'create', id });
  textAt = null;
}
textEntry.addEventListener('keydown', (e) => {
  e.stopPropagation();
  if (e.key === 'Enter') { e.preventDefault(); commitText(); }
  else if (e.key === 'Escape') { textEntry.hidden = true; textAt = null; }
});
textEntry.addEventListener('blur', commitText);

// Presence: our cursor (throttled), the others' cursors as DOM arrows with name tags.
let lastCursor = null;
let cursorSentAt = 0;
let cursorTimer = 0;
function sendCursor(x, y) {
  lastCursor = x === null ? null : { x, y };
  const now = performance.now();
  const wait = cursorSentAt + CURSOR_MS - now;
  if (wait > 0) {
    if (!cursorTimer) cursorTimer = setTimeout(() => { cursorTimer = 0; flushCursor(); }, wait);
    return;
  }
  flushCursor();
}
function flushCursor() {
  cursorSentAt = performance.now();
  if (!online) return;
  send(lastCursor ? { t: 'cursor', x: lastCursor.x, y: lastCursor.y } : { t: 'cursor', x: null, y: null });
}

const cursorLayer = $('#cursors');
const cursorEls = new Map();
const ARROW = '<svg viewBox="0 0 18 18"><path d="M2 1.5l13 7.2-5.8 1.3-2.9 5.5z"/></svg>';
function renderCursors() {
  const seen = new Set();
  for (const p of peers) {
    if (!p || p.id === undefined) continue;
    seen.add(p.id);
    let el = cursorEls.get(p.id);
    if (!el) {
      el = document.createElement('div');
      el.className = 'cursor';
      el.innerHTML = ARROW + '<span></span>';
      cursorLayer.appendChild(el);
      cursorEls.set(p.id, el);
    }
    el.style.setProperty('--c', /^#[0-9a-f]{6}$/i.test(p.color || '') ? p.color : '#555');
    el.querySelector('span').textContent = String(p.name ?? '');
    const visible = typeof p.x === 'number' && typeof p.y === 'number';
    el.style.display = visible ? '' : 'none';
    if (visible) el.style.transform = `translate(${p.x - 2}px, ${p.y - 1}px)`;
  }
  for (const [id, el] of cursorEls) if (!seen.has(id)) { el.remove(); cursorEls.delete(id); }
}

// ---------------------------------------------------------------------------------------------
// Toolbar, keyboard, status.

const toolButtons = [...document.querySelectorAll('#tools button[data-tool]')];
function setTool(t) {
  if (!toolButtons.some((b) => b.dataset.tool === t)) return;
  commitText();
  tool = t;
  document.body.dataset.activeTool = t;
  document.body.classList.remove('over-shape');
  for (const b of toolButtons) b.setAttribute('aria-pressed', String(b.dataset.tool === t));
  if (t !== 'select') { selectedId = null; requestRender(); }
}
for (const b of toolButtons) b.addEventListener('click', () => setTool(b.dataset.tool));

const colorsGroup = $('#colors');
const colorInput = $('#color-input');
for (const c of SWATCHES) {
  const b = document.createElement('button');
  b.className = 'swatch';
  b.dataset.color = c;
  b.title = c;
  b.setAttribute('aria-label', `colour ${c}`);
  b.style.setProperty('--c', c);
  b.addEventListener('click', () => setColor(c));
  colorsGroup.insertBefore(b, colorInput);
}
colorInput.addEventListener('input', () => setColor(colorInput.value));
function setColor(c) {
  if (!/^#[0-9a-f]{6}$/i.test(c)) return;
  color = c.toLowerCase();
  let matched = false;
  for (const b of colorsGroup.querySelectorAll('.swatch')) {
    const on = b.dataset.color === color;
    matched ||= on;
    b.setAttribute('aria-pressed', String(on));
  }
  colorInput.classList.toggle('custom', !matched);
  if (colorInput.value !== color) colorInput.value = color;
  document.documentElement.style.setProperty('--current', color);
  $('#widths').style.color = color === '#ffffff' ? '#9ca3af' : color;
  // Recolour the selection (an update, undoable as a move is not: keep it simple, no undo entry).
  if (selectedId && tool === 'select' && getView().has(selectedId)) pushEdit({ update: { id: selectedId, color } });
}

const widthsGroup = $('#widths');
for (const w of WIDTHS) {
  const b = document.createElement('button');
  b.dataset.width = String(w);
  b.title = `Width ${w}`;
  b.setAttribute('aria-label', `width ${w}`);
  const dot = document.createElement('span');
  dot.className = 'width-dot';
  const d = Math.min(3 + w, 18);
  dot.style.width = dot.style.height = `${d}px`;
  b.appendChild(dot);
  b.addEventListener('click', () => setWidth(w));
  widthsGroup.appendChild(b);
}
function setWidth(w) {
  width = w;
  for (const b of widthsGroup.querySelectorAll('button')) b.setAttribute('aria-pressed', String(Number(b.dataset.width) === w));
}
const fillButton = $('#fill-toggle');
fillButton.addEventListener('click', () => { fillShapes = !fillShapes; fillButton.setAttribute('aria-pressed', String(fillShapes)); });
$('#undo').addEventListener('click', () => undo());

const nameInput = $('#name-input');
nameInput.value = myName;
$('#me-dot').style.setProperty('--me', myColor);
function commitName() {
  const n = clampName(nameInput.value);
  if (!n) { nameInput.value = myName; return; }
  nameInput.value = n;
  if (n === myName) return;
  myName = n;
  storageSet(localStorage, 'zinc-canvas-name', myName);
  reconnectNow();
}
nameInput.addEventListener('change', commitName);
nameInput.addEventListener('keydown', (e) => {
  e.stopPropagation();
  if (e.key === 'Enter' || e.key === 'Escape') { if (e.key === 'Escape') nameInput.value = myName; nameInput.blur(); }
});

window.addEventListener('keydown', (e) => {
  if (e.target instanceof HTMLInputElement && e.target.type === 'text') return;
  const mod = e.ctrlKey || e.metaKey;
  if (mod && !e.shiftKey && (e.key === 'z' || e.key === 'Z')) { e.preventDefault(); undo(); return; }
  if (mod || e.altKey) return;
  if ((e.key === 'Delete' || e.key === 'Backspace') && selectedId) { e.preventDefault(); deleteShape(selectedId); requestRender(); return; }
  if (e.key === 'Escape') { selectedId = null; requestRender(); return; }
  const keys = { p: 'pen', r: 'rect', e: 'ellipse', t: 'text', v: 'select', d: 'delete' };
  const k = e.key.toLowerCase();
  if (keys[k]) setTool(keys[k]);
  else if (k === 'f') fillButton.click();
});

const statusBox = $('#status');
const statusText = $('#status-text');
let statusString = '';
function updateStatus() {
  let state, text;
  if (refused) {
    state = 'offline';
    text = `refused — ${refused}`;
  } else if (online) {
    state = 'online';
    const n = peers.length + 1;
    text = `online · ${n} participant${n === 1 ? '' : 's'}${readOnly ? ' · read-only' : ''}`;
  } else if (ws) {
    state = 'connecting';
    text = 'connecting…';
  } else {
    state = 'offline';
    const secs = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
    text = `offline — reconnecting in ${secs}s`;
  }
  if (pending.length) text += ` · ${pending.length} pending`;
  statusBox.dataset.state = state;
  if (text !== statusString) { statusString = text; statusText.textContent = text; }
}
setInterval(() => { if (!online) updateStatus(); }, 250);

let toastTimer = 0;
function toast(msg) {
  const el = $('#toast');
  el.textContent = msg;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 3500);
}

// ---------------------------------------------------------------------------------------------
// Test hook (tests/browser/canvas_test.mjs) and start.

function plain(s) {
  const o = { id: s.id, kind: s.kind };
  for (const p of PROPS) o[p] = s[p];
  if (s.kind === 'stroke') o.points = s.points.map((p) => [p[0], p[1]]);
  return o;
}
window.zincCanvas = {
  state() {
    return {
      connected: online,
      status: statusString,
      participants: online ? peers.length + 1 : 0,
      shapes: sortedShapes().map(plain),
      pending: pending.length,
      tabId,
      id: participantId,
      name: myName,
      color: myColor,
    };
  },
  peers() { return peers.map((p) => ({ ...p })); },
  confirmed() { return [...confirmed.values()].sort(byRenderOrder).map(plain); },
  setTool, setColor, setWidth, undo,
  select(id) { selectedId = getView().has(id) ? id : null; requestRender(); return selectedId; },
};

window.addEventListener('resize', resize);
setTool('pen');
setColor(SWATCHES[0]);
setWidth(WIDTHS[1]);
resize();
connect();
