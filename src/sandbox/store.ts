import { EventEmitter } from 'node:events';
import type { APIAttachment, APIGuildMember, APIMessage, APIRole, APIUser } from 'discord.js';
import { CommandRegistry } from './commands.ts';
import { Errors, FormErrors } from './errors.ts';
import type { MessageInput } from './limits.ts';
import { resolveMentions, type MentionRecord } from './mentions.ts';
import { MessageLog, type StoredMessage } from './message-log.ts';
import { timestampOf, type SnowflakeGenerator } from './snowflake.ts';

/** Permission bits the sandbox itself looks at. */
export const Permission = {
  administrator: 1n << 3n,
  mentionEveryone: 1n << 17n,
} as const;

// What a fresh guild's @everyone can do: view, send, embed, attach, history, react, invite,
// change nickname, use application commands.
const everyonePermissions = (1n << 0n) | (1n << 6n) | (1n << 10n) | (1n << 11n) | (1n << 14n) | (1n << 15n) | (1n << 16n) | (1n << 26n) | (1n << 31n);

/** Message types the sandbox produces. */
export const MessageType = { default: 0, reply: 19, chatInputCommand: 20 } as const;

/** Message flags the sandbox reads or sets. */
export const MessageFlag = {
  suppressEmbeds: 1 << 2,
  ephemeral: 1 << 6,
  loading: 1 << 7,
  suppressNotifications: 1 << 12,
  componentsV2: 1 << 15,
} as const;
const settableFlags = MessageFlag.suppressEmbeds | MessageFlag.suppressNotifications | MessageFlag.componentsV2;

/** A channel the sandbox hosts: a guild text channel or a DM. */
export interface SandboxChannel {
  id: string;
  type: 0 | 1;
  name: string;
  position: number;
  guildId?: string;
  /** For DMs: the other user. */
  recipientId?: string;
  log: MessageLog;
}

/** What the sandbox's guild looks like when it starts. */
export interface StoreOptions {
  guild: { id?: string; name: string };
  channels: { id?: string; name: string }[];
  applicationId?: string;
  botName: string;
  maxMessagesPerChannel: number;
  ids: SnowflakeGenerator;
}

/** Options for creating a message beyond its validated payload. */
export interface CreateMessageOptions {
  type?: number;
  /** System flags (ephemeral, loading) set by the sandbox rather than the payload. */
  systemFlags?: number;
  webhookId?: string;
  interaction?: { id: string; command: string; user: APIUser };
  attachments?: APIAttachment[];
}

/** What changed in the store; the gateway and the live page listen. */
export interface StoreEvents {
  messageCreate: [StoredMessage];
  messageUpdate: [StoredMessage];
  messageDelete: [{ id: string; channelId: string; guildId?: string }];
  messageDeleteBulk: [{ ids: string[]; channelId: string; guildId?: string }];
  memberUpdate: [{ guildId: string; userId: string }];
  commandsUpdate: [{ guildId: string | null }];
}

interface Member {
  userId: string;
  roles: string[];
  joinedAt: string;
  nick: string | null;
}

function isoFromMs(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000+00:00');
}

// discord-api-types declares flags as enums without a 0 member; an empty bit set is 0 on the wire.
const noUserFlags = 0 as NonNullable<APIUser['flags']>;

function user(id: string, username: string, bot = false): APIUser {
  return { id, username, discriminator: '0', global_name: bot ? null : username, avatar: null, bot, flags: noUserFlags, public_flags: noUserFlags, banner: null, accent_color: null };
}

/**
 * The sandbox's world in memory: one guild with its roles, members and text channels, the bot
 * user and its application, DM channels, messages (bounded per channel) and registered commands.
 */
export class SandboxStore extends EventEmitter<StoreEvents> {
  readonly guildId: string;
  readonly guildName: string;
  readonly applicationId: string;
  readonly bot: APIUser;
  readonly ownerId: string;
  readonly commands: CommandRegistry;
  private readonly users = new Map<string, APIUser>();
  private readonly roles = new Map<string, APIRole>();
  private readonly members = new Map<string, Member>();
  private readonly channels = new Map<string, SandboxChannel>();
  private readonly createdAt = Date.now();

