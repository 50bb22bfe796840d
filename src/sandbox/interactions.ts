import { randomBytes } from 'node:crypto';
import {
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  InteractionResponseType as Callback,
  InteractionType,
  Locale,
  MessageFlags,
  MessageType,
  type APIAttachment,
  type APIApplicationCommandAutocompleteGuildInteraction,
  type APIChatInputApplicationCommandGuildInteraction,
  type APIMessage,
  type APIUser,
} from 'discord-api-types/v10';
import { isObject } from '../shared/json.ts';
import { isSnowflake } from '../shared/snowflake.ts';
import { ApiError, Errors } from './errors.ts';
import { interactionOptions, type GivenOptions, type InteractionOptions } from './interaction-options.ts';
import { validateMessage } from './limits.ts';
import type { StoredMessage } from './message-log.ts';
import { channelPayload, memberPayload } from './payloads.ts';
import type { SnowflakeGenerator } from './snowflake.ts';
import type { SandboxStore } from './store.ts';

/** How long an interaction token stays usable for follow-ups, as on Discord. */
const tokenLifetimeMs = 15 * 60 * 1000;
const maxTracked = 1000;

/** Who invokes a command through POST /sandbox/interactions. */
export interface InvokeMember {
  /** Permission bits as a decimal string, e.g. "8" for Administrator; default: the member's own. */
  permissions?: string;
  /** A guild member's user ID; default: the seeded user `alice`. */
  user_id?: string;
  /** Role IDs the member has in this interaction; default: the member's own roles. */
  roles?: string[];
}

/** A request to invoke a registered slash command. */
export interface InvokeRequest {
  command: string;
  member?: InvokeMember;
  /** `{ name: value }` (subcommands as nested objects) or Discord's option array. */
  options?: GivenOptions;
  channel_id?: string;
  /** Makes it an autocomplete interaction for this option (its value in `options` is what was typed so far). */
  focused?: string;
}

/** A message the bot answered with, as /sandbox/interactions reports it. */
export interface ReplyView {
  id: string;
  content: string;
  embeds: APIMessage['embeds'];
  components: unknown[];
  flags: number;
  ephemeral: boolean;
  edited: boolean;
}

/** What the bot did with an invocation. */
export interface InvokeResult {
  interaction_id: string;
  command: string;
  channel_id: string;
  acknowledged: boolean;
  /** The callback type the bot answered with (4 reply, 5 deferred, 9 modal), or null. */
  response_type: number | null;
  deferred: boolean;
  ephemeral: boolean;
  /** The original response after any edits; null when the bot sent none. */
  reply: ReplyView | null;
  followUps: ReplyView[];
  modal?: unknown;
  /** An autocomplete interaction's answer: the choices the bot offered (at most 25). */
  choices?: { name: string; value: string | number }[];
  /** Set when the bot did not answer in time (Discord shows "The application did not respond"). */
  error?: string;
}

interface Tracked {
  id: string;
  token: string;
  command: string;
  channelId: string;
  user: APIUser;
  createdAt: number;
  responseType: number | null;
  ephemeral: boolean;
  originalId?: string;
  followUpIds: string[];
  modal?: unknown;
  /** Set for an autocomplete interaction; filled with the bot's choices when it answers. */
  autocomplete?: { choices?: { name: string; value: string | number }[] };
  changed: Set<() => void>;
}

/** Timing bounds for interactions. */
export interface InteractionTimings {
  /** Discord invalidates an interaction not acknowledged within 3 s. */
  ackTimeoutMs: number;
  /** How long /sandbox/interactions waits for a deferred reply to be edited in. */
  replyTimeoutMs: number;
  /** Quiet period after the last response before /sandbox/interactions stops collecting follow-ups. */
  settleMs: number;
}

function view(stored: StoredMessage): ReplyView {
  const m = stored.message;
  return {
    id: m.id,
    content: m.content,
    embeds: m.embeds,
    components: (m.components as unknown[] | undefined) ?? [],
    flags: m.flags ?? 0,
    ephemeral: stored.ephemeral,
    edited: m.edited_timestamp !== null,
  };
}

