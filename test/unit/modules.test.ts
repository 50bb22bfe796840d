import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.ts';
import { defineModule, InvalidModuleError } from '../../src/pipeline/module.ts';
import { loadModules, ModuleLoadError, setupModules } from '../../src/pipeline/modules.ts';
import { HandlerRegistry } from '../../src/pipeline/registry.ts';
import { event } from '../helpers/pipeline.ts';
import { captureLogger, repoRoot } from '../helpers/transport.ts';

const moduleApi = pathToFileURL(join(repoRoot, 'src/pipeline/module.ts')).href;
let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'zmq-notify-modules-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return `./${name}`;
}

async function setUp(specs: string[]) {
  const registry = new HandlerRegistry();
  const { logger, lines } = captureLogger('info');
  const loaded = await loadModules(specs, dir);
  const result = await setupModules(loaded, { registry, config: parseConfig({}), logger, extend: () => ({}) });
  return { registry, result, logs: lines };
}

describe('loadModules / setupModules', () => {
  it('loads a .ts module relative to the config dir, runs its setup with a named context and registers its handlers', async () => {
    const spec = write(
      'good.ts',
      `import { defineModule } from ${JSON.stringify(moduleApi)};
       const seen: string[] = [];
       export default defineModule({ name: 'good', setup(ctx) {
         ctx.logger.info({ has: typeof ctx.config.queue.capacity }, 'good set up as ' + ctx.name);
         ctx.on('job.', (e) => { seen.push(e.topic); });
       } });`,
    );
    const { registry, result, logs } = await setUp([spec]);
    expect(result.names).toEqual(['good']);
    expect(registry.list()).toEqual([{ module: 'good', prefix: 'job.', name: 'good:job.' }]);
    expect(logs()).toContainEqual(expect.objectContaining({ module: 'good', has: 'number', msg: 'good set up as good' }));
  });

  it('accepts a plain default-exported { name, setup } object (a .mjs file with no imports)', async () => {
    const spec = write('plain.mjs', `export default { name: 'plain', setup(ctx) { ctx.on('', () => {}); } };`);
    const { result } = await setUp([spec]);
    expect(result.names).toEqual(['plain']);
  });

  it('stops with an error naming the module when setup throws, after cleaning up the modules set up before it', async () => {
    const first = write('first.mjs', `export default { name: 'first', setup() { return () => { globalThis.__firstCleaned = true; }; } };`);
    const bad = write('explodes.mjs', `export default { name: 'explodes', setup() { throw new Error('no webhook configured'); } };`);
    const err = await setUp([first, bad]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModuleLoadError);
    expect((err as ModuleLoadError).message).toBe('module "explodes" (./explodes.mjs) failed in setup: no webhook configured');
    expect((err as ModuleLoadError).module).toBe('./explodes.mjs');
    expect((globalThis as { __firstCleaned?: boolean }).__firstCleaned).toBe(true);
  });

  it('stops with an error naming the entry when the file is missing (./nope.ts)', async () => {
    const err = await loadModules(['./nope.ts'], dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModuleLoadError);
    expect((err as Error).message).toMatch(/^module "\.\/nope\.ts" failed to load: /);
  });

  it('stops with an error naming the entry for a package name that does not exist (zmq-notify-no-such-module)', async () => {
    const err = await loadModules(['zmq-notify-no-such-module'], dir).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^module "zmq-notify-no-such-module" failed to load: /);
  });

  it.each([
    ['no default export', 'export const name = "x";', /expected an object \{ name, setup \}, got undefined/],
    ['a default export without setup', 'export default { name: "half" };', /module "half": expected "setup" to be a function, got undefined/],
    ['a default export with an empty name', 'export default { name: "", setup() {} };', /expected "name" to be a non-empty string, got ""/],
    ['a function as default export', 'export default function setup() {}', /expected an object \{ name, setup \}, got function/],
  ])('stops with an error naming the entry for %s', async (_what, text, problem) => {
    const spec = write('bad.mjs', text);
    const err = await loadModules([spec], dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModuleLoadError);
    expect((err as Error).message).toMatch(/^module "\.\/bad\.mjs" has no valid default export/);
    expect((err as Error).message).toMatch(problem);
  });

  it('rejects two modules with the same name (they would share metric labels)', async () => {
    const a = write('a.mjs', `export default { name: 'twin', setup() {} };`);
    const b = write('b.mjs', `export default { name: 'twin', setup() {} };`);
    await expect(setUp([a, b])).rejects.toThrow('module "twin" (./b.mjs): another module already has the name "twin"');
  });

  it('defineModule rejects a definition without a setup function', () => {
    expect(() => defineModule({ name: 'x' } as never)).toThrow(InvalidModuleError);
  });
});

describe('examples/modules/deploy-tracker.ts', () => {
  it('loads through the package name and registers its own handlers; started then stopped logs the deployment going down', async () => {
    const registry = new HandlerRegistry();
    const { logger, lines } = captureLogger('info');
    const loaded = await loadModules(['./examples/modules/deploy-tracker.ts'], repoRoot);
    const { names, cleanups } = await setupModules(loaded, { registry, config: parseConfig({}), logger, extend: () => ({}) });
    expect(names).toEqual(['deploy-tracker']);
    expect(registry.list().map((h) => h.prefix)).toEqual(['scheduler.started', 'scheduler.stopped', 'scheduler.heartbeat']);

    const deliver = async (topic: string, data: Record<string, unknown>): Promise<void> => {
      const e = event(topic, data);
      for (const r of registry.match(topic)) await r.handler(e, r.context, { signal: new AbortController().signal });
    };
    await deliver('scheduler.started', { deployment: 'prod' });
    await deliver('scheduler.heartbeat', { deployment: 'staging' });
    await deliver('scheduler.stopped', { deployment: 'prod' });
    for (const { cleanup } of cleanups) await cleanup();

    const messages = lines().filter((l) => l.module === 'deploy-tracker').map((l) => l.msg);
    expect(messages).toEqual(['deployment prod is up', 'deployment staging is up', 'deployment prod stopped', 'deploy-tracker: deployments at shutdown']);
    expect(lines().at(-1)).toMatchObject({ up: ['staging'], down: 1 });
  });
});