  constructor(private readonly options: StoreOptions) {
    super();
    const ids = options.ids;
    this.guildId = options.guild.id ?? ids.next();
    this.guildName = options.guild.name;
    this.applicationId = options.applicationId ?? ids.next();
    // A bot user's ID is its application's ID on Discord.
    this.bot = user(this.applicationId, options.botName, true);
    const owner = user(ids.next(), 'sandbox-owner');
    this.ownerId = owner.id;
    const alice = user(ids.next(), 'alice');
    const bob = user(ids.next(), 'bob');
    for (const u of [this.bot, owner, alice, bob]) this.users.set(u.id, u);

    const role = (id: string, name: string, permissions: bigint, extra: Partial<APIRole> = {}): APIRole => ({
      id,
      name,
      color: 0,
      colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      icon: null,
      unicode_emoji: null,
      position: 0,
      permissions: permissions.toString(),
      managed: false,
      mentionable: false,
      flags: 0 as APIRole['flags'],
      ...extra,
    });
    const everyone = role(this.guildId, '@everyone', everyonePermissions);
    const admin = role(ids.next(), 'admin', Permission.administrator, { position: 3, color: 0xe67e22, colors: { primary_color: 0xe67e22, secondary_color: null, tertiary_color: null }, hoist: true });
    const botRole = role(ids.next(), options.botName, Permission.administrator, { position: 2, managed: true, tags: { bot_id: this.bot.id } });
    const oncall = role(ids.next(), 'oncall', 0n, { position: 1, mentionable: true, color: 0x3498db, colors: { primary_color: 0x3498db, secondary_color: null, tertiary_color: null } });
    for (const r of [everyone, admin, botRole, oncall]) this.roles.set(r.id, r);

    const joined = isoFromMs(this.createdAt);
    this.members.set(owner.id, { userId: owner.id, roles: [admin.id], joinedAt: joined, nick: null });
    this.members.set(this.bot.id, { userId: this.bot.id, roles: [botRole.id], joinedAt: joined, nick: null });
    this.members.set(alice.id, { userId: alice.id, roles: [oncall.id], joinedAt: joined, nick: null });
    this.members.set(bob.id, { userId: bob.id, roles: [], joinedAt: joined, nick: null });

    const names = new Set<string>();
    const wanted = [...options.channels];
    if (!wanted.some((c) => c.name === 'general')) wanted.push({ name: 'general' });
    for (const c of wanted) {
      if (names.has(c.name) || (c.id !== undefined && this.channels.has(c.id))) continue;
      names.add(c.name);
      const id = c.id ?? ids.next();
      this.channels.set(id, { id, type: 0, name: c.name, position: this.channels.size, guildId: this.guildId, log: new MessageLog(options.maxMessagesPerChannel) });
    }
    this.commands = new CommandRegistry(this.applicationId, ids, (guildId) => this.emit('commandsUpdate', { guildId }));
  }

  // ---- users, roles, members -------------------------------------------------------------

  /** A user by ID (404 Unknown User when missing). */
  user(id: string): APIUser {
    const found = this.users.get(id);
    if (!found) throw Errors.unknownUser();
    return found;
  }

  /** Every user the sandbox knows. */
  allUsers(): APIUser[] {
    return [...this.users.values()];
  }

  /** A guild role by ID (404 Unknown Role when missing). */
  role(id: string): APIRole {
    const found = this.roles.get(id);
    if (!found) throw Errors.unknownRole();
    return found;
  }

  /** Every role, lowest position first. */
  allRoles(): APIRole[] {
    return [...this.roles.values()].sort((a, b) => a.position - b.position);
  }

  /** Whether a user is a member of the guild. */
  isMember(userId: string): boolean {
    return this.members.has(userId);
  }

  /** A member as the API returns it (404 Unknown Member when missing). */
  member(userId: string): APIGuildMember {
    const m = this.members.get(userId);
    if (!m) throw Errors.unknownMember();
    return {
      user: this.user(userId),
      nick: m.nick,
      avatar: null,
      banner: null,
      roles: [...m.roles],
      joined_at: m.joinedAt,
      premium_since: null,
      deaf: false,
      mute: false,
      flags: 0 as APIGuildMember['flags'],
      pending: false,
      communication_disabled_until: null,
    };
  }

  /** Every member, as the API returns them. */
  allMembers(): APIGuildMember[] {
    return [...this.members.keys()].map((id) => this.member(id));
  }

