import { ActivityType, PresenceUpdateStatus } from 'discord-api-types/v10';

/** A user's presence as the bot set it with gateway op 3 (or IDENTIFY's `presence`). */
export interface PresenceRecord {
  status: PresenceUpdateStatus;
  activities: { name: string; type: ActivityType; state?: string; url?: string }[];
  since: number | null;
  afk: boolean;
  /** When it was set, ms since the epoch. */
  updatedAt: number;
}

const statuses = new Set<string>(Object.values(PresenceUpdateStatus));
const activityTypes = new Set<number>([ActivityType.Playing, ActivityType.Streaming, ActivityType.Listening, ActivityType.Watching, ActivityType.Custom, ActivityType.Competing]);

/**
 * Reads an op 3 Presence Update payload (`{since, activities, status, afk}`); returns undefined
 * for one Discord would not decode (the gateway then closes with 4002).
 */
export function parsePresence(d: unknown, now = Date.now()): PresenceRecord | undefined {
  if (typeof d !== 'object' || d === null) return undefined;
  const { status, activities, since, afk } = d as Record<string, unknown>;
  if (typeof status !== 'string' || !statuses.has(status)) return undefined;
  if (!Array.isArray(activities) || activities.length > 10) return undefined;
  const parsed: PresenceRecord['activities'] = [];
  for (const a of activities) {
    if (typeof a !== 'object' || a === null) return undefined;
    const { name, type, state, url } = a as Record<string, unknown>;
    if (typeof name !== 'string' || name.length > 128 || typeof type !== 'number' || !activityTypes.has(type)) return undefined;
    parsed.push({ name, type, ...(typeof state === 'string' && { state }), ...(typeof url === 'string' && { url }) });
  }
  if (since !== null && since !== undefined && typeof since !== 'number') return undefined;
  return { status: status as PresenceUpdateStatus, activities: parsed, since: typeof since === 'number' ? since : null, afk: afk === true, updatedAt: now };
}
