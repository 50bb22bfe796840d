import { isIP } from 'node:net';
import { z } from 'zod';
import { SNOWFLAKE } from '../shared/snowflake.ts';
import { createTrigger, isTimeZone, TIME_ZONE_EXPECTED, TriggerError, type TriggerSpec } from '../jobs/scheduler/trigger.ts';

/** A Discord ID: a string of digits. A safe integer is accepted and turned into its digits. */
export const snowflake = z
  .union([z.string(), z.number().int().nonnegative().refine(Number.isSafeInteger)])
  .transform((v) => String(v))
  .pipe(z.string().regex(SNOWFLAKE, 'a Discord ID (a snowflake: a string of up to 20 digits)'));

const endpoint = z
  .string()
  .regex(/^(tcp|ipc|inproc|pgm|epgm|ws|wss):\/\/.+/, 'a ZeroMQ endpoint such as tcp://127.0.0.1:4243 or ipc:///tmp/events.sock');

const port = z.number().int().min(0).max(65535);
const host = z.string().min(1);
const positiveInt = z.number().int().positive();

export const severities = ['debug', 'info', 'warning', 'error', 'critical'] as const;
export type Severity = (typeof severities)[number];

const channels = z
  .object({
    job_failed: snowflake.nullish(),
    job_executed: snowflake.nullish(),
    handler_status: snowflake.nullish(),
    scheduler: snowflake.nullish(),
    /** An audit line for every job call (ScheduleZero's, the scheduler's, the CLI's). */
    jobs: snowflake.nullish(),
    /** Where the Outbox posts a notice and copies of the held alerts while another channel refuses messages (403/404). */
    fallback: snowflake.nullish(),
  })
  .strict();

/** An IPv4/IPv6 address, or one with a prefix length (`10.0.0.0/8`). */
function isIpOrSubnet(entry: string): boolean {
  const [address = '', prefix, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

/** The job-handler side: the seed's handler file (handler_id, handler_port, server_address, api_endpoint) plus our own settings. */
export const schedulezeroSchema = z
  .object({
    handler_id: z.string().min(1).max(100),
    handler_port: port.default(5000),
    server_address: endpoint.default('tcp://127.0.0.1:4242'),
    /** ScheduleZero's REST API (kept from the seed's file; the bot does not call it). */
    api_endpoint: z.string().nullish(),
    /** Interface the job endpoint binds; 127.0.0.1 unless ScheduleZero runs on another host. */
    handler_host: host.default('127.0.0.1'),
    /** The address registered with the server, when it must differ from tcp://handler_host:handler_port (e.g. behind NAT). */
    advertise_address: endpoint.nullish(),
    /** Peer IPs or subnets allowed to call jobs (ZeroMQ ZAP); absent = anyone who can reach the port. */
    allow_ips: z.array(z.string().refine(isIpOrSubnet, 'an IP address or subnet such as 10.0.0.5, 10.0.0.0/8 or ::1')).nullish(),
    /** A job still running after this long is answered "pending" (ScheduleZero gives up at 10 s). */
    reply_timeout_ms: z.number().int().min(100).max(9_500).default(8_000),
    /** A job running longer is signalled to stop and counted as timed out. */
    job_timeout_ms: positiveInt.default(120_000),
    max_concurrent_jobs: positiveInt.default(64),
    /** An identical call within this many seconds after one succeeded is ScheduleZero retrying it: answered with the first result. 0 = only while running. */
    dedupe_window_s: z.number().nonnegative().default(30),
    /** How often the registration is checked with a ping. */
    ping_interval_s: positiveInt.default(30),
  })
  .strict();

/** A `sprockets:` entry: a built-in name or a file path, or `{ use, ...its config }`. */
export const sprocketEntrySchema = z.union([
  z.string().min(1),
  z
    .object({
      use: z.string().min(1),
      channels: z.array(snowflake).optional(),
      roles: z.array(snowflake).optional(),
      users: z.array(snowflake).optional(),
      guilds: z.array(snowflake).optional(),
      allow_everyone: z.boolean().optional(),
    })
    .catchall(z.unknown()),
]);

const durationUnits: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration: seconds as a number, or a string such as `90s`, `30m`, `24h`, `7d`; in milliseconds. */
const duration = z.union([
  z
    .number()
    .positive()
    .transform((s) => s * 1000),
  z
    .string()
    .regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/, 'a duration such as 90s, 30m, 24h or 7d (or a number of seconds)')
    .transform((text) => {
      const [, amount, unit] = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(text)!;
      return Number(amount) * durationUnits[unit!]!;
    }),
]);

const timeZone = z.string().refine(isTimeZone, TIME_ZONE_EXPECTED);

/** How late or overlapping runs of a scheduled job are treated; `scheduler.job_defaults`, overridable per schedule. */
const jobPolicy = {
  /** Several runs missed (bot down or busy) become one catch-up run, instead of one job.missed each. */
  coalesce: z.boolean(),
  /** Runs of one job at the same time at most; a run due beyond it is skipped, counted and logged. */
  max_instances: positiveInt.max(100),
  /** A run that cannot start within this many seconds of its time is job.missed; null = never too late. */
  misfire_grace_time_s: z.number().nonnegative().nullable(),
};

const scheduleId = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, '1-64 letters, digits, _ . : or -');

