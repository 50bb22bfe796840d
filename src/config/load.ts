import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.ts';
import { parseYaml } from './yaml.ts';

/** Path of the embedded default configuration that `npm start` uses. */
export const defaultConfigPath = fileURLToPath(new URL('../../config/default.yaml', import.meta.url));

/** Secrets resolved from the environment; kept apart from the config so it can be printed safely. */
export interface Secrets {
  discordToken?: string;
}

/** A loaded configuration, where it came from, and the secrets it names. */
export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file, or undefined for an in-memory config. */
  path?: string;
  /** Directory that relative paths in the config (modules) are resolved against. */
  baseDir: string;
  secrets: Secrets;
}

/** Raised for a configuration that cannot be used; `problems` lists every bad key. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration in ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function show(value: unknown): string {
  if (value === undefined) return '(missing)';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function keyName(path: readonly PropertyKey[]): string {
  return path.map((k) => (typeof k === 'number' ? `[${k}]` : String(k))).join('.').replace(/\.\[/g, '[') || '(top level)';
}

/** One zod issue as `key: got <value>, expected <what>` lines (one per unknown key). */
export function describeIssue(raw: unknown, issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => {
      const path = [...issue.path, k];
      return `${keyName(path)}: got ${show(valueAt(raw, path))}, expected no such key (unknown key; check its spelling)`;
    });
  }
  if (issue.code === 'invalid_union') {
    // Report the most specific branch's complaint rather than "invalid input".
    const branch = issue.errors.find((errs) => errs.length > 0 && errs.every((e) => e.code !== 'invalid_type')) ?? issue.errors[0];
    if (branch && branch.length > 0) {
      return branch.flatMap((inner) => describeIssue(raw, { ...inner, path: [...issue.path, ...inner.path] }));
    }
  }
  const expected = issue.code === 'invalid_type' ? issue.expected : issue.message.replace(/^(Invalid \w+|Too small|Too big): (expected )?/i, '');
  return [`${keyName(issue.path)}: got ${show(valueAt(raw, issue.path))}, expected ${expected}`];
}

// `schedulezero: path/to/schedulezero.yaml` names the seed's handler file, relative to the config file.
function inlineSchedulezero(raw: unknown, source: string, baseDir: string): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const section = (raw as Record<string, unknown>).schedulezero;
  if (typeof section !== 'string') return raw;
  const file = resolve(baseDir, section);
  let included: unknown;
  try {
    included = parseYaml(readFileSync(file, 'utf8'), file);
  } catch (err) {
    throw new ConfigError(source, [`schedulezero: got ${show(section)}, expected a readable YAML file with handler_id, handler_port, server_address (${(err as Error).message})`]);
  }
  return { ...raw, schedulezero: included ?? {} };
}

/**
 * Validates an already-parsed config object; throws ConfigError naming every bad key. A
 * `schedulezero:` path is read relative to `baseDir` (default the working directory).
 */
export function parseConfig(input: unknown, source = 'config', baseDir = process.cwd()): Config {
  const raw = inlineSchedulezero(input, source, baseDir);
  const result = configSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const problems = [...new Set(result.error.issues.flatMap((issue) => describeIssue(raw, issue)))];
  throw new ConfigError(source, problems);
}

/** Reads the secrets a config names from the environment. */
export function resolveSecrets(config: Config, env: NodeJS.ProcessEnv = process.env): Secrets {
  const token = env[config.discord.token_env];
  return token && token.trim() !== '' ? { discordToken: token.trim() } : {};
}

/** Loads, parses and validates a YAML config file (the embedded default when no path is given). */
export function loadConfig(path: string = defaultConfigPath, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const absolute = resolve(path);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (err) {
    throw new ConfigError(absolute, [`cannot read the file: ${(err as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, absolute);
  } catch (err) {
    throw new ConfigError(absolute, [`not valid YAML: ${(err as Error).message}`]);
  }
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigError(absolute, [`(top level): got ${show(raw)}, expected a mapping of keys to values`]);
  }
  const config = parseConfig(raw, absolute, dirname(absolute));
  return { config, path: absolute, baseDir: dirname(absolute), secrets: resolveSecrets(config, env) };
}

/** The config as `check-config` prints it: everything resolved, secrets only as set / not set. */
export function describeResolved(loaded: LoadedConfig): Record<string, unknown> {
  const { config, secrets } = loaded;
  return {
    ...config,
    discord: {
      ...config.discord,
      token: secrets.discordToken ? `[set in $${config.discord.token_env}, redacted]` : `[not set: $${config.discord.token_env} is empty, sandbox mode]`,
    },
  };
}

/** The ZeroMQ endpoints as a list, whether the config gave one or several. */
export function endpointsOf(config: Config): string[] {
  return Array.isArray(config.zmq_pub_address) ? config.zmq_pub_address : [config.zmq_pub_address];
}
