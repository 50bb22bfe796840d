import {
  ChannelType,
  GuildDefaultMessageNotifications,
  GuildExplicitContentFilter,
  GuildMFALevel,
  GuildNSFWLevel,
  GuildPremiumTier,
  GuildSystemChannelFlags,
  GuildVerificationLevel,
  Locale,
  type APIDMChannel,
  type APIGuild,
  type APIGuildMember,
  type APITextChannel,
  type GatewayGuildCreateDispatchData,
} from 'discord-api-types/v10';
import type { SandboxChannel, SandboxStore } from './store.ts';

// The sandbox's state as Discord's API objects: what REST answers and the gateway dispatches.

/** A channel the sandbox hosts, as the API returns it. */
export type ChannelPayload = APITextChannel | APIDMChannel;

/** An empty flag set: discord-api-types declares flag sets as enums without a 0 member, but none set is 0 on the wire. */
export const noFlags = 0 as never;

/** A member as the API returns it (404 Unknown Member when missing). */
export function memberPayload(store: SandboxStore, userId: string): APIGuildMember {
  const m = store.member(userId);
  return {
    user: store.user(userId),
    nick: m.nick,
    avatar: null,
    banner: null,
    roles: [...m.roles],
    joined_at: m.joinedAt,
    premium_since: null,
    deaf: false,
    mute: false,
    flags: noFlags,
    pending: false,
    communication_disabled_until: null,
  };
}

/** Every member, as the API returns them. */
export function memberPayloads(store: SandboxStore): APIGuildMember[] {
  return store.allMembers().map((m) => memberPayload(store, m.userId));
}

/** A channel as the API returns it. */
export function channelPayload(store: SandboxStore, c: SandboxChannel): ChannelPayload {
  if (c.type === ChannelType.DM) {
    return { id: c.id, type: ChannelType.DM, name: null, last_message_id: c.log.lastId(), flags: noFlags, recipients: [store.user(c.recipientId ?? '')] };
  }
  const channel: APITextChannel = {
    id: c.id,
    type: ChannelType.GuildText,
    name: c.name,
    position: c.position,
    permission_overwrites: c.overwrites?.list() ?? [],
    parent_id: null,
    topic: null,
    nsfw: false,
    last_message_id: c.log.lastId(),
    rate_limit_per_user: 0,
    flags: noFlags,
  };
  if (c.guildId !== undefined) channel.guild_id = c.guildId;
  return channel;
}

/** The guild object as GET /guilds/{id} returns it; `withCounts` adds the approximate counts. */
export function guildPayload(store: SandboxStore, withCounts = false): APIGuild {
  const guild: APIGuild = {
    id: store.guildId,
    name: store.guildName,
    icon: null,
    icon_hash: null,
    splash: null,
    discovery_splash: null,
    banner: null,
    description: null,
    owner_id: store.ownerId,
    region: 'deprecated',
    afk_channel_id: null,
    afk_timeout: 300,
    widget_enabled: false,
    widget_channel_id: null,
    verification_level: GuildVerificationLevel.None,
    default_message_notifications: GuildDefaultMessageNotifications.OnlyMentions,
    explicit_content_filter: GuildExplicitContentFilter.Disabled,
    roles: store.allRoles(),
    emojis: [],
    stickers: [],
    features: [],
    mfa_level: GuildMFALevel.None,
    application_id: null,
    system_channel_id: store.systemChannel()?.id ?? null,
    system_channel_flags: noFlags as GuildSystemChannelFlags,
    rules_channel_id: null,
    public_updates_channel_id: null,
    safety_alerts_channel_id: null,
    max_presences: null,
    max_members: 500_000,
    vanity_url_code: null,
    premium_tier: GuildPremiumTier.None,
    premium_subscription_count: 0,
    preferred_locale: Locale.EnglishUS,
    max_video_channel_users: 25,
    max_stage_video_channel_users: 50,
    nsfw_level: GuildNSFWLevel.Default,
    premium_progress_bar_enabled: false,
    incidents_data: null,
    hub_type: null,
  };
  if (withCounts) {
    guild.approximate_member_count = store.allMembers().length;
    guild.approximate_presence_count = 0;
  }
  return guild;
}

/** The guild as the gateway's GUILD_CREATE carries it: with channels, members and counts. */
export function guildCreatePayload(store: SandboxStore): GatewayGuildCreateDispatchData {
  return {
    ...guildPayload(store),
    joined_at: store.member(store.bot.id).joinedAt,
    large: false,
    unavailable: false,
    member_count: store.allMembers().length,
    voice_states: [],
    members: memberPayloads(store),
    channels: store.guildChannels().map((c) => channelPayload(store, c) as APITextChannel),
    threads: [],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}
