import type { APIEmbed } from 'discord.js';
import type { ZmqEvent } from '../../pipeline/event.ts';
import { genericEventEmbed } from './generic.ts';
import { handlerPingEmbed, handlerRegisteredEmbed, handlerUnregisteredEmbed } from './handler.ts';
import { jobExecutedEmbed, jobFailedEmbed, jobMissedEmbed, jobRemovedEmbed, jobScheduledEmbed } from './job.ts';
import { schedulerStartedEmbed, schedulerStoppedEmbed } from './scheduler.ts';

export { Colors } from './colors.ts';
export { recoveredEmbed, repeatedFailureEmbed, type FailureSeries } from './alerts.ts';
export { DIGEST_MAX_LENGTH, digestEmbed, type DigestSummary } from './digest.ts';
export { genericEventEmbed } from './generic.ts';
export { handlerPingEmbed, handlerRegisteredEmbed, handlerUnregisteredEmbed, pingHealth } from './handler.ts';
export { jobExecutedEmbed, jobFailedEmbed, jobMissedEmbed, jobRemovedEmbed, jobScheduledEmbed } from './job.ts';
export { EmbedLimits, embedLength, embedsLength, fitEmbed, fitEmbeds } from './limits.ts';
export {
  schedulerBackEmbed,
  schedulerSilentEmbed,
  schedulerStartedEmbed,
  schedulerStoppedEmbed,
  type WatchedScheduler,
} from './scheduler.ts';
export { codeBlock, neutralizeMentions, truncateText } from './text.ts';

/** A builder that turns one event into one embed. */
export type EventEmbedBuilder = (event: ZmqEvent) => APIEmbed;

/** The builder for each catalog topic; other topics get {@link genericEventEmbed}. */
export const embedBuilders: Readonly<Record<string, EventEmbedBuilder>> = {
  'job.failed': jobFailedEmbed,
  'job.missed': jobMissedEmbed,
  'job.executed': jobExecutedEmbed,
  'job.scheduled': jobScheduledEmbed,
  'job.removed': jobRemovedEmbed,
  'handler.registered': handlerRegisteredEmbed,
  'handler.unregistered': handlerUnregisteredEmbed,
  'handler.ping': handlerPingEmbed,
  'scheduler.started': schedulerStartedEmbed,
  'scheduler.stopped': schedulerStoppedEmbed,
};

/** The embed for any event: its topic's builder, or the generic one. */
export function embedForEvent(event: ZmqEvent): APIEmbed {
  const builder = Object.hasOwn(embedBuilders, event.topic) ? embedBuilders[event.topic] : undefined;
  return (builder ?? genericEventEmbed)(event);
}
