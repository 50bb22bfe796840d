import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Routes, type REST } from 'discord.js';
import { jobFailedEmbed } from '../../src/discord/embeds/index.ts';
import { createOutboxRest, Outbox } from '../../src/discord/outbox/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { SandboxServer, type MessageView, type SandboxAddress } from '../../src/sandbox/index.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { eventsCarried } from '../helpers/embed-checks.ts';

// The Outbox's spool in a SQLite file, across Outbox instances on the same file (a restart), with
// the real discord.js REST client against the sandbox.

let dir: string;
let sandbox: SandboxServer;
let address: SandboxAddress;
let channel: string;
const rests: REST[] = [];
const stores: Store[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'zmq-notify-spool-'));
  sandbox = new SandboxServer({ channels: [{ name: 'alerts' }], logger: createLogger({ level: 'silent' }) });
  address = await sandbox.start();
  channel = sandbox.channelId('alerts');
});

afterEach(async () => {
  for (const rest of rests.splice(0)) {
    rest.clearHashSweeper();
    rest.clearHandlerSweeper();
  }
  for (const store of stores.splice(0)) store.close();
  await sandbox.stop();
  rmSync(dir, { recursive: true, force: true });
});

function open(paused = false, perChannelPending?: number): { outbox: Outbox; store: Store; metrics: Metrics } {
  const store = openStore({ path: 'spool.db', baseDir: dir });
  stores.push(store);
  const rest = createOutboxRest(address.apiUrl).setToken(address.token);
  rests.push(rest);
  const metrics = new Metrics({ defaultMetrics: false });
  const outbox = new Outbox({ rest, metrics, logger: createLogger({ level: 'silent' }), store, paused, ...(perChannelPending === undefined ? {} : { perChannelPending }) });
  return { outbox, store, metrics };
}

function failure(i: number): { embed: ReturnType<typeof jobFailedEmbed>; topic: string; label: string; receivedAt: number } {
  const receivedAt = Date.now();
  return { embed: jobFailedEmbed({ topic: 'job.failed', data: { job_id: `spool-${i}`, job_name: `etl-${i}`, error: 'boom' }, meta: { receivedAt, seq: i, src: 's' } }), topic: 'job.failed', label: `etl-${i}`, receivedAt };
}

const messages = async (): Promise<MessageView[]> => (await fetch(`${address.url}/sandbox/messages?channel_id=${channel}`)).json() as Promise<MessageView[]>;

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const rows = (store: Store): number => store.get<{ n: number }>('SELECT COUNT(*) AS n FROM outbox_spool')!.n;

describe('Outbox spool (SQLite file)', () => {
  it('an accepted event is in the file before post() returns; it is deleted once Discord has its message', async () => {
    const { outbox, store } = open(true);
    for (let i = 0; i < 3; i++) outbox.post(channel, failure(i));
    // Visible to another connection as soon as the turn's batch is committed.
    await outbox.stored();
    const other = openStore({ path: 'spool.db', baseDir: dir });
    stores.push(other);
    expect(rows(other)).toBe(3);
    outbox.resume();
    await waitFor(async () => eventsCarried(await messages()) === 3);
    await waitFor(() => rows(store) === 0);
    expect((await outbox.drain(1000)).drained).toBe(true);
  });

  it('a restart sends what the last run left, once; a message that had landed (same nonce) is not posted again', async () => {
    const first = open(true);
    for (let i = 0; i < 4; i++) first.outbox.post(channel, failure(i));
    // Shut down before sending anything: the four stay in the file.
    expect(await first.outbox.drain(0)).toEqual({ drained: false, left: 4, kept: 4, abandoned: 0 });
    // As if the last run had sent events 0 and 1 in one message whose answer never came back: the
    // message is in Discord, and their rows carry its nonce.
    const landed = (await rests[0]!.post(Routes.channelMessages(channel), { body: { embeds: [failure(0).embed, failure(1).embed], nonce: 'landed-before-crash', enforce_nonce: true } })) as { id: string };
    first.store.run("UPDATE outbox_spool SET nonce = 'landed-before-crash' WHERE id IN (SELECT id FROM outbox_spool ORDER BY id LIMIT 2)");
    first.store.close();
    stores.splice(stores.indexOf(first.store), 1);

    const second = open();
    await waitFor(async () => rows(second.store) === 0);
    const all = await messages();
    // The landed message is the only one carrying 0 and 1; 2 and 3 came in one new message.
    expect(all.map((m) => m.id)).toContain(landed.id);
    expect(all).toHaveLength(2);
    expect(eventsCarried(all)).toBe(4);
    expect(await second.metrics.value(second.metrics.eventsPosted)).toBe(4);
    expect(await second.metrics.value(second.metrics.eventsUndeliverable)).toBe(0);
  });

  it('a flood while nothing can be sent stays bounded in the file: 10 events in full, the rest counted per digest bucket; a restart delivers every one', async () => {
    const first = open(true, 10);
    for (let i = 0; i < 2000; i++) first.outbox.post(channel, { ...failure(i), label: `etl-${i % 50}` });
    await first.outbox.drain(0);
    expect(rows(first.store)).toBe(10);
    const buckets = first.store.get<{ n: number; events: number }>('SELECT COUNT(*) AS n, SUM(count) AS events FROM outbox_folded')!;
    // One topic; ten labels by name and the rest together: at most 11 rows, however many events.
    expect(buckets.n).toBeLessThanOrEqual(11);
    expect(buckets.events).toBe(1990);
    const second = open(false, 10);
    await waitFor(async () => eventsCarried(await messages()) === 2000);
    expect(await second.metrics.value(second.metrics.eventsPosted)).toBe(2000);
    await waitFor(() => rows(second.store) === 0 && second.store.get<{ n: number }>('SELECT COUNT(*) AS n FROM outbox_folded')!.n === 0);
  });

  it('bad input in the file (one embed that is not JSON): the other events go out in full, the damaged one is still counted in a digest', async () => {
    const first = open(true);
    for (let i = 0; i < 3; i++) first.outbox.post(channel, failure(i));
    await first.outbox.drain(0);
    first.store.run("UPDATE outbox_spool SET embed = '{not json' WHERE id = (SELECT MIN(id) FROM outbox_spool)");
    const second = open();
    await waitFor(async () => eventsCarried(await messages()) === 3);
    const titles = (await messages()).flatMap((m) => m.embeds.map((e) => e.title ?? ''));
    expect(titles.filter((t) => t.startsWith('❌ Job failed'))).toHaveLength(2);
    expect(titles.some((t) => /digest/i.test(t))).toBe(true);
    expect(await second.metrics.value(second.metrics.eventsUndeliverable)).toBe(0);
  });
});
