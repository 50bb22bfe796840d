import { createInterface } from 'node:readline';
import { InvalidArgumentError, type Command } from 'commander';
import { endpointsOf } from '../../config/index.ts';
import { isObject } from '../../shared/json.ts';
import { defaultSource, EventPublisher } from '../../transport/publisher.ts';
import { loadConfigForCommand } from '../config-option.ts';

interface EmitOptions {
  endpoint?: string;
  connect?: boolean;
  stdin?: boolean;
  config?: string;
  waitMs: number;
  src?: string;
}

/** Exit code when something was not published (nobody subscribed, bind failed, bad stdin lines). */
const NOT_PUBLISHED_EXIT = 1;
/** How long queued messages may take to leave after the last send. */
const LINGER_MS = 5_000;
/** How long one send may wait for a subscriber that stopped reading. */
const SEND_TIMEOUT_MS = 10_000;

const exitCodes = `
Exit codes:
  0  every event was published to a subscriber
  1  something was not published: no subscriber within --wait-ms, the endpoint could not be
     bound/connected, the config could not be read, or (with --stdin) some lines were bad
     (the good lines are still published)
  2  wrong flag or argument, including a JSON argument that is not a JSON object`;

function parseWaitMs(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number of milliseconds (0 = do not wait)');
  return Number(value);
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/** Parses the JSON argument, or says why it cannot be a payload. */
function parsePayload(text: string): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `JSON argument is not valid JSON: ${(err as Error).message}`;
  }
  return isObject(value) ? value : `JSON argument must be a JSON object such as '{"job_id":"x"}', got ${describe(value)}`;
}

/** Parses one --stdin line into a topic and payload, or says why it is bad. */
function parseLine(line: string, defaultTopic: string | undefined): { topic: string; data: Record<string, unknown> } | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return `not valid JSON: ${(err as Error).message}`;
  }
  if (!isObject(value)) return `expected an object {"topic":…,"data":…}, got ${describe(value)}`;
  const topic = value.topic ?? defaultTopic;
  if (typeof topic !== 'string' || topic === '') return '"topic" must be a non-empty string';
  const data = value.data ?? {};
  if (!isObject(data)) return `"data" must be a JSON object, got ${describe(data)}`;
  return { topic, data };
}

// The -e endpoint, else the config's first; undefined (reported) when the config cannot be used.
function resolveEndpoint(opts: EmitOptions): string | undefined {
  if (opts.endpoint !== undefined) return opts.endpoint;
  const loaded = loadConfigForCommand(opts.config);
  return loaded === undefined ? undefined : endpointsOf(loaded.config)[0];
}

async function waitForSubscriber(publisher: EventPublisher, opts: EmitOptions, topic: string | undefined): Promise<boolean> {
  if (opts.waitMs === 0) return true;
  if (await publisher.waitForSubscriber(opts.waitMs, topic)) return true;
  const held = publisher.subscriptions();
  const why =
    held.length === 0
      ? `no subscriber connected to ${publisher.endpoint} within ${opts.waitMs} ms`
      : `subscribers on ${publisher.endpoint} hold ${held.map((p) => JSON.stringify(p)).join(', ')}, none of which matches ${JSON.stringify(topic)}, after ${opts.waitMs} ms`;
  console.error(`emit: ${why}; nothing was sent`);
  return false;
}

async function publishStdin(publisher: EventPublisher, defaultTopic: string | undefined): Promise<number> {
  let lineNumber = 0;
  let sent = 0;
  let bad = 0;
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    lineNumber += 1;
    if (line.trim() === '') continue;
    const parsed = parseLine(line, defaultTopic);
    if (typeof parsed === 'string') {
      bad += 1;
      console.error(`emit: stdin line ${lineNumber}: ${parsed}; skipped`);
      continue;
    }
    await publisher.publish(parsed.topic, parsed.data);
    sent += 1;
  }
  console.log(`sent ${sent} event(s) to ${publisher.endpoint}${bad > 0 ? `; skipped ${bad} bad line(s)` : ''}`);
  return bad > 0 ? NOT_PUBLISHED_EXIT : 0;
}

async function runEmit(topic: string | undefined, payload: Record<string, unknown>, opts: EmitOptions): Promise<number> {
  const endpoint = resolveEndpoint(opts);
  if (endpoint === undefined) return NOT_PUBLISHED_EXIT;
  const publisher = new EventPublisher({
    endpoint,
    mode: opts.connect ? 'connect' : 'bind',
    // Each emit is a run of its own: a per-process id keeps the bot from logging every
    // invocation as "publisher restarted".
    src: opts.src ?? defaultSource('connect'),
    lingerMs: LINGER_MS,
    // A CLI user expects "sent" to mean sent: wait for a slow subscriber rather than drop.
    noDrop: true,
    sendTimeoutMs: SEND_TIMEOUT_MS,
  });
  try {
    await publisher.open();
  } catch (err) {
    console.error(`emit: ${(err as Error).message}`);
    return NOT_PUBLISHED_EXIT;
  }
  try {
    if (!(await waitForSubscriber(publisher, opts, opts.stdin ? undefined : topic))) return NOT_PUBLISHED_EXIT;
    if (opts.stdin) return await publishStdin(publisher, topic);
    await publisher.publish(topic ?? '', payload);
    console.log(`sent ${topic} (seq ${publisher.seq}) to ${publisher.endpoint}`);
    return 0;
  } catch (err) {
    console.error(`emit: ${(err as Error).message}`);
    return NOT_PUBLISHED_EXIT;
  } finally {
    await publisher.close();
  }
}

/** `emit TOPIC [JSON] [-e ENDPOINT] [--connect] [--stdin]`: publish events as the scheduler would. */
export function registerEmit(program: Command): void {
  program
    .command('emit')
    .description('publish events as the scheduler would: bind (or connect), wait for a subscriber, send')
    .argument('[topic]', 'event topic, e.g. job.failed (with --stdin: the topic for lines that name none)')
    .argument('[json]', 'payload, a JSON object (default {})')
    .option('-e, --endpoint <endpoint>', "ZeroMQ endpoint (default: the config's first zmq_pub_address)")
    .option('--src <id>', 'publisher id in the envelope (default: unique to this run)')
    .option('--connect', 'connect to the endpoint instead of binding it (e.g. to a proxy)')
    .option('--stdin', 'publish JSON lines {"topic":…,"data":…} read from stdin')
    .option('-c, --config <file>', 'config file that gives the default endpoint')
    .option('--wait-ms <ms>', 'how long to wait for a subscriber before giving up (0 = do not wait)', parseWaitMs, 5_000)
    .addHelpText('after', exitCodes)
    .action(async (topic: string | undefined, json: string | undefined, opts: EmitOptions, command: Command) => {
      if (opts.stdin && json !== undefined) command.error('emit: with --stdin the payloads come from stdin; do not pass a JSON argument', { exitCode: 2 });
      if (!opts.stdin && (topic === undefined || topic === '')) command.error('emit: missing TOPIC (e.g. job.failed)', { exitCode: 2 });
      const payload = json === undefined ? {} : parsePayload(json);
      if (typeof payload === 'string') command.error(`emit: ${payload}`, { exitCode: 2 });
      process.exitCode = await runEmit(topic, payload, opts);
    });
}
