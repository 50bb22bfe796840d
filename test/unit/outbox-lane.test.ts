import { describe, expect, it } from 'vitest';
import { ChannelLane, type LaneHost } from '../../src/discord/outbox/channel-lane.ts';
import type { MessageRequest } from '../../src/discord/outbox/delivery.ts';
import { DeliveryError, type DeliveryFailure } from '../../src/discord/outbox/errors.ts';
import { OutboxLedger } from '../../src/discord/outbox/ledger.ts';
import { Spool } from '../../src/discord/outbox/spool.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { openStore } from '../../src/store/index.ts';
import { captureLogger } from '../helpers/transport.ts';

const outage: DeliveryFailure = { kind: 'outage', reason: 'server_error', status: 502, message: 'Bad Gateway' };
const limited: DeliveryFailure = { kind: 'rate_limited', reason: 'server_error', status: 429, message: 'rate limited', retryAfterMs: 20 };

/** A lane over an in-memory spool whose deliveries fail as `answers` say (then succeed), recording every request. */
function lane(answers: (DeliveryFailure | 'ok')[]) {
  const requests: MessageRequest[] = [];
  const metrics = new Metrics({ defaultMetrics: false });
  const store = openStore({ path: ':memory:', baseDir: '/' });
  const { logger, lines } = captureLogger('debug');
  const host: LaneHost = {
    ledger: new OutboxLedger(metrics),
    logger,
    spool: new Spool(store),
    maxAgeMs: 60_000,
    deliver: async (request) => {
      requests.push(structuredClone(request));
      const answer = answers.shift() ?? 'ok';
      if (answer !== 'ok') throw new DeliveryError(answer);
      return { id: String(requests.length) };
    },
    now: () => Date.now(),
    sending: () => true,
    messageSent: () => undefined,
    rateLimited: () => undefined,
    emit: () => undefined,
  };
  const backoff = { baseMs: 1, maxMs: 2 };
  const channel = new ChannelLane('111', host, { capacity: 50, assumedLimit: { limit: 100, windowMs: 100 }, resetOffsetMs: 0, backoff: { outage: backoff, refused: backoff } });
  return { channel, requests, host, store, lines };
}

async function settle(host: LaneHost): Promise<void> {
  for (let i = 0; i < 400 && host.ledger.pending > 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('ChannelLane retries', () => {
  it('an outage retries the very same create, with the same nonce, until it goes through; nothing is given up', async () => {
    const { channel, requests, host, store } = lane([outage, outage, outage]);
    for (let i = 0; i < 3; i++) channel.post({ embed: { title: `e${i}` }, topic: 'job.failed', receivedAt: Date.now() });
    await settle(host);
    expect(host.ledger.pending).toBe(0);
    const creates = requests.filter((r) => r.operation === 'send');
    expect(creates.length).toBe(4);
    const nonces = new Set(creates.map((r) => (r.operation === 'send' ? r.nonce : undefined)));
    expect(nonces.size).toBe(1);
    expect([...nonces][0]).toMatch(/^[\w-]{1,25}$/);
    expect(store.get<{ n: number }>('SELECT COUNT(*) AS n FROM outbox_spool')!.n).toBe(0);
    await channel.stop();
  });

  it('a 429 waits as told and retries the same message; events arriving meanwhile go in the next one', async () => {
    const { channel, requests, host } = lane([limited]);
    channel.post({ embed: { title: 'first' }, topic: 'job.failed', receivedAt: Date.now() });
    // The first try has been answered 429 (the channel now waits 20 ms) when the second event comes.
    while (requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    channel.post({ embed: { title: 'second' }, topic: 'job.failed', receivedAt: Date.now() });
    await settle(host);
    const bodies = requests.map((r) => r.body.embeds?.map((e) => e.title));
    expect(bodies).toEqual([['first'], ['first'], ['second']]);
    await channel.stop();
  });

  it('a refusal that clears is reported once (error log) and its held alerts then go out', async () => {
    const refused: DeliveryFailure = { kind: 'channel', reason: 'forbidden', status: 403, code: 50001, message: 'Missing Access' };
    const { channel, host, lines } = lane([refused, refused, refused]);
    for (let i = 0; i < 2; i++) channel.post({ embed: { title: `e${i}` }, topic: 'job.failed', receivedAt: Date.now() });
    await settle(host);
    expect(host.ledger.pending).toBe(0);
    expect(lines().filter((l) => l.level === 50)).toHaveLength(1);
    expect(lines().some((l) => l.level === 30 && String(l.msg).includes('accepts messages again'))).toBe(true);
    await channel.stop();
  });
});
