/** One problem with one field, as Discord reports it inside `errors`. */
export interface FieldError {
  code: string;
  message: string;
}

/** Discord's nested error tree: keys follow the payload path; leaves hold `_errors`. */
export interface ErrorTree {
  _errors?: FieldError[];
  [key: string]: ErrorTree | FieldError[] | undefined;
}

/** A REST error answered in Discord's JSON shape `{ message, code, errors? }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly errors?: ErrorTree,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The JSON body Discord would send. */
  body(): Record<string, unknown> {
    return this.errors ? { message: this.message, code: this.code, errors: this.errors } : { message: this.message, code: this.code };
  }
}

/** Collects field errors at payload paths and builds Discord's nested `errors` object. */
export class FormErrors {
  private readonly tree: ErrorTree = {};
  private count = 0;

  /** Records an error at a path such as `['embeds', 0, 'description']`. */
  add(path: readonly (string | number)[], code: string, message: string): void {
    let node = this.tree;
    for (const key of path) {
      const k = String(key);
      const next = node[k];
      if (next === undefined || Array.isArray(next)) {
        const created: ErrorTree = {};
        node[k] = created;
        node = created;
      } else {
        node = next;
      }
    }
    (node._errors ??= []).push({ code, message });
    this.count += 1;
  }

  /** Whether any error was recorded. */
  get empty(): boolean {
    return this.count === 0;
  }

  /** Throws Discord's 400 "Invalid Form Body" (code 50035) when any error was recorded. */
  throwIfAny(): void {
    if (!this.empty) throw new ApiError(400, 50035, 'Invalid Form Body', this.tree);
  }
}

/** The errors discord.js (and the bot) can meet, with Discord's codes and messages. */
export const Errors = {
  unauthorized: () => new ApiError(401, 0, '401: Unauthorized'),
  notFound: () => new ApiError(404, 0, '404: Not Found'),
  methodNotAllowed: () => new ApiError(405, 0, '405: Method Not Allowed'),
  unknownChannel: () => new ApiError(404, 10003, 'Unknown Channel'),
  unknownGuild: () => new ApiError(404, 10004, 'Unknown Guild'),
  unknownMember: () => new ApiError(404, 10007, 'Unknown Member'),
  unknownMessage: () => new ApiError(404, 10008, 'Unknown Message'),
  unknownOverwrite: () => new ApiError(404, 10009, 'Unknown Overwrite'),
  unknownRole: () => new ApiError(404, 10011, 'Unknown Role'),
  unknownUser: () => new ApiError(404, 10013, 'Unknown User'),
  unknownWebhook: () => new ApiError(404, 10015, 'Unknown Webhook'),
  unknownCommand: () => new ApiError(404, 10063, 'Unknown application command'),
  unknownInteraction: () => new ApiError(404, 10062, 'Unknown interaction'),
  alreadyAcknowledged: () => new ApiError(400, 40060, 'Interaction has already been acknowledged.'),
  missingAccess: () => new ApiError(403, 50001, 'Missing Access'),
  dmChannelAction: () => new ApiError(400, 50003, 'Cannot execute action on a DM channel'),
  missingPermissions: () => new ApiError(403, 50013, 'Missing Permissions'),
  cannotEditOthers: () => new ApiError(403, 50005, 'Cannot edit a message authored by another user'),
  emptyMessage: () => new ApiError(400, 50006, 'Cannot send an empty message'),
  invalidWebhookToken: () => new ApiError(401, 50027, 'Invalid Webhook Token'),
  bulkDeleteTooOld: () => new ApiError(400, 50034, 'You can only bulk delete messages that are under 14 days old.'),
  invalidJson: () => new ApiError(400, 50109, 'The request body contains invalid JSON.'),
  invalidApiVersion: () => new ApiError(400, 50041, 'Invalid API version'),
  tooLarge: () => new ApiError(413, 40005, 'Request entity too large'),
} as const;
