import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Config } from '../config/schema.ts';
import { moduleLogger, type Logger } from '../observability/logger.ts';
import { moduleProblem, type CoreModuleContext, type ModuleCleanup, type ModuleContext, type ModuleDefinition } from './module.ts';
import type { HandlerRegistry } from './registry.ts';

/** Raised when a module cannot be loaded or set up; the message names the module. */
export class ModuleLoadError extends Error {
  constructor(
    /** The `modules:` entry, or the module's name for a built-in one. */
    readonly module: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ModuleLoadError';
  }
}

/** A module definition together with where it came from. */
export interface LoadedModule<X extends object = object> {
  definition: ModuleDefinition<X>;
  /** The `modules:` entry it was loaded from; undefined for one passed in by the program. */
  spec?: string;
}

// A relative or absolute path, or a bare name that is a file in the config's directory, is a file;
// anything else is a package name.
function isPathSpec(spec: string, baseDir: string): boolean {
  return spec.startsWith('.') || isAbsolute(spec) || existsSync(resolve(baseDir, spec));
}

// A package name is looked up from the config file's directory first, as a user would expect of a
// name written in that file, then from this package (for packages installed next to zmq-notify).
function resolveSpec(spec: string, baseDir: string): string {
  if (spec.startsWith('file:')) return spec;
  if (isPathSpec(spec, baseDir)) return pathToFileURL(resolve(baseDir, spec)).href;
  try {
    return pathToFileURL(createRequire(join(baseDir, 'zmq-notify.config')).resolve(spec)).href;
  } catch {
    return spec;
  }
}

// tsx compiles a .ts file as CommonJS unless its package says "type": "module", and an ES module
// compiled that way cannot be imported; the fix is the user's, so say what it is.
function loadHint(spec: string, err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code !== 'ERR_REQUIRE_CYCLE_MODULE' && code !== 'ERR_REQUIRE_ESM') return '';
  if (!/\.(ts|js)$/.test(spec)) return '';
  return ' (an ES module outside a package with "type": "module" must be named .mts / .mjs, or put a package.json with {"type": "module"} next to it)';
}

// The compiled package runs in plain Node, which cannot import TypeScript: a `.ts` module from
// `modules:` then loads through tsx, registered the first time one is listed. Running from the
// sources (vitest, tsx) TypeScript already loads, so this file's own name tells which case it is.
const compiled = import.meta.url.endsWith('.js');
let tsxRegistered = false;
async function importModule(url: string): Promise<{ default?: unknown }> {
  if (compiled && !tsxRegistered && url.startsWith('file:') && /\.[cm]?ts$/.test(new URL(url).pathname)) {
    const { register } = await import('tsx/esm/api');
    register();
    tsxRegistered = true;
  }
  return (await import(url)) as { default?: unknown };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Imports a file or package named in the config (paths relative to `baseDir`) and returns its
 * default export; `fresh` imports a file again rather than the cached copy (a reload).
 * Throws an Error whose message names the spec and why.
 */
export async function importDefault(spec: string, baseDir: string, options: { fresh?: boolean } = {}): Promise<unknown> {
  let url = resolveSpec(spec, baseDir);
  if (options.fresh && url.startsWith('file:')) url = `${url}${url.includes('?') ? '&' : '?'}reload=${Date.now()}-${++imports}`;
  try {
    return (await importModule(url)).default;
  } catch (err) {
    throw new Error(`"${spec}" failed to load: ${message(err)}${loadHint(spec, err)}`, { cause: err });
  }
}

let imports = 0;

/** Imports each `modules:` entry (paths relative to `baseDir`, or package names) and checks its default export. */
export async function loadModules<X extends object = object>(specs: readonly string[], baseDir: string): Promise<LoadedModule<X>[]> {
  const loaded: LoadedModule<X>[] = [];
  for (const spec of specs) {
    const namespace: { default?: unknown } = {};
    try {
      namespace.default = await importDefault(spec, baseDir);
    } catch (err) {
      throw new ModuleLoadError(spec, `module ${(err as Error).message}`, { cause: (err as Error).cause });
    }
    const problem = moduleProblem(namespace.default);
    if (problem) {
      throw new ModuleLoadError(spec, `module "${spec}" has no valid default export (defineModule({ name, setup })): ${problem}`);
    }
    // What a file's setup expects of its context cannot be checked at run time; the app gives
    // every module the same context.
    loaded.push({ definition: namespace.default as ModuleDefinition<X>, spec });
  }
  return loaded;
}

/** Everything a module's context is made from. */
export interface ContextSources<X extends object> {
  registry: HandlerRegistry<X>;
  config: Config;
  logger: Logger;
  /** Adds the app's extensions (X) to a module's core context. */
  extend: (core: CoreModuleContext<X>) => X;
}

/** Module contexts and cleanups of the modules that were set up. */
export interface SetUpModules {
  names: string[];
  cleanups: { module: string; cleanup: ModuleCleanup }[];
}

/** Runs each module's setup with its own context; stops at the first failure, naming the module. */
export async function setupModules<X extends object>(modules: readonly LoadedModule<X>[], sources: ContextSources<X>): Promise<SetUpModules> {
  const result: SetUpModules = { names: [], cleanups: [] };
  for (const { definition, spec } of modules) {
    const label = spec && spec !== definition.name ? `"${definition.name}" (${spec})` : `"${definition.name}"`;
    if (result.names.includes(definition.name)) {
      throw new ModuleLoadError(spec ?? definition.name, `module ${label}: another module already has the name "${definition.name}"`);
    }
    const context = createContext(definition.name, sources);
    let outcome: void | ModuleCleanup;
    try {
      outcome = await definition.setup(context);
    } catch (err) {
      // Start-up stops here: undo what the modules before this one started.
      await runCleanups(result.cleanups, sources.logger);
      throw new ModuleLoadError(spec ?? definition.name, `module ${label} failed in setup: ${message(err)}`, { cause: err });
    }
    result.names.push(definition.name);
    if (typeof outcome === 'function') result.cleanups.push({ module: definition.name, cleanup: outcome });
  }
  return result;
}

/** Builds one module's context: its `on` registers into the shared registry under the module's name. */
export function createContext<X extends object>(name: string, sources: ContextSources<X>): ModuleContext<X> {
  const core: CoreModuleContext<X> = {
    name,
    config: sources.config,
    logger: moduleLogger(sources.logger, name),
    on: (prefix, handler, options) => {
      if (typeof prefix !== 'string') throw new TypeError(`module "${name}": on() expects a topic prefix string, got ${typeof prefix}`);
      if (typeof handler !== 'function') throw new TypeError(`module "${name}": on("${prefix}") expects a handler function, got ${typeof handler}`);
      return sources.registry.add({ module: name, prefix, handler, name: options?.name, context });
    },
  };
  const context: ModuleContext<X> = Object.assign(core, sources.extend(core));
  return context;
}

/** Runs module cleanups, last set up first; a failing one is logged and the rest still run. */
export async function runCleanups(cleanups: readonly { module: string; cleanup: ModuleCleanup }[], logger: Logger): Promise<void> {
  for (const { module, cleanup } of [...cleanups].reverse()) {
    try {
      await cleanup();
    } catch (err) {
      logger.error({ err, module }, 'module cleanup failed');
    }
  }
}
