import { InvalidArgumentError, type Command } from 'commander';
import { parse, stringify } from 'lossless-json';
import { Request } from 'zeromq';
import { advertisedAddress } from '../../jobs/schedulezero-handler.ts';
import { loadConfigForCommand } from '../config-option.ts';

interface CallOptions {
  endpoint?: string;
  config?: string;
  timeoutMs: number;
}

/** Exit code when the call failed: `success: false`, no reply in time, or no endpoint. */
const FAILED_EXIT = 1;

const exitCodes = `
Exit codes:
  0  the bot answered "success": true (a "pending" answer included: the job was accepted)
  1  the bot answered "success": false, did not answer within --timeout-ms, or no endpoint
     could be found (no -e and no schedulezero: in the config)
  2  wrong flag or argument, including a JSON argument that is not a JSON object`;

function parseTimeout(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('expected a whole number of milliseconds, at least 1');
  return Number(value);
}

// Integers keep every digit (lossless-json), so a 19-digit channel_id goes out as the same JSON number.
function parseParams(text: string): unknown {
  let value: unknown;
  try {
    value = parse(text);
  } catch (err) {
    return `JSON argument is not valid JSON: ${(err as Error).message}`;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return `JSON argument must be a JSON object of params such as '{"channel_id": 123, "content": "hi"}'`;
  return value;
}

function resolveEndpoint(opts: CallOptions): string | undefined {
  if (opts.endpoint !== undefined) return opts.endpoint;
  const loaded = loadConfigForCommand(opts.config);
  if (loaded === undefined) return undefined;
  const settings = loaded.config.schedulezero;
  if (!settings) {
    console.error('call: the config has no schedulezero: section; give the job endpoint with -e tcp://HOST:PORT');
    return undefined;
  }
  return advertisedAddress(settings, `tcp://${settings.handler_host}:${settings.handler_port}`);
}

async function runCall(method: string, params: object, opts: CallOptions): Promise<number> {
  const endpoint = resolveEndpoint(opts);
  if (endpoint === undefined) return FAILED_EXIT;
  // As ScheduleZero's ZMQClient: a REQ socket, send and receive timeouts, one request, one reply.
  const socket = new Request({ sendTimeout: opts.timeoutMs, receiveTimeout: opts.timeoutMs, linger: 0 });
  try {
    socket.connect(endpoint);
    await socket.send(stringify({ method, params }) ?? '');
    const [frame] = await socket.receive();
    const text = frame?.toString('utf8') ?? '';
    console.log(text);
    let reply: unknown;
    try {
      reply = parse(text);
    } catch {
      console.error('call: the reply is not JSON');
      return FAILED_EXIT;
    }
    return (reply as { success?: unknown } | null)?.success === true ? 0 : FAILED_EXIT;
  } catch (err) {
    const code = (err as { code?: string }).code;
    console.error(code === 'EAGAIN' ? `call: no reply from ${endpoint} within ${opts.timeoutMs} ms (Request timeout: ${method})` : `call: ${(err as Error).message}`);
    return FAILED_EXIT;
  } finally {
    socket.close();
  }
}

/** `call METHOD [JSON] [-e ENDPOINT]`: sends a job call to a running bot as ScheduleZero would and prints the reply. */
export function registerCall(program: Command): void {
  program
    .command('call')
    .description("send a job call to a running bot's job endpoint as ScheduleZero would, and print the reply")
    .argument('<method>', 'job method, e.g. send_message (or ping)')
    .argument('[json]', 'params, a JSON object (default {}); integers keep all their digits')
    .option('-e, --endpoint <endpoint>', "the bot's job endpoint (default: tcp://schedulezero.handler_host:handler_port from the config)")
    .option('-c, --config <file>', 'config file that gives the default endpoint')
    .option('--timeout-ms <ms>', 'how long to wait for the reply (ScheduleZero waits 10 s)', parseTimeout, 10_000)
    .addHelpText('after', exitCodes)
    .action(async (method: string, json: string | undefined, opts: CallOptions, command: Command) => {
      const params = json === undefined ? {} : parseParams(json);
      if (typeof params === 'string') command.error(`call: ${params}`, { exitCode: 2 });
      process.exitCode = await runCall(method, params as object, opts);
    });
}
