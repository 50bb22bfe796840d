import type { APIApplicationCommand, APIEmbed } from 'discord-api-types/v10';

// What the inspection API (/sandbox/*) answers with, and the page reads: plain JSON shapes that
// depend on nothing else, so the page's script is checked against exactly these.

/** Who a message would have pinged, after `allowed_mentions` was applied. */
export interface MentionRecord {
  users: string[];
  roles: string[];
  everyone: boolean;
  here: boolean;
}

/** A message as GET /sandbox/messages and the live page show it. */
export interface MessageView {
  id: string;
  channel_id: string;
  channel_name: string;
  author: { id: string; username: string; bot: boolean };
  content: string;
  embeds: APIEmbed[];
  components: unknown[];
  attachments: { id: string; filename: string; size: number; url: string; content_type?: string }[];
  type: number;
  flags: number;
  ephemeral: boolean;
  /** Who it would have pinged (content mentions after `allowed_mentions`). */
  mentions: MentionRecord;
  timestamp: string;
  edited_timestamp: string | null;
  interaction?: { id: string; command: string; user: { id: string; username: string } };
  referenced_message_id?: string;
}

/** A gateway session as GET /sandbox/state lists it. */
export interface GatewaySessionView {
  session_id: string;
  connected: boolean;
  intents: number;
  seq: number;
  shard: [number, number];
}

/** What GET /sandbox/state returns. */
export interface SandboxState {
  guild: { id: string; name: string; owner_id: string };
  application: { id: string; name: string };
  bot: { id: string; username: string };
  channels: { id: string; name: string; type: number; position: number; permission_overwrites: { id: string; type: number; allow: string; deny: string }[] }[];
  dm_channels: { id: string; recipient_id: string }[];
  roles: { id: string; name: string; permissions: string; position: number; mentionable: boolean; managed: boolean; color: number }[];
  members: { id: string; username: string; bot: boolean; roles: string[] }[];
  commands: { global: APIApplicationCommand[]; guild: APIApplicationCommand[] };
  gateway: { url: string; sessions: GatewaySessionView[] };
  /** Presences set through gateway op 3 (the bot's), by user. */
  presences: { user_id: string; status: string; activities: { name: string; type: number; state?: string; url?: string }[]; since: number | null; afk: boolean; updated_at: string }[];
}
