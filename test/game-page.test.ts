// The game server's page in a real browser: headless Chromium (Debian's package) through
// puppeteer-core plays one game in two tabs and saves a screenshot.
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Page } from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript example
import { startGameServer } from '../examples/game-server/game-server.js';

const INSTALL = 'apt-get update && apt-get install -y chromium (Debian/Ubuntu; .ci/run does it)';
const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const missing = chromium === undefined ? `skipped: chromium is not installed; ${INSTALL}` : undefined;

// Expressions as strings: a function would be serialized after the test runner transformed it.
const statusOf = (page: Page) => page.evaluate(`document.getElementById('status').textContent`);
// A page acts only in front: a background tab gets no animation frames, which clicks wait for.
async function click(page: Page, selector: string) {
  await page.bringToFront();
  await page.click(selector);
}
const until = (page: Page, text: string) =>
  page.waitForFunction(`document.getElementById('status').textContent.includes(${JSON.stringify(text)})`, { timeout: 10_000, polling: 50 });
const cells = (page: Page, player: number) => page.evaluate(`[...document.querySelectorAll('.cell.p${player}')].map((c) => c.id).sort()`);

(missing === undefined ? describe : describe.skip)(missing ?? 'examples/game-server page', () => {
  it('two browser tabs play a game to the end; the page shows the result and the live figures', async () => {
    const server = await startGameServer({ workers: 2 });
    const browser = await puppeteer.launch({
      executablePath: chromium,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-renderer-backgrounding',
        '--disable-background-timer-throttling',
        '--disable-backgrounding-occluded-windows',
      ],
      protocolTimeout: 20_000,
    });
    try {
      const [red, yellow] = [await browser.newPage(), await browser.newPage()];
      for (const page of [red, yellow]) {
        await page.goto(server.url, { timeout: 10_000 });
        await until(page, 'connected:');
        await page.bringToFront();
        await page.type('#name', 'in-the-browser');
        await click(page, '#join');
        await page.waitForFunction(`!document.getElementById('status').textContent.includes('press Join')`, { timeout: 10_000, polling: 50 });
      }
      await until(yellow, "opponent's turn");
      // Red stacks column 0, yellow column 1: red wins on its fourth move.
      for (let i = 0; i < 4; i++) {
        await until(red, 'your turn');
        await click(red, '#cell-5-0');
        if (i === 3) break;
        await until(yellow, 'your turn');
        await click(yellow, '#cell-5-1');
      }
      await until(red, 'game over');
      expect(await statusOf(red)).toBe('game over: you win');
      await until(yellow, 'game over');
      expect(await statusOf(yellow)).toBe('game over: you lose');
      expect(await cells(red, 1)).toEqual(['cell-0-0', 'cell-1-0', 'cell-2-0', 'cell-3-0']);
      expect(await cells(yellow, 2)).toEqual(['cell-0-1', 'cell-1-1', 'cell-2-1']);
      // The analytics stage's figures reach the page (refreshed every second).
      await red.waitForFunction(`document.getElementById('fig-started')?.textContent === '1'`, { timeout: 10_000, polling: 100 });
      const shot = join(mkdtempSync(join(tmpdir(), 'game-page-')), 'game.png');
      await red.screenshot({ path: shot });
      expect(statSync(shot).size).toBeGreaterThan(1000);
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