  /** The member's permissions: the union of @everyone and its roles' (everything for administrators). */
  memberPermissions(userId: string): bigint {
    const m = this.members.get(userId);
    let bits = BigInt(this.role(this.guildId).permissions);
    for (const id of m?.roles ?? []) bits |= BigInt(this.roles.get(id)?.permissions ?? '0');
    return (bits & Permission.administrator) !== 0n ? (1n << 53n) - 1n : bits;
  }

  /** Gives a member a role. */
  addRole(userId: string, roleId: string): void {
    const m = this.members.get(userId);
    if (!m) throw Errors.unknownMember();
    this.role(roleId);
    if (roleId === this.guildId) throw Errors.unknownRole();
    if (!m.roles.includes(roleId)) {
      m.roles.push(roleId);
      this.emit('memberUpdate', { guildId: this.guildId, userId });
    }
  }

  /** Takes a role from a member. */
  removeRole(userId: string, roleId: string): void {
    const m = this.members.get(userId);
    if (!m) throw Errors.unknownMember();
    this.role(roleId);
    const index = m.roles.indexOf(roleId);
    if (index >= 0) {
      m.roles.splice(index, 1);
      this.emit('memberUpdate', { guildId: this.guildId, userId });
    }
  }

  // ---- guild and channels ----------------------------------------------------------------

  /** Checks that an ID names the sandbox's guild (404 Unknown Guild otherwise). */
  requireGuild(guildId: string): void {
    if (guildId !== this.guildId) throw Errors.unknownGuild();
  }

  /** The guild object as GET /guilds/{id} returns it. */
  guild(withCounts = false): Record<string, unknown> {
    const general = [...this.channels.values()].find((c) => c.type === 0 && c.name === 'general');
    const base: Record<string, unknown> = {
      id: this.guildId,
      name: this.guildName,
      icon: null,
      icon_hash: null,
      splash: null,
      discovery_splash: null,
      banner: null,
      description: null,
      owner_id: this.ownerId,
      region: 'deprecated',
      afk_channel_id: null,
      afk_timeout: 300,
      widget_enabled: false,
      widget_channel_id: null,
      verification_level: 0,
      default_message_notifications: 1,
      explicit_content_filter: 0,
      roles: this.allRoles(),
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: general?.id ?? null,
      system_channel_flags: 0,
      rules_channel_id: null,
      public_updates_channel_id: null,
      safety_alerts_channel_id: null,
      max_presences: null,
      max_members: 500_000,
      vanity_url_code: null,
      premium_tier: 0,
      premium_subscription_count: 0,
      preferred_locale: 'en-US',
      max_video_channel_users: 25,
      max_stage_video_channel_users: 50,
      nsfw_level: 0,
      nsfw: false,
      premium_progress_bar_enabled: false,
      incidents_data: null,
    };
    if (withCounts) {
      base.approximate_member_count = this.members.size;
      base.approximate_presence_count = 0;
    }
    return base;
  }

  /** The guild as the gateway's GUILD_CREATE carries it: with channels, members and counts. */
  guildCreate(): Record<string, unknown> {
    return {
      ...this.guild(),
      joined_at: this.member(this.bot.id).joined_at,
      large: false,
      unavailable: false,
      member_count: this.members.size,
      voice_states: [],
      members: this.allMembers(),
      channels: this.guildChannels().map((c) => this.channelObject(c)),
      threads: [],
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
      embedded_activities: [],
      lazy: true,
    };
  }

  /** The guild's text channels, by position. */
  guildChannels(): SandboxChannel[] {
    return [...this.channels.values()].filter((c) => c.type === 0).sort((a, b) => a.position - b.position);
  }

  /** The DM channels opened so far. */
  dmChannels(): SandboxChannel[] {
    return [...this.channels.values()].filter((c) => c.type === 1);
  }

  /** A channel (guild or DM) by ID, or undefined. */
  findChannel(id: string): SandboxChannel | undefined {
    return this.channels.get(id);
  }

  /** A channel by ID (404 Unknown Channel when missing). */
  channel(id: string): SandboxChannel {
    const found = this.channels.get(id);
    if (!found) throw Errors.unknownChannel();
    return found;
  }

