import { EventEmitter } from 'node:events';
import {
  ApplicationCommandType,
  ApplicationIntegrationType,
  ChannelType,
  InteractionType,
  MessageFlags,
  MessageReferenceType,
  MessageType,
  OverwriteType,
  PermissionFlagsBits,
  type APIApplicationCommandInteractionMetadata,
  type APIAttachment,
  type APIMessage,
  type APIRole,
  type APIUser,
} from 'discord-api-types/v10';
import { isSnowflake, snowflakeTime } from '../shared/snowflake.ts';
import { CommandRegistry } from './commands.ts';
import { Errors, FormErrors } from './errors.ts';
import type { MentionRecord } from './inspection.ts';
import type { MessageInput } from './limits.ts';
import { resolveMentions } from './mentions.ts';
import { MessageLog, type StoredMessage } from './message-log.ts';
import { ChannelOverwrites, parseOverwrite } from './overwrites.ts';
import { noFlags } from './payloads.ts';
import type { PresenceRecord } from './presence.ts';
import type { SnowflakeGenerator } from './snowflake.ts';

// What a fresh guild's @everyone can do.
const everyonePermissions =
  PermissionFlagsBits.CreateInstantInvite |
  PermissionFlagsBits.AddReactions |
  PermissionFlagsBits.ViewChannel |
  PermissionFlagsBits.SendMessages |
  PermissionFlagsBits.EmbedLinks |
  PermissionFlagsBits.AttachFiles |
  PermissionFlagsBits.ReadMessageHistory |
  PermissionFlagsBits.ChangeNickname |
  PermissionFlagsBits.UseApplicationCommands;

// Flags a message payload may set; the rest are the sandbox's to set (ephemeral, loading).
const settableFlags = MessageFlags.SuppressEmbeds | MessageFlags.SuppressNotifications | MessageFlags.IsComponentsV2;

/** A channel the sandbox hosts: a guild text channel or a DM. */
export interface SandboxChannel {
  id: string;
  type: ChannelType.GuildText | ChannelType.DM;
  name: string;
  position: number;
  guildId?: string;
  /** For DMs: the other user. */
  recipientId?: string;
  log: MessageLog;
  /** Guild channels: permission overwrites (PUT/DELETE /channels/{id}/permissions/{overwrite_id}). */
  overwrites?: ChannelOverwrites;
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
  type?: MessageType;
  /** System flags (ephemeral, loading) set by the sandbox rather than the payload. */
  systemFlags?: number;
  webhookId?: string;
  interaction?: { id: string; command: string; user: APIUser };
  attachments?: APIAttachment[];
  /** Another author than the bot (messages seeded through /sandbox/messages). */
  author?: APIUser;
  /** When it was created, ms since the epoch, if in the past (its ID encodes it). */
  at?: number;
}

/** What changed in the store; the gateway and the live page listen. */
export interface StoreEvents {
  messageCreate: [StoredMessage];
  messageUpdate: [StoredMessage];
  messageDelete: [{ id: string; channelId: string; guildId?: string }];
  messageDeleteBulk: [{ ids: string[]; channelId: string; guildId?: string }];
  memberUpdate: [{ guildId: string; userId: string }];
  channelUpdate: [{ channelId: string; guildId: string }];
  presenceUpdate: [{ userId: string; presence: PresenceRecord }];
  commandsUpdate: [{ guildId: string | null }];
}

/** A guild member as the store keeps it; payloads.ts turns it into Discord's member object. */
export interface MemberRecord {
  readonly userId: string;
  readonly roles: string[];
  readonly joinedAt: string;
  readonly nick: string | null;
}

/** A time as Discord writes it: ISO 8601 with microseconds and an explicit +00:00. */
export function isoFromMs(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000+00:00');
}