/**
 * Slash-command interactions: builds INTERACTION_CREATE payloads, accepts the bot's callback
 * and webhook follow-ups (enforcing the 3-second acknowledgement and one callback per
 * interaction), and reports what the bot answered.
 */
export class InteractionBroker {
  private readonly tracked = new Map<string, Tracked>();
  private readonly byToken = new Map<string, Tracked>();

  constructor(
    private readonly store: SandboxStore,
    private readonly ids: SnowflakeGenerator,
    private readonly timings: InteractionTimings,
    private readonly dispatch: (payload: APIChatInputApplicationCommandGuildInteraction | APIApplicationCommandAutocompleteGuildInteraction) => number,
  ) {}

  /** The channel an interaction token answers in (for injected faults). */
  channelOfToken(token: string): string | undefined {
    return this.byToken.get(token)?.channelId;
  }

  /** Invokes a registered command as a member and waits, bounded, for the bot's full answer. */
  async invoke(request: InvokeRequest): Promise<{ status: number; result: InvokeResult | { error: string } }> {
    const channelId = request.channel_id ?? this.store.guildChannels().find((c) => c.name === 'general')?.id ?? '';
    const channel = this.store.findChannel(channelId);
    if (!channel || channel.type !== 0) return { status: 404, result: { error: `unknown guild channel ${JSON.stringify(request.channel_id)}` } };
    const command = this.store.commands.findByName(request.command, this.store.guildId);
    if (!command) return { status: 404, result: { error: `no chat-input command named ${JSON.stringify(request.command)} is registered (guild or global)` } };
    const memberSpec = request.member ?? {};
    const userId = memberSpec.user_id ?? this.store.allUsers().find((u) => u.username === 'alice')?.id ?? '';
    if (!this.store.isMember(userId)) return { status: 400, result: { error: `user ${JSON.stringify(userId)} is not a member of the guild` } };
    if (memberSpec.permissions !== undefined && !isSnowflake(String(memberSpec.permissions))) {
      return { status: 400, result: { error: 'member.permissions must be a decimal string of permission bits, e.g. "8"' } };
    }
    const knownRoles = new Set(this.store.allRoles().map((r) => r.id));
    if (memberSpec.roles !== undefined && (!Array.isArray(memberSpec.roles) || !memberSpec.roles.every((r) => typeof r === 'string' && knownRoles.has(r)))) {
      return { status: 400, result: { error: 'member.roles must be a list of the guild\'s role IDs (see GET /sandbox/state)' } };
    }
    if (request.focused !== undefined && typeof request.focused !== 'string') return { status: 400, result: { error: 'focused must be the name of the option being typed' } };
    const autocomplete = request.focused === undefined ? undefined : { focused: request.focused };
    let options: InteractionOptions;
    try {
      options = interactionOptions(this.store, command, request.options, autocomplete);
    } catch (err) {
      return { status: 400, result: { error: (err as Error).message } };
    }
    const member = memberPayload(this.store, userId);
    const permissions = memberSpec.permissions !== undefined ? String(memberSpec.permissions) : this.store.memberPermissions(userId).toString();
    const tracked = this.track(command.name, channelId, member.user);
    if (autocomplete) tracked.autocomplete = {};
    const payload: APIChatInputApplicationCommandGuildInteraction = {
      id: tracked.id,
      application_id: this.store.applicationId,
      type: InteractionType.ApplicationCommand,
      token: tracked.token,
      version: 1,
      data: {
        id: command.id,
        name: command.name,
        type: ApplicationCommandType.ChatInput,
        ...(options.options && { options: options.options }),
        ...(options.resolved && { resolved: options.resolved }),
        ...('guild_id' in command && command.guild_id !== undefined && { guild_id: command.guild_id }),
      },
      guild_id: this.store.guildId,
      guild: { id: this.store.guildId, locale: Locale.EnglishUS, features: [] },
      channel_id: channelId,
      channel: channelPayload(this.store, channel),
      member: { ...member, roles: memberSpec.roles ?? member.roles, permissions },
      app_permissions: this.store.memberPermissions(this.store.bot.id).toString(),
      locale: Locale.EnglishUS,
      guild_locale: Locale.EnglishUS,
      entitlements: [],
      authorizing_integration_owners: { [ApplicationIntegrationType.GuildInstall]: this.store.guildId },
      context: InteractionContextType.Guild,
      attachment_size_limit: 10 * 1024 * 1024,
    };
    // An autocomplete interaction is the same payload with its own type; interactionOptions marked the focused option.
    const sent = autocomplete ? ({ ...payload, type: InteractionType.ApplicationCommandAutocomplete, data: { ...payload.data, options: payload.data.options ?? [] } } as unknown as APIApplicationCommandAutocompleteGuildInteraction) : payload;
    if (this.dispatch(sent) === 0) {
      this.forget(tracked);
      return { status: 409, result: { error: 'no bot is connected to the gateway to receive the interaction' } };
    }
    return { status: 200, result: await this.outcome(tracked) };
  }

