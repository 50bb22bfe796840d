import type { APIEmbed } from 'discord.js';
import { EmbedLimits } from '../shared/discord-limits.ts';
import { isObject } from '../shared/json.ts';
import { isSnowflake } from '../shared/snowflake.ts';
import { Errors, FormErrors } from './errors.ts';

/** Discord's message limits, in characters (Unicode code points, as Discord counts them). */
export const MessageLimits = {
  ...EmbedLimits,
  allowedMentionIds: 100,
  nonce: 25,
  components: 40,
} as const;

/** The `allowed_mentions` object of a message payload, validated. */
export interface AllowedMentions {
  parse: ('users' | 'roles' | 'everyone')[];
  users: string[];
  roles: string[];
  repliedUser: boolean;
}

/** A message payload (create or edit) after validation; absent keys stay undefined. */
export interface MessageInput {
  content?: string | null;
  embeds?: APIEmbed[];
  allowedMentions?: AllowedMentions;
  flags?: number;
  components?: unknown[];
  tts?: boolean;
  nonce?: string | number;
  /** With a nonce: a create repeating a recent one's nonce returns that message instead (Discord's de-duplication). */
  enforceNonce?: boolean;
  messageReference?: { message_id: string; channel_id?: string; fail_if_not_exists: boolean };
}

type Path = (string | number)[];

/** Length as Discord counts it: code points, so an emoji is one character. */
export function charLength(text: string): number {
  let surrogates = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) surrogates += 1;
  }
  return text.length - surrogates;
}

