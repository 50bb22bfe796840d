import { EventEmitter } from 'node:events';
import type { Client } from 'discord.js';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { allowListGuard, checkAllowLists } from './allow-lists.ts';
import { paramsErrorText } from './params.ts';
import { RetryDedup, stableKey } from './retry-dedup.ts';
import { InvalidSprocketError, JobRefusedError, sprocketProblem, type ChannelTurn, type JobContext, type JobMethodDefinition, type SprocketConfig, type SprocketDefinition } from './sprocket.ts';

/** How a job call ended; the `outcome` label of zmq_notify_jobs_total. */
export type JobOutcome = 'success' | 'duplicate' | 'error' | 'invalid' | 'refused' | 'unknown_method' | 'timeout' | 'busy' | 'unloaded' | 'aborted';

/** A job call that did not succeed; `message` is what ScheduleZero is answered in `error`. */
export class JobCallError extends Error {
  constructor(
    message: string,
    readonly outcome: Exclude<JobOutcome, 'success' | 'duplicate'>,
  ) {
    super(message);
    this.name = 'JobCallError';
  }
}

/** Options for {@link JobRegistry.call}. */
export interface JobCallOptions {
  /** Aborting it stops waiting and signals the method to stop. */
  signal?: AbortSignal;
  /** Treat an identical call running now or succeeded within the window as the same job (default true). */
  dedupe?: boolean;
  /** Who called, for logs, the audit line and the record (e.g. `schedulezero`, `scheduler`, `cli`). */
  source?: string;
}

/** One finished call, as logged and emitted as `call` (for the audit channel). */
export interface JobCallRecord {
  method: string;
  sprocket?: string;
  source: string;
  outcome: JobOutcome;
  durationMs: number;
  /** The params as received, cut to 300 characters of JSON. */
  params: string;
  error?: string;
  /** The result, cut to 300 characters of JSON. */
  result?: string;
}

/** A loaded sprocket as `/zmq_sprockets list` shows it. */
export interface SprocketInfo {
  name: string;
  description?: string;
  /** Where it came from: `built-in` or the file path. */
  source: string;
  methods: string[];
  /** Its calls running now. */
  running: number;
}

/** Options for {@link JobRegistry}. */
export interface JobRegistryOptions {
  /** The discord.js client job methods get as `ctx.discord` (read at each call, so it may be created later). */
  discord: () => Client;
  logger: Logger;
  metrics?: Metrics;
  /** A call running longer is signalled to stop and fails with outcome `timeout` (default 120 s). */
  jobTimeoutMs?: number;
  /** Calls running at once at most; beyond, a call fails at once with outcome `busy` (default 64). */
  maxConcurrent?: number;
  /** How long a succeeded call's result answers identical calls (default 30 s; 0 = only while running). */
  dedupeWindowMs?: number;
  /** Succeeded calls remembered for that at most (default 1,000). */
  dedupeMax?: number;
  /** How long unload waits for the sprocket's running calls before aborting them (default 5 s). */
  unloadGraceMs?: number;
  /** Paces job messages with the bot's other sends per channel (the Outbox's); default: at once. */
  channelTurn?: ChannelTurn;
}

interface Loaded {
  definition: SprocketDefinition;
  config: SprocketConfig;
  source: string;
  /** Aborted when the sprocket is unloaded. */
  controller: AbortController;
  running: Set<Promise<unknown>>;
}