/** One entry of `schedules:`: exactly one of cron, every or at; the trigger is checked here, the method once the registry is loaded. */
const schedule = z
  .object({
    id: scheduleId,
    cron: z.string().optional(),
    every: z.string().optional(),
    at: z.string().optional(),
    /** The zone cron and a zone-less `at` are read in; default scheduler.timezone. */
    timezone: timeZone.optional(),
    method: z.string().min(1),
    params: z.record(z.string(), z.unknown()).default({}),
    /** Also post each run's outcome to scheduler.dev_channel. */
    send_alert: z.boolean().default(false),
    coalesce: jobPolicy.coalesce.optional(),
    max_instances: jobPolicy.max_instances.optional(),
    misfire_grace_time_s: jobPolicy.misfire_grace_time_s.optional(),
  })
  .strict()
  .superRefine((entry, ctx) => {
    const given = (['cron', 'every', 'at'] as const).filter((key) => entry[key] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: 'custom', path: given.length === 0 ? [] : [given[1]!], message: 'exactly one of cron, every or at' });
      return;
    }
    const key = given[0]!;
    try {
      // The zone does not change whether an expression is valid; a bad zone is the timezone key's own issue.
      createTrigger({ [key]: entry[key], timezone: entry.timezone !== undefined && isTimeZone(entry.timezone) ? entry.timezone : 'UTC' } as TriggerSpec, 0);
    } catch (err) {
      if (!(err instanceof TriggerError)) throw err;
      ctx.addIssue({ code: 'custom', path: [err.field], message: err.expected });
    }
  });

