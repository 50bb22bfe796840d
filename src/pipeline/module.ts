import type { Config } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import type { ZmqEvent } from './event.ts';

/** The event a handler receives. */
export type BotEvent = ZmqEvent;

/** Stops a handler from receiving further events; calling it again does nothing. */
export type Unsubscribe = () => void;

/** What one handler call gets besides the event and its module's context. */
export interface HandlerCall {
  /** Aborted once the call has run for `dispatcher.handler_timeout_ms`: stop the work and settle. */
  readonly signal: AbortSignal;
}

/**
 * An async event handler; what it throws or rejects with is logged and counted, never propagated.
 * A handler that does slow work passes `call.signal` on (fetch, timers) so a timeout can stop it.
 * @example
 * ctx.on('job.failed', async (event, ctx, { signal }) => {
 *   await fetch('https://example.invalid/hook', { method: 'POST', body: JSON.stringify(event.data), signal });
 * });
 */
export type Handler<X extends object = object> = (event: BotEvent, ctx: ModuleContext<X>, call: HandlerCall) => void | Promise<void>;

/** Options for {@link CoreModuleContext.on}. */
export interface HandlerOptions {
  /** Name used in logs and in the `handler` label of handler_errors_total; default `<module>:<prefix>`. */
  name?: string;
}

/**
 * What every module's context has. Apps that run more than the pipeline (the Discord bot adds
 * `post` and `discord`) extend it with `X`: see {@link ModuleContext}.
 */
export interface CoreModuleContext<X extends object = object> {
  /** The module's name, from its definition. */
  readonly name: string;
  /** Registers a handler for every event whose topic starts with `prefix` ('' = every event). */
  on(prefix: string, handler: Handler<X>, options?: HandlerOptions): Unsubscribe;
  /** The whole validated configuration. */
  readonly config: Config;
  /** A child logger tagged with the module's name. */
  readonly logger: Logger;
}

/** The context a module's `setup` and handlers receive: the core plus what the app adds (`X`). */
export type ModuleContext<X extends object = object> = CoreModuleContext<X> & X;

/** Undoes what `setup` started (timers, connections); run when the app stops. */
export type ModuleCleanup = () => void | Promise<void>;

/** A handler module: a name and a `setup` that registers handlers. */
export interface ModuleDefinition<X extends object = object> {
  readonly name: string;
  // A property rather than a method, so a module that needs extensions (X) is not accepted by an
  // app that does not provide them.
  readonly setup: (ctx: ModuleContext<X>) => void | ModuleCleanup | Promise<void | ModuleCleanup>;
}

/** Raised for a module definition without a usable name or setup function. */
export class InvalidModuleError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidModuleError';
  }
}

/** Why a value is not a module definition, or undefined when it is one. */
export function moduleProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return `expected an object { name, setup }, got ${value === null ? 'null' : typeof value}`;
  const { name, setup } = value as { name?: unknown; setup?: unknown };
  if (typeof name !== 'string' || name.trim() === '') return `expected "name" to be a non-empty string, got ${JSON.stringify(name) ?? typeof name}`;
  if (typeof setup !== 'function') return `module "${name}": expected "setup" to be a function, got ${typeof setup}`;
  return undefined;
}

/** Whether a value has the shape of a module definition (a name and a setup function). */
export function isModuleDefinition(value: unknown): value is ModuleDefinition<object> {
  return moduleProblem(value) === undefined;
}

/**
 * Declares a handler module; a module file default-exports the result. `setup` runs once at start
 * with the module's context: register handlers with `ctx.on(prefix, handler)`, and return a
 * cleanup function to run when the bot stops. Throws an `InvalidModuleError` when `name` is empty
 * or `setup` is not a function. Give the bot's extensions as `X` to post to Discord from it.
 * @example
 * import { defineModule, type DiscordExtensions } from 'zmq-notify';
 *
 * export default defineModule<DiscordExtensions>({
 *   name: 'backup-alerts',
 *   setup(ctx) {
 *     const off = ctx.on('job.failed', async (event) => {
 *       if (event.data.job_name !== 'backup') return;
 *       await ctx.post('1234567890123456789', { title: `Backup failed: ${String(event.data.error)}` }, { event });
 *     });
 *     return () => off();
 *   },
 * });
 */
export function defineModule<X extends object = object>(definition: ModuleDefinition<X>): ModuleDefinition<X> {
  const problem = moduleProblem(definition);
  if (problem) throw new InvalidModuleError(`defineModule: ${problem}`);
  return Object.freeze({ name: definition.name, setup: definition.setup });
}