function user(id: string, username: string, bot = false): APIUser {
  return { id, username, discriminator: '0', global_name: bot ? null : username, avatar: null, bot, flags: noFlags, public_flags: noFlags, banner: null, accent_color: null };
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
  private readonly members = new Map<string, MemberRecord>();
  private readonly channels = new Map<string, SandboxChannel>();
  private readonly presences = new Map<string, PresenceRecord>();
  /** When the guild was created (the sandbox started), ms since the epoch. */
  readonly createdAt = Date.now();

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
      flags: noFlags,
      ...extra,
    });
    const everyone = role(this.guildId, '@everyone', everyonePermissions);
    const admin = role(ids.next(), 'admin', PermissionFlagsBits.Administrator, { position: 3, color: 0xe67e22, colors: { primary_color: 0xe67e22, secondary_color: null, tertiary_color: null }, hoist: true });
    const botRole = role(ids.next(), options.botName, PermissionFlagsBits.Administrator, { position: 2, managed: true, tags: { bot_id: this.bot.id } });
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
      this.channels.set(id, {
        id,
        type: ChannelType.GuildText,
        name: c.name,
        position: this.channels.size,
        guildId: this.guildId,
        log: new MessageLog(options.maxMessagesPerChannel),
        overwrites: new ChannelOverwrites(),
      });
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

  /** A member's record (404 Unknown Member when missing). */
  member(userId: string): MemberRecord {
    const m = this.members.get(userId);
    if (!m) throw Errors.unknownMember();
    return m;
  }

  /** Every member's record, in the order they joined. */
  allMembers(): MemberRecord[] {
    return [...this.members.values()];
  }

  /** The member's permissions: the union of @everyone and its roles' (everything for administrators). */
  memberPermissions(userId: string): bigint {
    const m = this.members.get(userId);
    let bits = BigInt(this.role(this.guildId).permissions);
    for (const id of m?.roles ?? []) bits |= BigInt(this.roles.get(id)?.permissions ?? '0');
    return (bits & PermissionFlagsBits.Administrator) !== 0n ? (1n << 53n) - 1n : bits;
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

  /** The guild's system channel (where Discord posts join messages): #general. */
  systemChannel(): SandboxChannel | undefined {
    return this.guildChannels().find((c) => c.name === 'general');
  }

  /** The guild's text channels, by position. */
  guildChannels(): SandboxChannel[] {
    return [...this.channels.values()].filter((c) => c.type === ChannelType.GuildText).sort((a, b) => a.position - b.position);
  }

  /** The DM channels opened so far. */
  dmChannels(): SandboxChannel[] {
    return [...this.channels.values()].filter((c) => c.type === ChannelType.DM);
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

  /** The DM channel with a user, created on first use as Discord does. */
  dmChannel(recipientId: string): SandboxChannel {
    this.user(recipientId);
    const existing = [...this.channels.values()].find((c) => c.type === ChannelType.DM && c.recipientId === recipientId);
    if (existing) return existing;
    const id = this.options.ids.next();
    const created: SandboxChannel = { id, type: ChannelType.DM, name: `dm-${this.user(recipientId).username}`, position: 0, recipientId, log: new MessageLog(this.options.maxMessagesPerChannel) };
    this.channels.set(id, created);
    return created;
  }

  /** Sets a guild channel's permission overwrite for an existing role (type 0) or member (type 1). */
  setOverwrite(channelId: string, overwriteId: string, raw: unknown): void {
    const channel = this.channel(channelId);
    if (!channel.overwrites || channel.guildId === undefined) throw Errors.dmChannelAction();
    const overwrite = parseOverwrite(overwriteId, raw);
    if (overwrite.type === OverwriteType.Role) this.role(overwriteId);
    else this.member(overwriteId);
    channel.overwrites.set(overwrite);
    this.emit('channelUpdate', { channelId: channel.id, guildId: channel.guildId });
  }

  /** Deletes a guild channel's permission overwrite (404 Unknown Overwrite when there is none). */
  deleteOverwrite(channelId: string, overwriteId: string): void {
    const channel = this.channel(channelId);
    if (!channel.overwrites || channel.guildId === undefined) throw Errors.dmChannelAction();
    if (!channel.overwrites.delete(overwriteId)) throw Errors.unknownOverwrite();
    this.emit('channelUpdate', { channelId: channel.id, guildId: channel.guildId });
  }

  // ---- presence --------------------------------------------------------------------------

  /** Records a user's presence (the bot's, from gateway op 3). */
  setPresence(userId: string, presence: PresenceRecord): void {
    this.presences.set(userId, presence);
    this.emit('presenceUpdate', { userId, presence });
  }

  /** Every presence set so far, by user. */
  allPresences(): { userId: string; presence: PresenceRecord }[] {
    return [...this.presences].map(([userId, presence]) => ({ userId, presence }));
  }

  // ---- messages --------------------------------------------------------------------------

  /** Creates a message from a validated payload, records who it pinged, and announces it. */
  createMessage(channelId: string, input: MessageInput, opts: CreateMessageOptions = {}): StoredMessage {
    const channel = this.channel(channelId);
    const id = opts.at === undefined ? this.options.ids.next() : this.options.ids.at(opts.at);
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
      author: opts.author ?? this.bot,
      content,
      timestamp: isoFromMs(snowflakeTime(id)),
      edited_timestamp: null,
      tts: input.tts === true,
      mention_everyone: pinged.everyone || pinged.here,
      mentions: pinged.users.map((u) => this.user(u)),
      mention_roles: [...pinged.roles],
      attachments: opts.attachments ?? [],
      embeds: input.embeds ?? [],
      pinned: false,
      type: opts.type ?? (referenced ? MessageType.Reply : MessageType.Default),
      flags,
      components: (input.components ?? []) as APIMessage['components'],
    };
    if (input.nonce !== undefined) message.nonce = input.nonce;
    if (opts.webhookId !== undefined) {
      message.webhook_id = opts.webhookId;
      message.application_id = this.applicationId;
    }
    if (referenced) {
      message.message_reference = { type: MessageReferenceType.Default, message_id: referenced.message.id, channel_id: channel.id, ...(channel.guildId !== undefined && { guild_id: channel.guildId }) };
      message.referenced_message = referenced.message;
    }
    if (opts.interaction) {
      const { id: interactionId, command, user: invoker } = opts.interaction;
      // Discord also sends the command's name and type, which discord-api-types does not declare.
      const metadata: APIApplicationCommandInteractionMetadata & { name: string; command_type: ApplicationCommandType } = {
        id: interactionId,
        type: InteractionType.ApplicationCommand,
        user: invoker,
        authorizing_integration_owners: { [ApplicationIntegrationType.GuildInstall]: channel.guildId ?? '0' },
        name: command,
        command_type: ApplicationCommandType.ChatInput,
      };
      message.interaction_metadata = metadata;
      message.interaction = { id: interactionId, type: InteractionType.ApplicationCommand, name: command, user: invoker };
    }
    const stored: StoredMessage = {
      message,
      ...(channel.guildId !== undefined && { guildId: channel.guildId }),
      pinged,
      ephemeral: (flags & MessageFlags.Ephemeral) !== 0,
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
      m.flags = ((m.flags ?? 0) & ~MessageFlags.SuppressEmbeds) | (input.flags & MessageFlags.SuppressEmbeds);
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
    if (list.some((id) => isSnowflake(id) && Date.now() - snowflakeTime(id) > twoWeeks)) throw Errors.bulkDeleteTooOld();
    const deleted = [...new Set(list)].filter((id) => channel.log.remove(id));
    if (deleted.length > 0) {
      this.emit('messageDeleteBulk', { ids: deleted, channelId, ...(channel.guildId !== undefined && { guildId: channel.guildId }) });
    }
  }

  private pings(channel: SandboxChannel, content: string, input: MessageInput, repliedUserId: string | undefined): MentionRecord {
    const authorPermissions = channel.type === ChannelType.GuildText ? this.memberPermissions(this.bot.id) : 0n;
    const canMentionEveryone = channel.type === ChannelType.GuildText && (authorPermissions & PermissionFlagsBits.MentionEveryone) !== 0n;
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

