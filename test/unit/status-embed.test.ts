import { describe, expect, it } from 'vitest';
import { statusEmbed, type StatusSnapshot } from '../../src/discord/commands/status.ts';
import { Colors } from '../../src/discord/embeds/colors.ts';
import { embedProblems } from '../helpers/embed-checks.ts';

function snapshot(overrides: Partial<StatusSnapshot> = {}): StatusSnapshot {
  return {
    listener: { state: 'running', endpoints: ['tcp://a:1', 'tcp://b:2'], connected: ['tcp://a:1'], topics: ['job.'], restarts: 0, problems: [] },
    counts: { received: 12_345, dispatched: 12_000, queued: 300, dropped: { overflow: 40, malformed: 5, shutdown: 0, total: 45 }, lost: 7, unsequencedPublishers: 0, handlerErrors: 2 },
    queue: { capacity: 10_000, inFlight: 3 },
    handlers: [{ module: 'failure-alerts', prefix: 'job.failed', name: 'failure-alerts:job.failed' }],
    publishers: [{ src: 'sched', lossDetection: true, lastSeq: 99, lastEventAgeSeconds: 1.5, received: 99, lost: 7, beforeConnect: 0, gaps: 1, restarts: 2 }],
    lastEventAgeSeconds: 1.5,
    outbox: {
      pending: 7,
      channels: {
        '111': { pending: 4, undeliverable: {}, state: 'ok' },
        '222': { pending: 3, undeliverable: { expired: 2, rejected: 1 }, state: 'refused', since: 1_799_999_000_000, status: 403, error: 'Missing Access', nextAttemptAt: 1_800_000_000_000 },
      },
    },
    uptimeSeconds: 3_700,
    ...overrides,
  };
}

function field(name: string, s: StatusSnapshot): string {
  return statusEmbed(s).fields?.find((f) => f.name.startsWith(name))?.value ?? '';
}

