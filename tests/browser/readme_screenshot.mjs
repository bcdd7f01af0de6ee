#!/usr/bin/env node
// Makes the README's picture: two browser windows drawing together on a running gateway.
//   node tests/browser/readme_screenshot.mjs http://127.0.0.1:8080 docs/canvas-demo.png
import { chromium } from 'playwright-core';

const [url, out] = process.argv.slice(2);
if (!url || !out) {
  console.error('usage: readme_screenshot.mjs URL OUT.png');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
async function open(name, color) {
  const context = await browser.newContext({ viewport: { width: 640, height: 460 } });
  await context.addInitScript(([n, c]) => {
    localStorage.setItem('zinc-canvas-name', n);
    localStorage.setItem('zinc-canvas-color', c);
  }, [name, color]);
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => window.zincCanvas && window.zincCanvas.state().connected);
  return page;
}
async function draw(page, color, points) {
  await page.evaluate((c) => window.zincCanvas.setColor(c), color);
  await page.mouse.move(...points[0]);
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(p[0], p[1], { steps: 8 });
  await page.mouse.up();
}
const ada = await open('Ada', '#e53935');
const bob = await open('Bob', '#1e88e5');
const wave = (x0, y0, amp) => Array.from({ length: 13 }, (_, i) => [x0 + i * 28, y0 + Math.sin(i / 2) * amp]);
await draw(ada, '#e53935', wave(60, 170, 40));
await draw(bob, '#1e88e5', wave(90, 300, 55));
await draw(ada, '#43a047', [[430, 110], [520, 220], [590, 120]]);
await ada.mouse.move(330, 250);
await bob.mouse.move(470, 330);
await ada.waitForFunction(() => window.zincCanvas.state().shapes.length >= 3 &&
                                window.zincCanvas.peers().some((p) => p.x !== null));
await bob.waitForFunction(() => window.zincCanvas.state().shapes.length >= 3 &&
                                window.zincCanvas.peers().some((p) => p.x !== null));
const shots = [await ada.screenshot(), await bob.screenshot()].map((b) => b.toString('base64'));
const frame = await (await browser.newContext({ viewport: { width: 1310, height: 500 } })).newPage();
await frame.setContent(`<body style="margin:0;background:#e5e7eb;display:flex;gap:10px;padding:10px">
  ${shots.map((s, i) => `<figure style="margin:0;box-shadow:0 2px 8px #0003">
    <img src="data:image/png;base64,${s}" style="display:block"></figure>`).join('')}</body>`);
await frame.screenshot({ path: out, clip: { x: 0, y: 0, width: 1310, height: 480 } });
await browser.close();
console.log(`wrote ${out}`);