  /** POST /interactions/{id}/{token}/callback. */
  callback(id: string, token: string, body: unknown, attachments: APIAttachment[], withResponse: boolean): { status: number; body?: unknown } {
    const t = this.tracked.get(id);
    // Discord forgets an interaction that was not acknowledged within 3 s.
    if (!t || (t.responseType === null && Date.now() - t.createdAt > this.timings.ackTimeoutMs)) throw Errors.unknownInteraction();
    if (t.token !== token) throw Errors.invalidWebhookToken();
    if (t.responseType !== null) throw Errors.alreadyAcknowledged();
    if (!isObject(body) || typeof body.type !== 'number') {
      throw new ApiError(400, 50035, 'Invalid Form Body', { type: { _errors: [{ code: 'BASE_TYPE_REQUIRED', message: 'This field is required' }] } });
    }
    const data = isObject(body.data) ? body.data : {};
    const flags = typeof data.flags === 'number' ? data.flags : 0;
    if (t.autocomplete) return this.answerAutocomplete(t, body.type, data, withResponse);
    let message: StoredMessage | undefined;
    switch (body.type) {
      case Callback.ChannelMessageWithSource: {
        const input = validateMessage(data, { requireBody: true, hasFiles: attachments.length > 0 });
        message = this.store.createMessage(t.channelId, input, {
          type: MessageType.ChatInputCommand,
          systemFlags: flags & MessageFlags.Ephemeral,
          webhookId: this.store.applicationId,
          interaction: { id: t.id, command: t.command, user: t.user },
          attachments,
        });
        break;
      }
      case Callback.DeferredChannelMessageWithSource:
        message = this.store.createMessage(t.channelId, { content: '' }, {
          type: MessageType.ChatInputCommand,
          systemFlags: (flags & MessageFlags.Ephemeral) | MessageFlags.Loading,
          webhookId: this.store.applicationId,
          interaction: { id: t.id, command: t.command, user: t.user },
        });
        break;
      case Callback.Modal:
        t.modal = data;
        break;
      default:
        throw new ApiError(400, 50035, 'Invalid Form Body', {
          type: { _errors: [{ code: 'INTERACTION_RESPONSE_TYPE_INVALID', message: `Interaction response type ${String(body.type)} is not valid for an application command.` }] },
        });
    }
    t.responseType = body.type;
    t.ephemeral = (flags & MessageFlags.Ephemeral) !== 0;
    if (message) t.originalId = message.message.id;
    this.notify(t);
    if (!withResponse) return { status: 204 };
    return {
      status: 200,
      body: {
        interaction: {
          id: t.id,
          type: InteractionType.ApplicationCommand,
          ...(message && { response_message_id: message.message.id, response_message_loading: body.type === Callback.DeferredChannelMessageWithSource, response_message_ephemeral: t.ephemeral }),
        },
        resource: { type: body.type, ...(message && { message: message.message }) },
      },
    };
  }

