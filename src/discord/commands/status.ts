import { MessageFlags, time, TimestampStyles, type APIEmbed, type APIEmbedField } from 'discord.js';
import type { AppStatus } from '../../app.ts';
import type { DropReason } from '../../observability/metrics.ts';
import type { ChannelReport } from '../outbox/index.ts';
import { Colors } from '../embeds/colors.ts';
import { formatDuration } from '../embeds/format.ts';
import { EmbedLimits, fitEmbed } from '../embeds/limits.ts';
import { formatCount, safeText } from '../embeds/text.ts';
import type { JobHandlerStatus } from '../../jobs/schedulezero-handler.ts';
import type { CommandDeps, SlashCommand } from './command.ts';

const dropReasons: readonly DropReason[] = ['overflow', 'malformed', 'shutdown'];
/** Publishers and handlers listed one per line, at most this many each; the rest are counted. */
const MAX_LISTED = 10;

/** Everything `/zmq_status` shows, taken at one moment. */
export interface StatusSnapshot {
  listener: AppStatus['listener'];
  /** Read from the registry /metrics serves, so both always agree. */
  counts: {
    received: number;
    dispatched: number;
    queued: number;
    dropped: Record<DropReason, number> & { total: number };
    lost: number;
    /** Publishers without sequence numbers (ScheduleZero's broker): `lost` cannot include theirs. */
    unsequencedPublishers: number;
    handlerErrors: number;
  };
  queue: { capacity: number; inFlight: number };
  handlers: AppStatus['handlers'];
  publishers: AppStatus['publishers'];
  lastEventAgeSeconds: number | null;
  /** Pending events in all, and each channel's pending and undeliverable events and availability. */
  outbox: { pending: number; channels: Record<string, ChannelReport> };
  uptimeSeconds: number;
  /** The ScheduleZero job handler, when `schedulezero:` is set. */
  jobs?: JobHandlerStatus;
}

/** Takes the status snapshot: counters from the metrics registry, the rest from the app and the Outbox. */
export async function statusSnapshot({ app, outbox, metrics, jobs }: CommandDeps): Promise<StatusSnapshot> {
  const stats = app.status();
  const dropped = { overflow: 0, malformed: 0, shutdown: 0, total: 0 };
  for (const reason of dropReasons) dropped[reason] = await metrics.value(metrics.eventsDropped, { reason });
  dropped.total = await metrics.value(metrics.eventsDropped);
  return {
    listener: stats.listener,
    counts: {
      received: await metrics.value(metrics.eventsReceived),
      dispatched: await metrics.value(metrics.eventsDispatched),
      queued: await metrics.value(metrics.queueDepth),
      dropped,
      lost: await metrics.value(metrics.eventsLost),
      unsequencedPublishers: stats.counts.unsequencedPublishers,
      handlerErrors: await metrics.value(metrics.handlerErrors),
    },
    queue: { capacity: stats.queue.capacity, inFlight: stats.inFlight },
    handlers: stats.handlers,
    publishers: stats.publishers,
    lastEventAgeSeconds: stats.lastEventAgeSeconds,
    outbox: { pending: outbox.pending(), channels: outbox.channels() },
    uptimeSeconds: stats.uptimeSeconds,
    ...(jobs?.handler ? { jobs: jobs.handler.status() } : {}),
  };
}

function value(text: string): string {
  return safeText(text, EmbedLimits.fieldValue) || '\u200b';
}

// One line per item while they fit in a field, so the count of the rest is never cut off.
function listed<T>(items: readonly T[], line: (item: T) => string, none: string): string {
  if (items.length === 0) return none;
  const room = EmbedLimits.fieldValue - 40;
  const lines: string[] = [];
  let length = 0;
  for (const item of items.slice(0, MAX_LISTED)) {
    const text = line(item);
    if (length + text.length + 1 > room) break;
    lines.push(text);
    length += text.length + 1;
  }
  if (items.length > lines.length) lines.push(`… and ${items.length - lines.length} more`);
  return lines.join('\n');
}

// Inline code for an identifier from the network or the config, cut by code points so no surrogate is split.
function code(text: string): string {
  return `\`${[...text.replaceAll('`', 'ˋ')].slice(0, 200).join('')}\``;
}

function ago(seconds: number | null): string {
  return seconds === null ? 'none yet' : `${formatDuration(seconds)} ago`;
}

// A channel's pending and undeliverable alerts, and why it cannot be posted to if it cannot.
function channelLine(id: string, c: ChannelReport): string {
  const lost = Object.entries(c.undeliverable);
  const total = lost.reduce((sum, [, n]) => sum + n, 0);
  const parts = [`<#${id}> ${formatCount(c.pending)} pending`, `${formatCount(total)} undeliverable${lost.length > 0 ? ` (${lost.map(([reason, n]) => `${reason} ${formatCount(n)}`).join(', ')})` : ''}`];
  if (c.state !== 'ok') {
    const why = c.state === 'refused' ? 'refused' : 'Discord down';
    parts.push(`⚠️ ${why}: ${c.status ?? ''} since ${time(Math.floor((c.since ?? 0) / 1000), TimestampStyles.RelativeTime)}, next try ${time(Math.ceil((c.nextAttemptAt ?? 0) / 1000), TimestampStyles.RelativeTime)}`);
  }
  return parts.join(' · ');
}