function maxLength(errors: FormErrors, path: Path, text: string, max: number): void {
  if (charLength(text) > max) errors.add(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length.`);
}

/** Reads a string field; numbers are coerced as Discord does, anything else is an error. */
function stringField(errors: FormErrors, path: Path, value: unknown, max: number, required = false): string | undefined {
  if (value === undefined || value === null) {
    if (required) errors.add(path, 'BASE_TYPE_REQUIRED', 'This field is required');
    return undefined;
  }
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    errors.add(path, 'STRING_TYPE_CONVERT', `Could not interpret "${JSON.stringify(value)}" as string.`);
    return undefined;
  }
  const text = String(value);
  maxLength(errors, path, text, max);
  return text;
}

function urlField(errors: FormErrors, path: Path, value: unknown, schemes: readonly string[], required = false): string | undefined {
  const text = stringField(errors, path, value, 2048, required);
  if (text === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    errors.add(path, 'URL_TYPE_INVALID_URL', 'Not a well formed URL.');
    return undefined;
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  if (!schemes.includes(scheme)) {
    errors.add(path, 'URL_TYPE_INVALID_SCHEME', `Scheme "${scheme}" is not supported. Scheme must be one of (${schemes.map((s) => `'${s}'`).join(', ')}).`);
    return undefined;
  }
  return text;
}

const webSchemes = ['http', 'https'] as const;
const mediaSchemes = ['http', 'https', 'attachment'] as const;

function normalizeEmbed(errors: FormErrors, path: Path, raw: unknown): { embed: APIEmbed; size: number } | undefined {
  if (!isObject(raw)) {
    errors.add(path, 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
    return undefined;
  }
  const embed: APIEmbed = { type: 'rich' as APIEmbed['type'] };
  let size = 0;
  const title = stringField(errors, [...path, 'title'], raw.title, MessageLimits.title);
  if (title !== undefined) {
    embed.title = title;
    size += charLength(title);
  }
  const description = stringField(errors, [...path, 'description'], raw.description, MessageLimits.description);
  if (description !== undefined) {
    embed.description = description;
    size += charLength(description);
  }
  const url = urlField(errors, [...path, 'url'], raw.url, webSchemes);
  if (url !== undefined) embed.url = url;
  if (raw.timestamp !== undefined && raw.timestamp !== null) {
    const parsed = typeof raw.timestamp === 'string' || typeof raw.timestamp === 'number' ? new Date(raw.timestamp) : new Date(Number.NaN);
    if (Number.isNaN(parsed.getTime())) {
      errors.add([...path, 'timestamp'], 'DATE_TIME_TYPE_PARSE', `Could not parse ${JSON.stringify(raw.timestamp)}. Should be ISO8601.`);
    } else {
      embed.timestamp = parsed.toISOString().replace('Z', '+00:00');
    }
  }
  if (raw.color !== undefined && raw.color !== null) {
    const color = raw.color;
    if (typeof color !== 'number' || !Number.isInteger(color)) {
      errors.add([...path, 'color'], 'NUMBER_TYPE_COERCE', `Value "${String(color)}" is not int.`);
    } else if (color < 0) {
      errors.add([...path, 'color'], 'NUMBER_TYPE_MIN', 'int value should be greater than or equal to 0.');
    } else if (color > 0xffffff) {
      errors.add([...path, 'color'], 'NUMBER_TYPE_MAX', 'int value should be less than or equal to 16777215.');
    } else {
      embed.color = color;
    }
  }
  if (raw.footer !== undefined && raw.footer !== null) {
    if (!isObject(raw.footer)) {
      errors.add([...path, 'footer'], 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
    } else {
      const text = stringField(errors, [...path, 'footer', 'text'], raw.footer.text, MessageLimits.footerText, true);
      const icon = urlField(errors, [...path, 'footer', 'icon_url'], raw.footer.icon_url, mediaSchemes);
      if (text !== undefined) {
        embed.footer = icon === undefined ? { text } : { text, icon_url: icon };
        size += charLength(text);
      }
    }
  }
  if (raw.author !== undefined && raw.author !== null) {
    if (!isObject(raw.author)) {
      errors.add([...path, 'author'], 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
    } else {
      const name = stringField(errors, [...path, 'author', 'name'], raw.author.name, MessageLimits.authorName, true);
      const authorUrl = urlField(errors, [...path, 'author', 'url'], raw.author.url, webSchemes);
      const icon = urlField(errors, [...path, 'author', 'icon_url'], raw.author.icon_url, mediaSchemes);
      if (name !== undefined) {
        embed.author = { name, ...(authorUrl !== undefined && { url: authorUrl }), ...(icon !== undefined && { icon_url: icon }) };
        size += charLength(name);
      }
    }
  }
  for (const key of ['image', 'thumbnail'] as const) {
    const media = raw[key];
    if (media === undefined || media === null) continue;
    if (!isObject(media)) {
      errors.add([...path, key], 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
      continue;
    }
    const mediaUrl = urlField(errors, [...path, key, 'url'], media.url, mediaSchemes, true);
    if (mediaUrl !== undefined) embed[key] = { url: mediaUrl };
  }
  if (raw.fields !== undefined && raw.fields !== null) {
    if (!Array.isArray(raw.fields)) {
      errors.add([...path, 'fields'], 'BASE_TYPE_ARRAY', 'Must be an array.');
    } else if (raw.fields.length > MessageLimits.fields) {
      errors.add([...path, 'fields'], 'BASE_TYPE_MAX_LENGTH', `Must be ${MessageLimits.fields} or fewer in length.`);
    } else {
      embed.fields = [];
      raw.fields.forEach((field: unknown, i) => {
        const fieldPath = [...path, 'fields', i];
        if (!isObject(field)) {
          errors.add(fieldPath, 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
          return;
        }
        const name = stringField(errors, [...fieldPath, 'name'], field.name, MessageLimits.fieldName, true);
        const value = stringField(errors, [...fieldPath, 'value'], field.value, MessageLimits.fieldValue, true);
        if (name === undefined || value === undefined) return;
        embed.fields?.push({ name, value, inline: field.inline === true });
        size += charLength(name) + charLength(value);
      });
    }
  }
  return { embed, size };
}

function parseAllowedMentions(errors: FormErrors, raw: unknown): AllowedMentions | undefined {
  if (raw === undefined || raw === null) return undefined;
  const path = ['allowed_mentions'];
  if (!isObject(raw)) {
    errors.add(path, 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
    return undefined;
  }
  const result: AllowedMentions = { parse: [], users: [], roles: [], repliedUser: raw.replied_user === true };
  if (raw.parse !== undefined && raw.parse !== null) {
    if (!Array.isArray(raw.parse)) {
      errors.add([...path, 'parse'], 'BASE_TYPE_ARRAY', 'Must be an array.');
    } else {
      raw.parse.forEach((value: unknown, i) => {
        if (value === 'users' || value === 'roles' || value === 'everyone') {
          if (!result.parse.includes(value)) result.parse.push(value);
        } else {
          errors.add([...path, 'parse', i], 'ENUM_TYPE_COERCE', `Value "${String(value)}" is not a valid enum value.`);
        }
      });
    }
  }
  for (const key of ['users', 'roles'] as const) {
    const list = raw[key];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) {
      errors.add([...path, key], 'BASE_TYPE_ARRAY', 'Must be an array.');
      continue;
    }
    if (list.length > MessageLimits.allowedMentionIds) {
      errors.add([...path, key], 'BASE_TYPE_MAX_LENGTH', `Must be ${MessageLimits.allowedMentionIds} or fewer in length.`);
      continue;
    }
    list.forEach((id: unknown, i) => {
      const text = typeof id === 'string' || typeof id === 'number' ? String(id) : '';
      if (!isSnowflake(text)) errors.add([...path, key, i], 'NUMBER_TYPE_COERCE', `Value "${String(id)}" is not snowflake.`);
      else result[key].push(text);
    });
    const parseKey = key === 'users' ? 'users' : 'roles';
    if (result.parse.includes(parseKey) && result[key].length > 0) {
      errors.add(path, 'MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE', `parse:["${parseKey}"] and ${key}: [ids...] are mutually exclusive.`);
    }
  }
  return result;
}

/**
 * Validates a message body (channel message, interaction reply, webhook message) against
 * Discord's limits. Throws Discord's 400 (code 50035 with the nested `errors` tree) on any
 * violation. `requireBody` applies the create rule that a message must not be empty.
 */
export function validateMessage(raw: unknown, opts: { requireBody: boolean; hasFiles?: boolean }): MessageInput {
  if (!isObject(raw)) {
    if (opts.requireBody && !opts.hasFiles) throw Errors.emptyMessage();
    return {};
  }
  const errors = new FormErrors();
  const input: MessageInput = {};
  if (raw.content === null) input.content = null;
  else {
    const content = stringField(errors, ['content'], raw.content, MessageLimits.content);
    if (content !== undefined) input.content = content;
  }
  if (raw.embeds !== undefined && raw.embeds !== null) {
    if (!Array.isArray(raw.embeds)) {
      errors.add(['embeds'], 'BASE_TYPE_ARRAY', 'Must be an array.');
    } else if (raw.embeds.length > MessageLimits.embedsPerMessage) {
      errors.add(['embeds'], 'BASE_TYPE_MAX_LENGTH', `Must be ${MessageLimits.embedsPerMessage} or fewer in length.`);
    } else {
      let total = 0;
      input.embeds = [];
      raw.embeds.forEach((e: unknown, i) => {
        const normalized = normalizeEmbed(errors, ['embeds', i], e);
        if (!normalized) return;
        input.embeds?.push(normalized.embed);
        total += normalized.size;
      });
      if (total > MessageLimits.total) {
        errors.add(['embeds'], 'MAX_EMBED_SIZE_EXCEEDED', `Embed size exceeds maximum size of ${MessageLimits.total}`);
      }
    }
  }
  const allowed = parseAllowedMentions(errors, raw.allowed_mentions);
  if (allowed) input.allowedMentions = allowed;
  if (raw.flags !== undefined && raw.flags !== null) {
    if (typeof raw.flags !== 'number' || !Number.isInteger(raw.flags)) errors.add(['flags'], 'NUMBER_TYPE_COERCE', `Value "${String(raw.flags)}" is not int.`);
    else input.flags = raw.flags;
  }
  if (raw.components !== undefined && raw.components !== null) {
    if (!Array.isArray(raw.components)) errors.add(['components'], 'BASE_TYPE_ARRAY', 'Must be an array.');
    else if (raw.components.length > MessageLimits.components) errors.add(['components'], 'BASE_TYPE_MAX_LENGTH', `Must be ${MessageLimits.components} or fewer in length.`);
    else input.components = raw.components;
  }
  if (raw.tts !== undefined && raw.tts !== null) input.tts = raw.tts === true;
  if (raw.nonce !== undefined && raw.nonce !== null) {
    if (typeof raw.nonce === 'number' && Number.isInteger(raw.nonce)) input.nonce = raw.nonce;
    else if (typeof raw.nonce === 'string') {
      maxLength(errors, ['nonce'], raw.nonce, MessageLimits.nonce);
      input.nonce = raw.nonce;
    } else errors.add(['nonce'], 'STRING_TYPE_CONVERT', `Could not interpret "${JSON.stringify(raw.nonce)}" as string.`);
  }
  if (raw.enforce_nonce !== undefined && raw.enforce_nonce !== null) {
    if (typeof raw.enforce_nonce !== 'boolean') errors.add(['enforce_nonce'], 'BASE_TYPE_BOOLEAN', 'Must be either true or false.');
    else input.enforceNonce = raw.enforce_nonce;
  }
  if (raw.message_reference !== undefined && raw.message_reference !== null) {
    const ref = raw.message_reference;
    const id = isObject(ref) ? ref.message_id : undefined;
    if (!isObject(ref) || (typeof id !== 'string' && typeof id !== 'number')) {
      errors.add(['message_reference', 'message_id'], 'BASE_TYPE_REQUIRED', 'This field is required');
    } else {
      input.messageReference = {
        message_id: String(id),
        ...(typeof ref.channel_id === 'string' && { channel_id: ref.channel_id }),
        fail_if_not_exists: ref.fail_if_not_exists !== false,
      };
    }
  }
  errors.throwIfAny();
  if (opts.requireBody && !opts.hasFiles && isEmpty(input)) throw Errors.emptyMessage();
  return input;
}

/** Whether a message would have nothing to show (Discord's 50006). */
export function isEmpty(input: { content?: string | null; embeds?: unknown[]; components?: unknown[] }, attachments = 0): boolean {
  return !input.content && (input.embeds?.length ?? 0) === 0 && (input.components?.length ?? 0) === 0 && attachments === 0;
}