  // An autocomplete interaction takes one answer, type 8 with at most 25 choices, as on Discord.
  private answerAutocomplete(t: Tracked, type: number, data: Record<string, unknown>, withResponse: boolean): { status: number; body?: unknown } {
    if (type !== Callback.ApplicationCommandAutocompleteResult) {
      throw new ApiError(400, 50035, 'Invalid Form Body', {
        type: { _errors: [{ code: 'INTERACTION_RESPONSE_TYPE_INVALID', message: `Interaction response type ${String(type)} is not valid for an autocomplete interaction.` }] },
      });
    }
    const choices = Array.isArray(data.choices) ? data.choices : undefined;
    const valid = (c: unknown): c is { name: string; value: string | number } =>
      isObject(c) && typeof c.name === 'string' && c.name.length >= 1 && c.name.length <= 100 && (typeof c.value === 'number' || (typeof c.value === 'string' && c.value.length <= 100));
    if (!choices || choices.length > 25 || !choices.every(valid)) {
      throw new ApiError(400, 50035, 'Invalid Form Body', { choices: { _errors: [{ code: 'BASE_TYPE_BAD_LENGTH', message: 'Must be a list of at most 25 choices, each a name (1-100 characters) and a value.' }] } });
    }
    t.responseType = type;
    t.autocomplete = { choices: choices.map((c) => ({ name: c.name, value: c.value })) };
    this.notify(t);
    if (!withResponse) return { status: 204 };
    return { status: 200, body: { interaction: { id: t.id, type: InteractionType.ApplicationCommandAutocomplete }, resource: { type } } };
  }

  /** POST /webhooks/{application}/{token}: a follow-up message. */
  followUp(applicationId: string, token: string, body: unknown, attachments: APIAttachment[], wait: boolean): { status: number; body?: unknown } {
    const t = this.acknowledged(applicationId, token);
    const input = validateMessage(body, { requireBody: true, hasFiles: attachments.length > 0 });
    const flags = input.flags ?? 0;
    const message = this.store.createMessage(t.channelId, input, {
      type: MessageType.ChatInputCommand,
      systemFlags: flags & MessageFlags.Ephemeral,
      webhookId: this.store.applicationId,
      interaction: { id: t.id, command: t.command, user: t.user },
      attachments,
    });
    t.followUpIds.push(message.message.id);
    this.notify(t);
    return wait ? { status: 200, body: message.message } : { status: 204 };
  }

  /** GET /webhooks/{application}/{token}/messages/{id | @original}. */
  fetch(applicationId: string, token: string, messageId: string): APIMessage {
    const t = this.acknowledged(applicationId, token);
    return this.store.message(t.channelId, this.resolveId(t, messageId), true).message;
  }

  /** PATCH /webhooks/{application}/{token}/messages/{id | @original}: edits a response. */
  edit(applicationId: string, token: string, messageId: string, body: unknown, attachments: APIAttachment[] | undefined): APIMessage {
    const t = this.acknowledged(applicationId, token);
    const id = this.resolveId(t, messageId);
    const input = validateMessage(body, { requireBody: false });
    const current = this.store.message(t.channelId, id, true);
    const wasLoading = ((current.message.flags ?? 0) & MessageFlags.Loading) !== 0;
    const stored = this.store.editMessage(t.channelId, id, input, { clearFlags: MessageFlags.Loading, ...(attachments && attachments.length > 0 && { attachments }) });
    // Filling in a deferred response is its first content, not an edit, as on Discord.
    if (wasLoading) stored.message.edited_timestamp = null;
    this.notify(t);
    return stored.message;
  }

  /** DELETE /webhooks/{application}/{token}/messages/{id | @original}. */
  remove(applicationId: string, token: string, messageId: string): void {
    const t = this.acknowledged(applicationId, token);
    const id = this.resolveId(t, messageId);
    this.store.deleteMessage(t.channelId, id);
    if (id === t.originalId) delete t.originalId;
    t.followUpIds = t.followUpIds.filter((f) => f !== id);
    this.notify(t);
  }

  /** Interactions still tracked (for the page and GET /sandbox/state). */
  size(): number {
    return this.tracked.size;
  }

  /** Stops every wait in progress (on shutdown). */
  close(): void {
    const all = [...this.tracked.values()];
    this.tracked.clear();
    this.byToken.clear();
    for (const t of all) this.notify(t);
  }

