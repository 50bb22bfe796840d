import type { Config } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import { importDefault } from '../pipeline/modules.ts';
import type { JobRegistry } from './registry.ts';
import { InvalidSprocketError, sprocketProblem, type SprocketConfig, type SprocketDefinition } from './sprocket.ts';
import { builtInSprockets, defaultSprockets } from './sprockets/index.ts';

/** One `sprockets:` entry, resolved: what it uses and its own config. */
export interface SprocketEntry {
  /** A built-in name or a file path (relative to the config file). */
  use: string;
  config: SprocketConfig;
}

/** A sprocket that can be loaded, and whether it is. */
export interface AvailableSprocket {
  name: string;
  /** `built-in` or the file path. */
  source: string;
  loaded: boolean;
  methods: string[];
}

/** The `sprockets:` entries in use: the listed ones, or core + announcement when only `schedulezero:` is set. */
export function sprocketEntries(config: Pick<Config, 'schedulezero' | 'sprockets'>): SprocketEntry[] {
  // The bot's own scheduler runs job methods too (config schedules and /schedule add), so the defaults are on without ScheduleZero as well.
  const listed = config.sprockets ?? defaultSprockets;
  return listed.map((entry) => {
    if (typeof entry === 'string') return { use: entry, config: {} };
    const { use, ...rest } = entry;
    return { use, config: rest as SprocketConfig };
  });
}

interface Known {
  entry: SprocketEntry;
  definition: SprocketDefinition;
  source: string;
}

/**
 * The sprockets the config makes available, loaded into the JobRegistry at start and loadable,
 * unloadable and reloadable at run time (`/zmq_sprockets`). Only listed sprockets and the default
 * built-ins can be loaded: moderation stays off unless the config lists it, with its allow-lists.
 */
export class SprocketManager {
  private readonly known = new Map<string, Known>();

  constructor(
    private readonly registry: JobRegistry,
    private readonly entries: readonly SprocketEntry[],
    private readonly baseDir: string,
    private readonly logger: Logger,
  ) {}

  /** Imports every entry and loads it; throws naming the entry when one cannot be used. */
  async start(): Promise<void> {
    for (const entry of this.entries) {
      const known = await this.resolve(entry, false);
      if (this.known.has(known.definition.name)) throw new InvalidSprocketError(`sprockets: "${entry.use}" is listed twice (sprocket "${known.definition.name}")`);
      this.known.set(known.definition.name, known);
      this.registry.load(known.definition, entry.config, known.source);
    }
    if (this.known.has('moderation') && !['channels', 'guilds'].some((k) => Array.isArray(this.known.get('moderation')?.entry.config[k]))) {
      this.logger.warn('the moderation sprocket is on with no channels or guilds allow-list: ScheduleZero can delete messages and change roles anywhere the bot can');
    }
  }

  /** Every sprocket that can be loaded, with whether it is. */
  available(): AvailableSprocket[] {
    const out: AvailableSprocket[] = [...this.known.values()].map((k) => ({ name: k.definition.name, source: k.source, loaded: this.registry.has(k.definition.name), methods: Object.keys(k.definition.methods) }));
    for (const name of defaultSprockets) {
      const definition = builtInSprockets[name];
      if (definition && !this.known.has(name)) out.push({ name, source: 'built-in', loaded: this.registry.has(name), methods: Object.keys(definition.methods) });
    }
    return out;
  }

  /** Loads an available sprocket that is not loaded. */
  async load(name: string): Promise<AvailableSprocket> {
    if (this.registry.has(name)) throw new InvalidSprocketError(`sprocket "${name}" is loaded already (reload it to pick up changes)`);
    const known = this.knownOrDefault(name);
    this.registry.load(known.definition, known.entry.config, known.source);
    return this.info(name);
  }

  /** Unloads a loaded sprocket; its running calls finish within the grace or fail cleanly. */
  async unload(name: string): Promise<{ finished: number; aborted: number }> {
    if (!this.registry.has(name)) throw new InvalidSprocketError(`sprocket "${name}" is not loaded`);
    return this.registry.unload(name);
  }

  /** Unloads (if loaded) and loads again; a file is imported afresh, so its changes take effect. */
  async reload(name: string): Promise<AvailableSprocket> {
    const known = this.knownOrDefault(name);
    const fresh = known.source === 'built-in' ? known : await this.resolve(known.entry, true);
    if (fresh.definition.name !== name) throw new InvalidSprocketError(`"${known.entry.use}" now defines sprocket "${fresh.definition.name}", not "${name}"`);
    if (this.registry.has(name)) await this.registry.unload(name);
    this.registry.load(fresh.definition, fresh.entry.config, fresh.source);
    this.known.set(name, fresh);
    return this.info(name);
  }

  private info(name: string): AvailableSprocket {
    const found = this.available().find((s) => s.name === name);
    if (!found) throw new InvalidSprocketError(`sprocket "${name}" is not available`);
    return found;
  }

  private knownOrDefault(name: string): Known {
    const known = this.known.get(name);
    if (known) return known;
    const definition = defaultSprockets.includes(name) ? builtInSprockets[name] : undefined;
    if (definition) return { entry: { use: name, config: {} }, definition, source: 'built-in' };
    if (builtInSprockets[name]) throw new InvalidSprocketError(`sprocket "${name}" is off unless the config lists it under sprockets: (with its allow-lists)`);
    const names = this.available().map((s) => s.name);
    throw new InvalidSprocketError(`no sprocket "${name}" is available; available: ${names.join(', ') || 'none'} (files must be listed under sprockets:)`);
  }

  private async resolve(entry: SprocketEntry, fresh: boolean): Promise<Known> {
    const builtIn = builtInSprockets[entry.use];
    if (builtIn) return { entry, definition: builtIn, source: 'built-in' };
    if (!/[/\\]|\.[cm]?[jt]s$/.test(entry.use)) {
      throw new InvalidSprocketError(`sprockets: "${entry.use}" is neither a built-in sprocket (${Object.keys(builtInSprockets).join(', ')}) nor a file path`);
    }
    let definition: unknown;
    try {
      definition = await importDefault(entry.use, this.baseDir, { fresh });
    } catch (err) {
      throw new InvalidSprocketError(`sprocket ${(err as Error).message}`);
    }
    const problem = sprocketProblem(definition);
    if (problem) throw new InvalidSprocketError(`sprocket "${entry.use}" has no valid default export (defineSprocket({ name, methods })): ${problem}`);
    return { entry, definition: definition as SprocketDefinition, source: entry.use };
  }
}
