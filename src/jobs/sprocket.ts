import type { Client } from 'discord.js';
import type { z } from 'zod';
import type { Logger } from '../observability/logger.ts';

/** A sprocket's own settings: what its `sprockets:` entry gives besides `use` (allow-lists, options). */
export interface SprocketConfig {
  /** Channels its methods may touch; absent = any. */
  channels?: readonly string[];
  /** Roles its methods may mention or change; absent = any. */
  roles?: readonly string[];
  /** Users its methods may DM or change; absent = any. */
  users?: readonly string[];
  /** Guilds its methods may act in; absent = any. */
  guilds?: readonly string[];
  /** Whether its methods may ping @everyone. */
  allow_everyone?: boolean;
  /** Anything else the sprocket documents. */
  [key: string]: unknown;
}

/** Calls another job method by name (validated and allow-list checked like any call, never de-duplicated). */
export type MethodCaller = (method: string, params?: Record<string, unknown>) => Promise<unknown>;

/** What a job method receives besides its params. */
export interface JobContext<C extends SprocketConfig = SprocketConfig> {
  /** The logged-in discord.js client (REST calls go through `discord.rest`). */
  readonly discord: Client;
  /** A child logger tagged with the sprocket and method. */
  readonly logger: Logger;
  /** This sprocket's own config. */
  readonly config: C;
  /** Every loaded job method, by name, so one method can call another. */
  readonly methods: Readonly<Record<string, (params?: Record<string, unknown>) => Promise<unknown>>>;
  /** The same as `methods[name](params)`. */
  readonly call: MethodCaller;
  /** Aborted when the job times out, its sprocket is unloaded, or the bot stops. */
  readonly signal: AbortSignal;
  /** Throws a {@link JobRefusedError} unless this sprocket's allow-lists permit the ID. */
  readonly allow: AllowListGuard;
  /** Runs a message request to a channel in its turn with the bot's other sends (the Outbox's pacing), so neither meets a 429 the other caused. */
  readonly inChannelTurn: ChannelTurn;
}

/** Runs `request` (a message creation in `channelId`) when the channel may send. */
export type ChannelTurn = <T>(channelId: string, request: () => Promise<T>) => Promise<T>;

/** Checks IDs against a sprocket's allow-lists; each throws {@link JobRefusedError} when refused. */
export interface AllowListGuard {
  channel(id: string): void;
  role(id: string): void;
  user(id: string): void;
  guild(id: string): void;
  everyone(): void;
}

/** One job method: a zod schema for its params and the function that does the work. */
export interface JobMethodDefinition<S extends z.ZodType = z.ZodType, C extends SprocketConfig = SprocketConfig> {
  /** Validates (and may transform) the request's `params`; errors are answered as `"<param>: <what is wrong>"`. */
  readonly params: S;
  /** Does the job; a plain object is answered as `{"success": true, ...result}`, anything else as `{"success": true, "result": value}`. */
  readonly run: (params: z.output<S>, ctx: JobContext<C>) => unknown;
  /** One line for `/zmq_sprockets list` and the README. */
  readonly description?: string;
}

/** A sprocket: a named group of job methods, loadable and unloadable while the bot runs. */
export interface SprocketDefinition<C extends SprocketConfig = SprocketConfig> {
  readonly name: string;
  readonly description?: string;
  // Each method keeps its own params type; `any` here lets a record of differently typed methods be one sprocket.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly methods: Readonly<Record<string, JobMethodDefinition<any, C>>>;
}

/** What {@link defineSprocket} takes: each method's `run` is typed by its own `params` schema. */
export interface SprocketInput<S extends Record<string, z.ZodType>, C extends SprocketConfig = SprocketConfig> {
  readonly name: string;
  readonly description?: string;
  readonly methods: { readonly [K in keyof S]: JobMethodDefinition<S[K], C> };
}

/** Raised for a value that is not a usable sprocket definition. */
export class InvalidSprocketError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidSprocketError';
  }
}

/** Raised by an allow-list check: the job is refused before any Discord call. */
export class JobRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobRefusedError';
  }
}

const METHOD_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,99}$/;
/** Names the protocol itself answers; a sprocket cannot take them. */
export const reservedMethods: ReadonlySet<string> = new Set(['ping']);

/** Why a value is not a sprocket definition, or undefined when it is one. */
export function sprocketProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return `expected an object { name, methods }, got ${value === null ? 'null' : typeof value}`;
  const { name, methods } = value as { name?: unknown; methods?: unknown };
  if (typeof name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(name)) return `expected "name" to be 1-64 letters, digits, _ or -, got ${JSON.stringify(name) ?? typeof name}`;
  if (methods === null || typeof methods !== 'object' || Array.isArray(methods)) return `sprocket "${name}": expected "methods" to be an object of job methods`;
  for (const [method, def] of Object.entries(methods)) {
    if (!METHOD_NAME.test(method)) return `sprocket "${name}": method name ${JSON.stringify(method)} is not usable (letters, digits, _ . -, starting with a letter or _)`;
    if (reservedMethods.has(method)) return `sprocket "${name}": "${method}" is answered by the job endpoint itself`;
    const { params, run } = (def ?? {}) as { params?: { safeParse?: unknown }; run?: unknown };
    if (typeof params?.safeParse !== 'function') return `sprocket "${name}": method "${method}" needs a zod schema in "params"`;
    if (typeof run !== 'function') return `sprocket "${name}": method "${method}" needs a "run" function`;
  }
  return undefined;
}

/**
 * Declares a sprocket; a sprocket file default-exports the result.
 * @example
 * import { z } from 'zod';
 * export default defineSprocket({
 *   name: 'greetings',
 *   methods: {
 *     say_hello: {
 *       params: z.object({ channel_id: z.string() }),
 *       run: async ({ channel_id }, ctx) => ctx.call('send_message', { channel_id, content: 'Hello!' }),
 *     },
 *   },
 * });
 */
export function defineSprocket<S extends Record<string, z.ZodType>, C extends SprocketConfig = SprocketConfig>(definition: SprocketInput<S, C>): SprocketDefinition<C> {
  const problem = sprocketProblem(definition);
  if (problem) throw new InvalidSprocketError(`defineSprocket: ${problem}`);
  return Object.freeze({ ...definition, methods: Object.freeze({ ...definition.methods }) as SprocketDefinition<C>['methods'] });
}