  /** The channel object as the API returns it. */
  channelObject(c: SandboxChannel): Record<string, unknown> {
    if (c.type === 1) {
      return { id: c.id, type: 1, last_message_id: c.log.lastId(), flags: 0, recipients: [this.user(c.recipientId ?? '')] };
    }
    return {
      id: c.id,
      type: 0,
      guild_id: c.guildId,
      name: c.name,
      position: c.position,
      permission_overwrites: [],
      parent_id: null,
      topic: null,
      nsfw: false,
      last_message_id: c.log.lastId(),
      rate_limit_per_user: 0,
      flags: 0,
    };
  }

  /** The DM channel with a user, created on first use as Discord does. */
  dmChannel(recipientId: string): SandboxChannel {
    this.user(recipientId);
    const existing = [...this.channels.values()].find((c) => c.type === 1 && c.recipientId === recipientId);
    if (existing) return existing;
    const id = this.options.ids.next();
    const created: SandboxChannel = { id, type: 1, name: `dm-${this.user(recipientId).username}`, position: 0, recipientId, log: new MessageLog(this.options.maxMessagesPerChannel) };
    this.channels.set(id, created);
    return created;
  }

  // ---- messages --------------------------------------------------------------------------

  /** Creates a message from a validated payload, records who it pinged, and announces it. */
  createMessage(channelId: string, input: MessageInput, opts: CreateMessageOptions = {}): StoredMessage {
    const channel = this.channel(channelId);
    const id = this.options.ids.next();
    const content = input.content ?? '';
    let referenced: StoredMessage | undefined;
    if (input.messageReference) {
      referenced = channel.log.get(input.messageReference.message_id);
      if (!referenced && input.messageReference.fail_if_not_exists) {
        const errors = new FormErrors();
        errors.add(['message_reference'], 'MESSAGE_REFERENCE_UNKNOWN_MESSAGE', 'Unknown message');
        errors.throwIfAny();
      }
    }
    const pinged = this.pings(channel, content, input, referenced?.message.author.id);
    const flags = ((input.flags ?? 0) & settableFlags) | (opts.systemFlags ?? 0);
    const message: APIMessage = {
      id,
      channel_id: channel.id,
      author: this.bot,
      content,
      timestamp: isoFromMs(timestampOf(id)),
      edited_timestamp: null,
      tts: input.tts === true,
      mention_everyone: pinged.everyone || pinged.here,
      mentions: pinged.users.map((u) => this.user(u)),
      mention_roles: [...pinged.roles],
      attachments: opts.attachments ?? [],
      embeds: input.embeds ?? [],
      pinned: false,
      type: (opts.type ?? (referenced ? MessageType.reply : MessageType.default)) as APIMessage['type'],
      flags,
      components: (input.components ?? []) as APIMessage['components'],
    };
    if (input.nonce !== undefined) message.nonce = input.nonce;
    if (opts.webhookId !== undefined) {
      message.webhook_id = opts.webhookId;
      message.application_id = this.applicationId;
    }
    if (referenced) {
      message.message_reference = { type: 0, message_id: referenced.message.id, channel_id: channel.id, ...(channel.guildId !== undefined && { guild_id: channel.guildId }) };
      message.referenced_message = referenced.message;
    }
    if (opts.interaction) {
      const { id: interactionId, command, user: invoker } = opts.interaction;
      message.interaction_metadata = {
        id: interactionId,
        type: 2,
        user: invoker,
        authorizing_integration_owners: { 0: channel.guildId ?? '0' },
        name: command,
        command_type: 1,
      } as APIMessage['interaction_metadata'];
      message.interaction = { id: interactionId, type: 2, name: command, user: invoker } as APIMessage['interaction'];
    }
    const stored: StoredMessage = {
      message,
      ...(channel.guildId !== undefined && { guildId: channel.guildId }),
      pinged,
      ephemeral: (flags & MessageFlag.ephemeral) !== 0,
      ...(opts.interaction && { interaction: { id: opts.interaction.id, command: opts.interaction.command } }),
      receivedAt: Date.now(),
    };
    channel.log.add(stored);
    this.emit('messageCreate', stored);
    return stored;
  }

  /** A message in a channel (404 Unknown Message when missing or ephemeral). */
  message(channelId: string, messageId: string, includeEphemeral = false): StoredMessage {
    const found = this.channel(channelId).log.get(messageId);
    if (!found || (found.ephemeral && !includeEphemeral)) throw Errors.unknownMessage();
    return found;
  }