/** The `/zmq_status` embed for a snapshot. */
export function statusEmbed(s: StatusSnapshot): APIEmbed {
  const { listener, counts } = s;
  const connected = new Set(listener.connected);
  const problems = new Map(listener.problems.map((p) => [p.endpoint, p]));
  const healthy = listener.state === 'running' && connected.size > 0 && problems.size === 0;
  const color = listener.state !== 'running' ? Colors.failure : healthy ? Colors.success : Colors.warning;
  const endpoints = listener.endpoints
    .map((e) => (connected.has(e) ? `🟢 ${code(e)} connected` : problems.has(e) ? `⛔ ${code(e)} is not a PUB socket` : `🔴 ${code(e)} not connected`))
    .join('\n');
  const lost =
    counts.unsequencedPublishers === 0
      ? `lost in transit (sequence gaps) ${formatCount(counts.lost)}`
      : `lost in transit: unknown for ${formatCount(counts.unsequencedPublishers)} publisher${counts.unsequencedPublishers === 1 ? '' : 's'} without sequence numbers (loss detection unavailable), ${formatCount(counts.lost)} from the others`;
  const drops = dropReasons.filter((r) => counts.dropped[r] > 0).map((r) => `${r} ${formatCount(counts.dropped[r])}`);
  const outboxChannels = Object.entries(s.outbox.channels);
  const fields: APIEmbedField[] = [
    {
      name: 'Listener',
      value: value(
        `**${listener.state}** · ${connected.size}/${listener.endpoints.length} endpoints connected${listener.restarts > 0 ? ` · restarted ${listener.restarts}× by /zmq_restart` : ''}\n${endpoints}`,
      ),
    },
    ...listener.problems.slice(0, 3).map((p) => ({ name: '⛔ Not a publisher', value: value(p.message) })),
    { name: 'Topics', value: value(listener.topics.length === 0 ? 'everything' : listener.topics.map(code).join(' ')) },
    { name: 'Queue', value: value(`${formatCount(counts.queued)} / ${formatCount(s.queue.capacity)} · ${formatCount(s.queue.inFlight)} in flight`), inline: true },
    { name: 'Uptime', value: formatDuration(s.uptimeSeconds), inline: true },
    { name: 'Last event', value: ago(s.lastEventAgeSeconds), inline: true },
    {
      name: 'Events',
      value: value(
        [
          `received ${formatCount(counts.received)} · dispatched ${formatCount(counts.dispatched)} · queued ${formatCount(counts.queued)}`,
          `dropped ${formatCount(counts.dropped.total)}${drops.length > 0 ? ` (${drops.join(', ')})` : ''}`,
          `${lost} · handler errors ${formatCount(counts.handlerErrors)}`,
        ].join('\n'),
      ),
    },
    {
      name: `Publishers (${s.publishers.length})`,
      value: value(
        listed(
          s.publishers,
          (p) =>
            p.lastSeq === null || p.lost === null
              ? `${code(p.src)} no sequence numbers (loss detection unavailable) · ${ago(p.lastEventAgeSeconds)}`
              : `${code(p.src)} seq ${p.lastSeq} · ${ago(p.lastEventAgeSeconds)} · lost ${formatCount(p.lost)}${p.beforeConnect > 0 ? ` · ${formatCount(p.beforeConnect)} sent before we connected` : ''}${p.restarts > 0 ? ` · restarted ${p.restarts}×` : ''}`,
          'none seen yet',
        ),
      ),
    },
    { name: `Handlers (${s.handlers.length})`, value: value(listed(s.handlers, (h) => `${code(h.prefix === '' ? '*' : h.prefix)} → ${h.name}`, 'none registered')) },
    {
      name: 'Outbox',
      value: value([`${formatCount(s.outbox.pending)} pending`, listed(outboxChannels, ([id, c]) => channelLine(id, c), 'nothing posted yet')].join('\n')),
    },
    ...(s.jobs ? [jobsField(s.jobs)] : []),
  ];
  return fitEmbed({ title: 'zmq-notify status', color, fields, footer: { text: 'counts as in /metrics' }, timestamp: new Date().toISOString() });
}

// The job handler: registration state with ScheduleZero and what the job endpoint answered.
function jobsField(j: JobHandlerStatus): APIEmbedField {
  const r = j.registration;
  const icon = r.state === 'registered' ? '🟢' : '🔴';
  const lines = [
    `${icon} **${r.state}** with ${code(r.server)} as ${code(r.handlerId)} · ${j.methods.length} methods${r.registrations > 1 ? ` · registered ${r.registrations}×` : ''}`,
    `job endpoint ${code(j.endpoint.endpoint)} · ${formatCount(j.endpoint.requests)} requests · ${formatCount(j.endpoint.pendingReplies)} answered pending · ${j.running} running`,
    ...(r.lastError && r.state !== 'registered' ? [`last error: ${r.lastError}`] : []),
  ];
  return { name: 'ScheduleZero', value: value(lines.join('\n')) };
}

/** `/zmq_status`: the listener, queue, counts, publishers, handlers and Outbox, ephemerally. */
export const statusCommand: SlashCommand = {
  data: { name: 'zmq_status', description: 'Show the ZeroMQ listener, queue, event counts, publishers, handlers and Outbox (only you see it)' },
  async execute(interaction, deps) {
    const snapshot = await statusSnapshot(deps);
    await interaction.reply({ embeds: [statusEmbed(snapshot)], flags: MessageFlags.Ephemeral });
  },
};