describe('statusEmbed', () => {
  it('shows each endpoint connected or not, the counts with drops by reason, and the Outbox per channel: pending, undeliverable by reason, and a refused channel', () => {
    const s = snapshot();
    expect(field('Listener', s)).toBe('**running** · 1/2 endpoints connected\n🟢 `tcp://a:1` connected\n🔴 `tcp://b:2` not connected');
    expect(field('Events', s)).toBe(
      'received 12,345 · dispatched 12,000 · queued 300\ndropped 45 (overflow 40, malformed 5)\nlost in transit (sequence gaps) 7 · handler errors 2',
    );
    expect(field('Queue', s)).toBe('300 / 10,000 · 3 in flight');
    expect(field('Publishers', s)).toBe('`sched` seq 99 · 1.50 s ago · lost 7 · restarted 2×');
    expect(field('Outbox', s)).toBe(
      '7 pending\n<#111> 4 pending · 0 undeliverable\n<#222> 3 pending · 3 undeliverable (expired 2, rejected 1) · ⚠️ refused: 403 since <t:1799999000:R>, next try <t:1800000000:R>',
    );
    expect(field('Uptime', s)).toBe('1 h 01 min');
    expect(statusEmbed(s).color).toBe(Colors.success);
  });

  it('says how many events a publisher sent before we connected, apart from lost (first seq seen 41 → 40)', () => {
    const s = snapshot({ publishers: [{ src: 'sched', run: 'r1', lossDetection: true, lastSeq: 99, lastEventAgeSeconds: 1.5, received: 59, lost: 0, beforeConnect: 40, gaps: 0, restarts: 0 }] });
    expect(field('Publishers', s)).toBe('`sched` seq 99 · 1.50 s ago · lost 0 · 40 sent before we connected');
  });

  it('says how often /zmq_restart restarted the listener, once it has', () => {
    const s = snapshot({ listener: { state: 'running', endpoints: ['tcp://a:1'], connected: ['tcp://a:1'], topics: [], restarts: 2, problems: [] } });
    expect(field('Listener', s)).toBe('**running** · 1/1 endpoints connected · restarted 2× by /zmq_restart\n🟢 `tcp://a:1` connected');
  });

  it('a REP endpoint shows as not a PUB socket with what to do, and a publisher without sequence numbers as loss detection unavailable, never "lost 0"', () => {
    const problem = { endpoint: 'tcp://127.0.0.1:4243', problem: 'not_a_publisher' as const, message: 'tcp://127.0.0.1:4243 is not a ZeroMQ PUB socket: …5555…', detail: 'x', failures: 2, since: 0 };
    const s = snapshot({
      listener: { state: 'running', endpoints: ['tcp://127.0.0.1:4243', 'tcp://127.0.0.1:5555'], connected: ['tcp://127.0.0.1:5555'], topics: [], restarts: 0, problems: [problem] },
      counts: { received: 3, dispatched: 3, queued: 0, dropped: { overflow: 0, malformed: 0, shutdown: 0, total: 0 }, lost: 0, unsequencedPublishers: 1, handlerErrors: 0 },
      publishers: [{ src: 'scheduler-17960', lossDetection: false, lastSeq: null, lastEventAgeSeconds: 2, received: 3, lost: null, beforeConnect: 0, gaps: 0, restarts: 0 }],
    });
    expect(field('Listener', s)).toBe('**running** · 1/2 endpoints connected\n⛔ `tcp://127.0.0.1:4243` is not a PUB socket\n🟢 `tcp://127.0.0.1:5555` connected');
    expect(field('⛔ Not a publisher', s)).toBe(problem.message);
    expect(field('Events', s)).toContain('lost in transit: unknown for 1 publisher without sequence numbers (loss detection unavailable), 0 from the others');
    expect(field('Publishers', s)).toBe('`scheduler-17960` no sequence numbers (loss detection unavailable) · 2.00 s ago');
    expect(field('Publishers', s)).not.toContain('lost 0');
    expect(statusEmbed(s).color).toBe(Colors.warning);
  });

  it('is red when the listener is stopped and amber when running with no endpoint connected', () => {
    expect(statusEmbed(snapshot({ listener: { state: 'stopped', endpoints: ['tcp://a:1'], connected: [], topics: [], restarts: 0, problems: [] } })).color).toBe(Colors.failure);
    expect(statusEmbed(snapshot({ listener: { state: 'running', endpoints: ['tcp://a:1'], connected: [], topics: [], restarts: 0, problems: [] } })).color).toBe(Colors.warning);
  });

  it('lists at most 10 publishers and handlers, as many as fit, and counts the rest (300 publishers with 200-char ids, 25 handlers): a valid embed', () => {
    const publishers = Array.from({ length: 300 }, (_, i) => ({ src: `${'p'.repeat(200)}-${i}`, lossDetection: true, lastSeq: i, lastEventAgeSeconds: i, received: i, lost: 0, beforeConnect: 0, gaps: 0, restarts: 0 }));
    const handlers = Array.from({ length: 25 }, (_, i) => ({ module: `m${i}`, prefix: '', name: `m${i}:*` }));
    const embed = statusEmbed(snapshot({ publishers, handlers }));
    expect(embedProblems(embed)).toEqual([]);
    expect(embed.fields?.find((f) => f.name === 'Handlers (25)')?.value).toContain('… and 15 more');
    const listedPublishers = embed.fields?.find((f) => f.name === 'Publishers (300)')?.value ?? '';
    const shown = listedPublishers.split('\n').length - 1;
    expect(shown).toBeGreaterThan(0);
    expect(listedPublishers).toMatch(new RegExp(`\\n… and ${300 - shown} more$`));
  });

  it('shows no dropped breakdown and "none yet" before the first event', () => {
    const s = snapshot({ counts: { received: 0, dispatched: 0, queued: 0, dropped: { overflow: 0, malformed: 0, shutdown: 0, total: 0 }, lost: 0, unsequencedPublishers: 0, handlerErrors: 0 }, lastEventAgeSeconds: null, publishers: [] });
    expect(field('Events', s)).toContain('dropped 0\n');
    expect(field('Last event', s)).toBe('none yet');
    expect(field('Publishers', s)).toBe('none seen yet');
  });
});