  /** Applies an edit payload to a message the bot wrote. */
  editMessage(channelId: string, messageId: string, input: MessageInput, opts: { clearFlags?: number; attachments?: APIAttachment[] } = {}): StoredMessage {
    const stored = this.message(channelId, messageId, true);
    const m = stored.message;
    if (m.author.id !== this.bot.id) throw Errors.cannotEditOthers();
    const next = {
      content: input.content === undefined ? m.content : (input.content ?? ''),
      embeds: input.embeds ?? m.embeds,
      components: input.components ?? (m.components as unknown[] | undefined) ?? [],
    };
    const attachments = opts.attachments ?? m.attachments;
    if (!next.content && next.embeds.length === 0 && next.components.length === 0 && attachments.length === 0) throw Errors.emptyMessage();
    m.content = next.content;
    m.embeds = next.embeds;
    m.components = next.components as APIMessage['components'];
    m.attachments = attachments;
    if (input.flags !== undefined) {
      m.flags = ((m.flags ?? 0) & ~MessageFlag.suppressEmbeds) | (input.flags & MessageFlag.suppressEmbeds);
    }
    if (opts.clearFlags) m.flags = (m.flags ?? 0) & ~opts.clearFlags;
    if (input.content !== undefined || input.allowedMentions !== undefined) {
      // An edit shows the new mentions, but Discord never notifies for an edit: `pinged` keeps the original.
      const channel = this.channel(channelId);
      const now = this.pings(channel, m.content, input, m.referenced_message?.author.id);
      m.mentions = now.users.map((u) => this.user(u));
      m.mention_roles = now.roles;
      m.mention_everyone = now.everyone || now.here;
    }
    m.edited_timestamp = isoFromMs(Date.now());
    this.emit('messageUpdate', stored);
    return stored;
  }

  /** Deletes a message. */
  deleteMessage(channelId: string, messageId: string): void {
    const channel = this.channel(channelId);
    if (!channel.log.remove(messageId)) throw Errors.unknownMessage();
    this.emit('messageDelete', { id: messageId, channelId, ...(channel.guildId !== undefined && { guildId: channel.guildId }) });
  }

  /** Deletes 2-100 messages at once, refusing any older than 14 days as Discord does. */
  bulkDelete(channelId: string, raw: unknown): void {
    const channel = this.channel(channelId);
    const ids = typeof raw === 'object' && raw !== null && 'messages' in raw ? (raw as { messages: unknown }).messages : undefined;
    const errors = new FormErrors();
    if (!Array.isArray(ids)) errors.add(['messages'], 'BASE_TYPE_REQUIRED', 'This field is required');
    else if (ids.length < 2) errors.add(['messages'], 'BASE_TYPE_MIN_LENGTH', 'Must be 2 or more in length.');
    else if (ids.length > 100) errors.add(['messages'], 'BASE_TYPE_MAX_LENGTH', 'Must be 100 or fewer in length.');
    errors.throwIfAny();
    const list = (ids as unknown[]).map(String);
    const twoWeeks = 14 * 24 * 60 * 60 * 1000;
    if (list.some((id) => /^\d+$/.test(id) && Date.now() - timestampOf(id) > twoWeeks)) throw Errors.bulkDeleteTooOld();
    const deleted = [...new Set(list)].filter((id) => channel.log.remove(id));
    if (deleted.length > 0) {
      this.emit('messageDeleteBulk', { ids: deleted, channelId, ...(channel.guildId !== undefined && { guildId: channel.guildId }) });
    }
  }

  private pings(channel: SandboxChannel, content: string, input: MessageInput, repliedUserId: string | undefined): MentionRecord {
    const authorPermissions = channel.type === 0 ? this.memberPermissions(this.bot.id) : 0n;
    const canMentionEveryone = channel.type === 0 && (authorPermissions & Permission.mentionEveryone) !== 0n;
    return resolveMentions(content, input.allowedMentions, {
      isUser: (id) => this.users.has(id),
      canPingRole: (id) => {
        const r = this.roles.get(id);
        return r !== undefined && id !== this.guildId && (r.mentionable || canMentionEveryone);
      },
      canMentionEveryone,
      ...(repliedUserId !== undefined && { repliedUserId }),
    });
  }
}

