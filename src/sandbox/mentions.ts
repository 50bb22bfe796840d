import type { MentionRecord } from './inspection.ts';
import type { AllowedMentions } from './limits.ts';

/** The mentions written in a message's content, before `allowed_mentions` is applied. */
export interface ParsedMentions {
  users: string[];
  roles: string[];
  everyone: boolean;
  here: boolean;
}

/** What the guild knows, so that only real users and roles count. */
export interface MentionContext {
  isUser(id: string): boolean;
  /** Whether the role exists and the author may ping it (mentionable, or the author may mention everyone). */
  canPingRole(id: string): boolean;
  /** Whether the author has the Mention @everyone permission. */
  canMentionEveryone: boolean;
  /** Author of the message replied to, if any: pinged unless `replied_user` says otherwise. */
  repliedUserId?: string;
}

function unique(ids: Iterable<string>): string[] {
  return [...new Set(ids)];
}

/** Parses `<@id>`, `<@!id>`, `<@&id>`, `@everyone` and `@here` out of message content. */
export function parseMentions(content: string): ParsedMentions {
  return {
    users: unique([...content.matchAll(/<@!?(\d{1,20})>/g)].map((m) => m[1] as string)),
    roles: unique([...content.matchAll(/<@&(\d{1,20})>/g)].map((m) => m[1] as string)),
    everyone: content.includes('@everyone'),
    here: content.includes('@here'),
  };
}

/**
 * Applies Discord's rules: without `allowed_mentions` everything in the content parses; with it,
 * a user or role pings only when its kind is in `parse` or its ID is listed, and @everyone/@here
 * only when `parse` has "everyone". Mentions in embeds never ping (only content is parsed).
 */
export function resolveMentions(content: string, allowed: AllowedMentions | undefined, ctx: MentionContext): MentionRecord {
  const parsed = parseMentions(content);
  const parseUsers = allowed === undefined || allowed.parse.includes('users');
  const parseRoles = allowed === undefined || allowed.parse.includes('roles');
  const parseEveryone = allowed === undefined || allowed.parse.includes('everyone');
  const users = parsed.users.filter((id) => ctx.isUser(id) && (parseUsers || allowed?.users.includes(id) === true));
  const repliedPings = ctx.repliedUserId !== undefined && (allowed === undefined || allowed.repliedUser);
  if (repliedPings && ctx.repliedUserId !== undefined && ctx.isUser(ctx.repliedUserId)) users.push(ctx.repliedUserId);
  return {
    users: unique(users),
    roles: parsed.roles.filter((id) => ctx.canPingRole(id) && (parseRoles || allowed?.roles.includes(id) === true)),
    everyone: parsed.everyone && parseEveryone && ctx.canMentionEveryone,
    here: parsed.here && parseEveryone && ctx.canMentionEveryone,
  };
}
