import type { Client } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../helpers/browser.ts';
import { connectClient, startSandbox, textChannel, type StartedSandbox } from '../helpers/sandbox.ts';

let started: StartedSandbox;
let client: Client<true>;

beforeAll(async () => {
  started = await startSandbox({ guild: { name: 'ops' }, channels: [{ name: 'job-failed' }, { name: 'job-executed' }] });
  client = await connectClient(started.address);
});

afterAll(async () => {
  await client?.destroy();
  await started?.sandbox.stop();
});

/** Reads the live feed until `predicate` matches an event's data, or fails after `timeoutMs`. */
async function waitForEvent(url: string, predicate: (event: string, data: string) => boolean, timeoutMs = 5000): Promise<{ event: string; data: string }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const res = await fetch(url, { signal: controller.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the live feed ended');
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(frame)?.[1] ?? 'message';
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (data !== undefined && predicate(event, data)) return { event, data };
      }
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

describe('sandbox preview page', () => {
  it('is served self-contained (no external URL in it, its script and styles from the sandbox itself) under a CSP that allows no inline script, and its live feed carries a posted embed', async () => {
    const res = await fetch(`${started.address.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await res.text();
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|nonce-/);
    expect(html).toContain('<script type="module" src="/page/app.js"></script>');
    expect(html).toContain('<link rel="stylesheet" href="/page/style.css">');
    expect(html).not.toMatch(/<script>|<style>/);
    for (const [path, type] of [['/page/app.js', 'text/javascript; charset=utf-8'], ['/page/style.css', 'text/css; charset=utf-8']] as const) {
      const asset = await fetch(`${started.address.url}${path}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toBe(type);
      expect(asset.headers.get('x-content-type-options')).toBe('nosniff');
      const text = await asset.text();
      expect(text).not.toMatch(/(src|href)=["']?https?:|@import|url\(/);
    }
    expect(html).not.toMatch(/(src|href)="https?:/);
    // Only the page's own files: not the page's tsconfig beside them, nothing outside the folder.
    for (const path of ['/page/tsconfig.json', '/page/index.html', '/page/../page.ts', '/page/app.js/x']) {
      expect((await fetch(`${started.address.url}${path}`)).status, path).toBe(404);
    }

    const feed = waitForEvent(`${started.address.url}/sandbox/events`, (event, data) => event === 'message' && data.includes('Disk full on db-1'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await textChannel(client, started.sandbox, 'job-failed').send({ embeds: [{ title: 'Disk full on db-1', color: 0xed4245 }] });
    const { data } = await feed;
    expect(JSON.parse(data)).toMatchObject({ channel_name: 'job-failed', embeds: [{ title: 'Disk full on db-1' }] });
  });

  it('in a real browser: shows a posted embed live, escaping hostile text', async () => {
    const browser = await launchBrowser({ viewport: { width: 1100, height: 760 } });
    try {
      const page = browser.page;
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      page.on('console', (msg) => {
        if (msg.type() === 'error') errors.push(msg.text());
      });
      const channelId = started.sandbox.channelId('job-failed');
      await page.goto(`${started.address.url}/#${channelId}`);
      await page.waitForSelector('#status.live', { timeout: 10_000 });

      const state = started.sandbox.state();
      const oncall = state.roles.find((r) => r.name === 'oncall')!.id;
      await textChannel(client, started.sandbox, 'job-failed').send({
        content: `<@&${oncall}> **nightly-backup** failed`,
        allowedMentions: { roles: [oncall] },
        embeds: [
          {
            title: 'Job failed: nightly-backup',
            description: 'Exit code **3** after 41 s.\n```\nTraceback (most recent call last):\n  File "backup.py", line 12, in <module>\nOSError: [Errno 28] No space left on device\n```',
            color: 0xed4245,
            fields: [
              { name: 'Job', value: '`nightly-backup`', inline: true },
              { name: 'Retries', value: '2 of 3', inline: true },
              { name: 'Host', value: 'db-1', inline: true },
              { name: 'Error', value: '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>' },
            ],
            footer: { text: 'scheduler-a' },
            timestamp: new Date().toISOString(),
          },
        ],
      });
      await page.waitForSelector('text=Job failed: nightly-backup', { timeout: 5000 });
      // Hostile field text is shown as text, never run.
      const hostile = page.locator('.embed-field-value').last();
      expect(await hostile.textContent()).toBe('<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>');
      expect(await page.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned)).toBeUndefined();
      expect(await page.locator('.embed img').count()).toBe(0);
      // The test runs in Node (no DOM lib); the callback runs in the page, where getComputedStyle exists.
      const bar = await page.locator('.embed').first().evaluate((e) => (globalThis as unknown as { getComputedStyle(el: unknown): { borderLeftColor: string } }).getComputedStyle(e).borderLeftColor);
      expect(bar).toBe('rgb(237, 66, 69)');
      expect(await page.locator('.embed-field-name').allTextContents()).toEqual(['Job', 'Retries', 'Host', 'Error']);
      expect(await page.locator('.embed-footer').first().textContent()).toContain('scheduler-a');
      expect(await page.locator('.pings').first().textContent()).toContain('@oncall');
      await page.screenshot({ path: '/tmp/scratch/sandbox-page.png' });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