/** The configuration file's schema; defaults here are the ones every deployment gets. */
export const configSchema = z
  .object({
    zmq_pub_address: z.union([endpoint, z.array(endpoint).min(1)]).default('tcp://127.0.0.1:4243'),
    topics: z.array(z.string()).default(['job.', 'handler.', 'scheduler.']),
    notification_channels: channels.default({}),
    filters: z
      .object({
        notify_only_on_failure: z.boolean().default(false),
        min_severity: z
          .string()
          .transform((s) => (s.toLowerCase() === 'warn' ? 'warning' : s.toLowerCase()))
          .pipe(z.enum(severities))
          .default('info'),
      })
      .strict()
      .prefault({}),
    /** The built-in failure alerts: repeat suppression, recovered notices, the heartbeat watchdog. */
    alerts: z
      .object({
        /** Edit a job's alert with the count and last error while it keeps failing, instead of posting each failure. */
        suppress_repeats: z.boolean().default(true),
        /** A failure within this many seconds of the job's previous one belongs to the same series (one alert, edited). */
        repeat_window_s: positiveInt.default(600),
        /** A series older than this gets a fresh alert (a new message) even if the job never stopped failing. */
        repeat_renotify_s: positiveInt.default(3_600),
        /** Post a "recovered" notice when a failing job executes successfully. */
        recovered_notices: z.boolean().default(true),
        /** How long a failing job is remembered for its "recovered" notice, seconds after its last failure. */
        recovery_window_s: positiveInt.default(604_800),
        /** Failing jobs remembered at most (least recently failed forgotten first). */
        max_tracked_jobs: positiveInt.default(10_000),
        /** A scheduler that sent heartbeats and then none for this many seconds is reported silent; null or 0 = no watchdog. */
        heartbeat_timeout_s: z.number().nonnegative().nullable().default(90),
        /** Schedulers (deployments) the heartbeat watchdog follows at most (least recently heard forgotten first). */
        max_watched_schedulers: positiveInt.default(1_000),
      })
      .strict()
      .prefault({}),
    subscriber: z
      .object({
        /** Messages ZeroMQ buffers before dropping (blindly, seen only as sequence gaps); about 1 KB each.
         *  As large as the queue: a backlog belongs in the queue, where priorities decide what is dropped. */
        receive_hwm: positiveInt.default(10_000),
        reconnect_interval_ms: positiveInt.default(100),
        reconnect_max_interval_ms: z.number().int().nonnegative().default(5_000),
        max_payload_bytes: positiveInt.default(1_048_576),
      })
      .strict()
      .prefault({}),
    discord: z
      .object({
        token_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').default('DISCORD_TOKEN'),
        guild_id: snowflake.nullish(),
        application_id: snowflake.nullish(),
        /** REST API base URL (e.g. a sandbox's http://127.0.0.1:8099/api); null = Discord's own. */
        api_url: z.url({ protocol: /^https?$/, error: 'an http(s) URL such as http://127.0.0.1:8099/api' }).nullish(),
      })
      .strict()
      .prefault({}),
    queue: z
      .object({
        capacity: positiveInt.default(10_000),
        /** Topic prefix → priority; the longest matching prefix wins, higher outranks lower. */
        priorities: z.record(z.string(), z.number().int()).default({
          'job.failed': 100,
          'job.missed': 100,
          'scheduler.stopped': 100,
          'scheduler.heartbeat': 0,
        }),
        default_priority: z.number().int().default(50),
      })
      .strict()
      .prefault({}),
    dispatcher: z
      .object({
        concurrency: positiveInt.default(16),
        handler_timeout_ms: positiveInt.default(10_000),
        /** After the timeout aborts a call, how long it keeps its slot to settle before it is abandoned. */
        abandon_after_ms: positiveInt.default(5_000),
        max_events_per_second: positiveInt.nullable().default(null),
      })
      .strict()
      .prefault({}),
    http: z
      .object({ enabled: z.boolean().default(true), host: host.default('127.0.0.1'), port: port.default(9464) })
      .strict()
      .prefault({}),
    outbox: z
      .object({
        /** Full events kept per channel while it waits; beyond, events fold into digest counters (job.failed/job.missed kept first). */
        per_channel_pending: positiveInt.default(500),
        /** First retry delay after a 5xx, a timeout or no connection; it doubles (with jitter) up to retry_max_delay_ms. */
        retry_base_delay_ms: positiveInt.default(1_000),
        /** Longest wait between two tries while Discord is down (at most 60 s, so an alert follows within a minute of its return). */
        retry_max_delay_ms: positiveInt.max(60_000).default(30_000),
        /** First re-probe of a channel that answered 403/404; it doubles up to probe_max_delay_ms. */
        probe_base_delay_ms: positiveInt.default(5_000),
        probe_max_delay_ms: positiveInt.default(300_000),
        /** An alert still pending after this long is given up on (counted expired, reported once the channel works again). */
        max_age: duration.prefault('24h'),
      })
      .strict()
      .prefault({}),
    /** The embedded database: the Outbox spool and the alert series. */
    storage: z
      .object({
        /** The SQLite file, relative to the config file; ":memory:" keeps nothing across restarts (tests). */
        path: z.string().min(1).default('data/zmq-notify.db'),
      })
      .strict()
      .prefault({}),
    shutdown: z
      .object({ drain_timeout_ms: z.number().int().nonnegative().default(10_000) })
      .strict()
      .prefault({}),
    modules: z.array(z.string().min(1)).default([]),
    /** The ScheduleZero job handler, inline or a path to the seed's handler file (relative to this file); absent = off. */
    schedulezero: schedulezeroSchema.nullish(),
    /** Job-method sprockets (for ScheduleZero and the bot's own scheduler); default [core, announcement]. moderation only when listed. */
    sprockets: z.array(sprocketEntrySchema).nullish(),
    sandbox: z
      .object({
        host: host.default('127.0.0.1'),
        port: port.default(8099),
        /** Name of an environment variable holding the sandbox's token; generated when unset. */
        token_env: z.string().default('ZMQ_NOTIFY_SANDBOX_TOKEN'),
        guild_name: z.string().min(1).max(100).default('zmq-notify sandbox'),
      })
      .strict()
      .prefault({}),
    /** The scheduler inside the bot: `schedules:` run job methods on cron, interval and date triggers. */
    scheduler: z
      .object({
        /** The zone cron expressions and zone-less `at` dates are read in, unless a schedule names its own. */
        timezone: timeZone.default('UTC'),
        /** Where `send_alert` schedules post each run's outcome; null = nowhere. */
        dev_channel: snowflake.nullish(),
        /** Members with one of these roles may use /schedule, besides administrators. */
        manager_roles: z.array(snowflake).max(50).default([]),
        job_defaults: z
          .object({
            coalesce: jobPolicy.coalesce.default(false),
            max_instances: jobPolicy.max_instances.default(3),
            misfire_grace_time_s: jobPolicy.misfire_grace_time_s.default(15),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    schedules: z
      .array(schedule)
      .default([])
      .superRefine((entries, ctx) => {
        const seen = new Set<string>();
        entries.forEach((entry, i) => {
          if (seen.has(entry.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: 'an id no other schedule has' });
          seen.add(entry.id);
        });
      }),
    log_level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  })
  .strict();

/** The validated configuration with every default filled in. */
export type Config = z.output<typeof configSchema>;
/** What a configuration file may contain. */
export type ConfigInput = z.input<typeof configSchema>;
