import pino, { type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

/** Options for {@link createLogger}. */
export interface LoggerSettings {
  level?: string;
  /** Human-readable output; defaults to whether stdout is a terminal. */
  pretty?: boolean;
  /** Where JSON lines go; defaults to stdout. */
  destination?: NodeJS.WritableStream;
}

// Secrets must never reach a log line, whatever a caller passes in.
const redactPaths = ['token', '*.token', 'secret', '*.secret', 'secret_key', '*.secret_key', 'authorization', '*.authorization'];

/** Creates the root logger: JSON lines by default, pretty when stdout is a terminal. */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { name: 'zmq-notify' },
    redact: { paths: redactPaths, censor: '[redacted]' },
  };
  const usePretty = settings.pretty ?? (settings.destination === undefined && process.stdout.isTTY === true);
  if (usePretty) {
    return pino(options, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' }));
  }
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

/** A child logger for one module, tagged with its name. */
export function moduleLogger(root: Logger, module: string): Logger {
  return root.child({ module });
}