  private acknowledged(applicationId: string, token: string): Tracked {
    if (applicationId !== this.store.applicationId) throw Errors.unknownWebhook();
    const t = this.byToken.get(token);
    if (!t || Date.now() - t.createdAt > tokenLifetimeMs) throw Errors.unknownWebhook();
    if (t.responseType === null) throw Errors.unknownWebhook();
    return t;
  }

  private resolveId(t: Tracked, messageId: string): string {
    if (messageId !== '@original') {
      if (messageId !== t.originalId && !t.followUpIds.includes(messageId)) throw Errors.unknownMessage();
      return messageId;
    }
    if (t.originalId === undefined) throw Errors.unknownMessage();
    return t.originalId;
  }

  private track(command: string, channelId: string, user: APIUser): Tracked {
    const now = Date.now();
    for (const t of this.tracked.values()) {
      if (this.tracked.size < maxTracked && now - t.createdAt <= tokenLifetimeMs) break;
      this.forget(t);
    }
    const t: Tracked = {
      id: this.ids.next(),
      token: `aW50ZXJhY3Rpb246${randomBytes(48).toString('base64url')}`,
      command,
      channelId,
      user,
      createdAt: now,
      responseType: null,
      ephemeral: false,
      followUpIds: [],
      changed: new Set(),
    };
    this.tracked.set(t.id, t);
    this.byToken.set(t.token, t);
    return t;
  }

  private forget(t: Tracked): void {
    this.tracked.delete(t.id);
    this.byToken.delete(t.token);
  }

  private notify(t: Tracked): void {
    for (const listener of [...t.changed]) listener();
  }

  /** Resolves when `done()` holds (checked on every change) or after `timeoutMs`. */
  private waitUntil(t: Tracked, done: () => boolean, timeoutMs: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        t.changed.delete(listener);
        resolve(ok);
      };
      const listener = (): void => {
        if (done() || !this.tracked.has(t.id)) finish(done());
      };
      const timer = setTimeout(() => finish(done()), Math.max(0, timeoutMs));
      t.changed.add(listener);
    });
  }

  private loading(t: Tracked): boolean {
    if (t.originalId === undefined) return false;
    const original = this.store.findChannel(t.channelId)?.log.get(t.originalId);
    return original !== undefined && ((original.message.flags ?? 0) & MessageFlags.Loading) !== 0;
  }

  private async outcome(t: Tracked): Promise<InvokeResult> {
    const started = Date.now();
    const acked = await this.waitUntil(t, () => t.responseType !== null, this.timings.ackTimeoutMs);
    if (acked && t.responseType === Callback.DeferredChannelMessageWithSource) {
      await this.waitUntil(t, () => !this.loading(t), this.timings.replyTimeoutMs - (Date.now() - started));
    }
    if (acked && !t.autocomplete) {
      // Follow-ups come after the reply: keep collecting until the bot has been quiet for settleMs.
      const deadline = started + this.timings.replyTimeoutMs;
      let quiet = false;
      while (!quiet && Date.now() < deadline && this.tracked.has(t.id)) {
        let changed = false;
        const listener = (): void => {
          changed = true;
        };
        t.changed.add(listener);
        await new Promise((resolve) => setTimeout(resolve, Math.min(this.timings.settleMs, Math.max(0, deadline - Date.now()))));
        t.changed.delete(listener);
        quiet = !changed;
      }
    }
    const log = this.store.findChannel(t.channelId)?.log;
    const original = t.originalId !== undefined ? log?.get(t.originalId) : undefined;
    const result: InvokeResult = {
      interaction_id: t.id,
      command: t.command,
      channel_id: t.channelId,
      acknowledged: acked,
      response_type: t.responseType,
      deferred: t.responseType === Callback.DeferredChannelMessageWithSource,
      ephemeral: t.ephemeral,
      reply: original ? view(original) : null,
      followUps: t.followUpIds.map((id) => log?.get(id)).filter((m): m is StoredMessage => m !== undefined).map(view),
      ...(t.modal !== undefined && { modal: t.modal }),
      ...(t.autocomplete?.choices && { choices: t.autocomplete.choices }),
    };
    if (!acked) result.error = 'The application did not respond';
    else if (this.loading(t)) result.error = 'The deferred reply was not edited in time';
    return result;
  }
}