const jsonCut = (value: unknown, max = 300): string => {
  let text: string;
  try {
    text = JSON.stringify(value) ?? 'undefined';
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
};

/**
 * The job methods of the loaded sprockets, callable by name: params validated (zod), allow-lists
 * checked before the method runs, retried identical calls de-duplicated, bounded concurrency and
 * time, every call logged and counted. The JobEndpoint answers ScheduleZero through it; the
 * scheduler and the CLI call it directly.
 * @example
 * const registry = new JobRegistry({ discord: () => client, logger });
 * registry.load(coreSprocket);
 * const result = await registry.call('send_message', { channel_id: '123', content: 'hi' }, { source: 'scheduler' });
 */
export class JobRegistry extends EventEmitter<{ change: [methods: string[]]; call: [record: JobCallRecord] }> {
  private readonly options: Required<Omit<JobRegistryOptions, 'metrics'>> & { metrics?: Metrics };
  private readonly loaded = new Map<string, Loaded>();
  private readonly byMethod = new Map<string, Loaded>();
  private readonly dedup: RetryDedup<unknown>;
  private readonly closing = new AbortController();
  private running = 0;
  private methodCallers: JobContext['methods'] = {};

  constructor(options: JobRegistryOptions) {
    super();
    this.options = {
      jobTimeoutMs: 120_000,
      maxConcurrent: 64,
      dedupeWindowMs: 30_000,
      dedupeMax: 1_000,
      unloadGraceMs: 5_000,
      channelTurn: (_channelId, request) => request(),
      ...options,
    };
    this.dedup = new RetryDedup({ ttlMs: this.options.dedupeWindowMs, max: this.options.dedupeMax });
  }

  /** Adds a sprocket's methods; throws when it is not a sprocket, is loaded already, or a method name is taken. */
  load(definition: SprocketDefinition, config: SprocketConfig = {}, source = 'built-in'): void {
    const problem = sprocketProblem(definition);
    if (problem) throw new InvalidSprocketError(problem);
    if (this.loaded.has(definition.name)) throw new InvalidSprocketError(`sprocket "${definition.name}" is loaded already`);
    for (const method of Object.keys(definition.methods)) {
      const owner = this.byMethod.get(method);
      if (owner) throw new InvalidSprocketError(`sprocket "${definition.name}": method "${method}" is already provided by sprocket "${owner.definition.name}"`);
    }
    const entry: Loaded = { definition, config, source, controller: new AbortController(), running: new Set() };
    this.loaded.set(definition.name, entry);
    for (const method of Object.keys(definition.methods)) this.byMethod.set(method, entry);
    this.changed();
    this.options.logger.info({ sprocket: definition.name, source, methods: Object.keys(definition.methods) }, `sprocket ${definition.name} loaded`);
  }

  /**
   * Removes a sprocket: its methods are unknown from now on; its running calls get `unloadGraceMs`
   * to finish, then are aborted and fail with outcome `unloaded`. Resolves when they have settled.
   */
  async unload(name: string): Promise<{ finished: number; aborted: number }> {
    const entry = this.loaded.get(name);
    if (!entry) throw new InvalidSprocketError(`sprocket "${name}" is not loaded`);
    this.loaded.delete(name);
    const methods = Object.keys(entry.definition.methods);
    for (const method of methods) this.byMethod.delete(method);
    // A result of the old code must not answer a call to whatever is loaded under that name next.
    this.dedup.forget((key) => methods.some((method) => key.startsWith(`${method} `)));
    this.changed();
    const running = [...entry.running];
    let timer: NodeJS.Timeout | undefined;
    const settledInTime = await Promise.race([
      Promise.allSettled(running).then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), this.options.unloadGraceMs))),
    ]);
    clearTimeout(timer);
    const aborted = settledInTime ? 0 : entry.running.size;
    entry.controller.abort(new JobCallError(`sprocket "${name}" was unloaded while the call ran`, 'unloaded'));
    this.options.logger.info({ sprocket: name, finished: running.length - aborted, aborted }, `sprocket ${name} unloaded`);
    return { finished: running.length - aborted, aborted };
  }

  /** Whether a sprocket of that name is loaded. */
  has(name: string): boolean {
    return this.loaded.has(name);
  }

  /** The loaded sprocket's definition and config (undefined when not loaded). */
  get(name: string): { definition: SprocketDefinition; config: SprocketConfig; source: string } | undefined {
    const entry = this.loaded.get(name);
    return entry && { definition: entry.definition, config: entry.config, source: entry.source };
  }

  /** The loaded sprockets, in load order. */
  sprockets(): SprocketInfo[] {
    return [...this.loaded.values()].map((e) => ({
      name: e.definition.name,
      ...(e.definition.description === undefined ? {} : { description: e.definition.description }),
      source: e.source,
      methods: Object.keys(e.definition.methods),
      running: e.running.size,
    }));
  }

  /** Every job method name, sorted. */
  methodNames(): string[] {
    return [...this.byMethod.keys()].sort();
  }

  /** Calls running now. */
  get inFlight(): number {
    return this.running;
  }

  /**
   * Runs a job method: resolves with what it returned, or rejects with a {@link JobCallError} whose
   * message is the error text (`Unknown method: x`, `channel_id: got "a", expected …`, the method's own error).
   */
  async call(method: string, params: unknown, options: JobCallOptions = {}): Promise<unknown> {
    const started = Date.now();
    const source = options.source ?? 'api';
    const entry = this.byMethod.get(method);
    const record = (outcome: JobOutcome, extra: { error?: string; result?: unknown } = {}): void =>
      this.record({
        method,
        ...(entry ? { sprocket: entry.definition.name } : {}),
        source,
        outcome,
        durationMs: Date.now() - started,
        params: jsonCut(params),
        ...(extra.error === undefined ? {} : { error: extra.error }),
        ...('result' in extra ? { result: jsonCut(extra.result) } : {}),
      });
    const fail = (error: JobCallError): never => {
      record(error.outcome, { error: error.message });
      throw error;
    };
    if (!entry) return fail(new JobCallError(`Unknown method: ${method}`, 'unknown_method'));
    const definition = entry.definition.methods[method] as JobMethodDefinition;
    const parsed = definition.params.safeParse(params ?? {});
    if (!parsed.success) return fail(new JobCallError(paramsErrorText(params ?? {}, parsed.error), 'invalid'));
    try {
      checkAllowLists(entry.definition.name, entry.config, parsed.data);
    } catch (err) {
      return fail(new JobCallError((err as Error).message, 'refused'));
    }
    const execute = (): Promise<unknown> => this.execute(entry, method, definition, parsed.data, options.signal);
    const dedupe = options.dedupe !== false;
    const key = `${method} ${stableKey(parsed.data)}`;
    const existing = dedupe ? this.dedup.find(key) : undefined;
    const duplicate = existing !== undefined;
    if (!duplicate && this.running >= this.options.maxConcurrent) {
      return fail(new JobCallError(`busy: ${this.running} job calls are running (at most ${this.options.maxConcurrent}); try again later`, 'busy'));
    }
    const run = existing ?? (dedupe ? this.dedup.track(key, execute()) : execute());
    try {
      const value = await run;
      record(duplicate ? 'duplicate' : 'success', { result: value });
      return value;
    } catch (err) {
      const error = asCallError(err);
      record(error.outcome, { error: error.message });
      throw error;
    }
  }

  /** Aborts every running call (outcome `aborted`); used when the bot stops. */
  close(): void {
    this.closing.abort(new JobCallError('the bot is stopping', 'aborted'));
  }

  private async execute(entry: Loaded, method: string, definition: JobMethodDefinition, params: unknown, callerSignal?: AbortSignal): Promise<unknown> {
    const timeout = new AbortController();
    const signals = [timeout.signal, entry.controller.signal, this.closing.signal, ...(callerSignal ? [callerSignal] : [])];
    const signal = AbortSignal.any(signals);
    const timer = setTimeout(() => timeout.abort(new JobCallError(`timed out after ${this.options.jobTimeoutMs} ms`, 'timeout')), this.options.jobTimeoutMs);
    const name = entry.definition.name;
    const discord = this.options.discord;
    const ctx: JobContext = {
      get discord() {
        return discord();
      },
      logger: this.options.logger.child({ sprocket: name, method }),
      config: entry.config,
      methods: this.methodCallers,
      call: (other, otherParams) => this.call(other, otherParams, { dedupe: false, signal, source: `${method}` }),
      signal,
      allow: allowListGuard(name, entry.config),
      inChannelTurn: this.options.channelTurn,
    };
    const stopTimer = this.options.metrics?.jobSeconds.startTimer({ method });
    // The method keeps counting against concurrency until it settles, even after a timeout or abort.
    const work = Promise.resolve().then(() => definition.run(params, ctx));
    this.running++;
    this.options.metrics?.jobsRunning.inc();
    entry.running.add(work);
    const settle = (): void => {
      clearTimeout(timer);
      this.running--;
      this.options.metrics?.jobsRunning.dec();
      entry.running.delete(work);
      stopTimer?.();
    };
    work.then(settle, settle);
    return raceAbort(work, signal);
  }

  private record(record: JobCallRecord): void {
    this.options.metrics?.jobsTotal.inc({ method: record.sprocket ? record.method : '(unknown)', outcome: record.outcome });
    const ok = record.outcome === 'success' || record.outcome === 'duplicate';
    const text = `job ${record.method} from ${record.source}: ${record.outcome} in ${record.durationMs} ms${record.error ? `: ${record.error}` : ''}`;
    if (ok) this.options.logger.info(record, text);
    else this.options.logger.warn(record, text);
    this.emit('call', record);
  }

  private changed(): void {
    const callers: Record<string, (params?: Record<string, unknown>) => Promise<unknown>> = {};
    for (const method of this.byMethod.keys()) callers[method] = (params) => this.call(method, params, { dedupe: false, source: 'method' });
    this.methodCallers = Object.freeze(callers);
    this.emit('change', this.methodNames());
  }
}

function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(asCallError(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(asCallError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(asCallError(err));
      },
    );
  });
}

function asCallError(err: unknown): JobCallError {
  if (err instanceof JobCallError) return err;
  if (err instanceof JobRefusedError) return new JobCallError(err.message, 'refused');
  if (err instanceof Error && err.name === 'AbortError') return new JobCallError(err.message || 'aborted', 'aborted');
  if (err instanceof Error) return new JobCallError(err.message || err.name, 'error');
  return new JobCallError(String(err), 'error');
}
