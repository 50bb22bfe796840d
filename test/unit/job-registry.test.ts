import type { Client } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { discordId } from '../../src/jobs/params.ts';
import { JobCallError, JobRegistry, type JobCallRecord } from '../../src/jobs/registry.ts';
import { defineSprocket, InvalidSprocketError, type SprocketConfig } from '../../src/jobs/sprocket.ts';
import { deferred } from '../helpers/pipeline.ts';
import { captureLogger } from '../helpers/transport.ts';

function registry(options: Partial<ConstructorParameters<typeof JobRegistry>[0]> = {}): { registry: JobRegistry; records: JobCallRecord[] } {
  const { logger } = captureLogger('warn');
  const r = new JobRegistry({ discord: () => ({}) as Client, logger, ...options });
  const records: JobCallRecord[] = [];
  r.on('call', (rec) => records.push(rec));
  return { registry: r, records };
}

async function failure(promise: Promise<unknown>): Promise<JobCallError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof JobCallError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

describe('defineSprocket', () => {
  it('refuses a definition without a name, without schemas, or taking the protocol\'s ping', () => {
    expect(() => defineSprocket({ name: '', methods: {} })).toThrow(InvalidSprocketError);
    expect(() => defineSprocket({ name: 'x', methods: { m: { params: {} as z.ZodType, run: () => 1 } } })).toThrow(/needs a zod schema/);
    expect(() => defineSprocket({ name: 'x', methods: { ping: { params: z.object({}), run: () => 1 } } })).toThrow(/answered by the job endpoint itself/);
    expect(() => defineSprocket({ name: 'x', methods: { 'bad name!': { params: z.object({}), run: () => 1 } } })).toThrow(/not usable/);
  });
});

describe('JobRegistry', () => {
  it('runs sync and async methods, and lets one method call another through ctx.call and ctx.methods', async () => {
    const { registry: r } = registry();
    r.load(
      defineSprocket({
        name: 'math',
        methods: {
          add: { params: z.object({ a: z.number(), b: z.number() }), run: ({ a, b }) => a + b },
          twice: { params: z.object({ a: z.number() }), run: async ({ a }, ctx) => ((await ctx.call('add', { a, b: a })) as number) + ((await ctx.methods.add?.({ a: 0, b: 0 })) as number) },
        },
      }),
    );
    expect(await r.call('add', { a: 2, b: 3 })).toBe(5);
    expect(await r.call('twice', { a: 21 })).toBe(42);
  });

  it('refuses a second sprocket with a method name that is taken, naming the owner', () => {
    const { registry: r } = registry();
    r.load(defineSprocket({ name: 'a', methods: { send: { params: z.object({}), run: () => 1 } } }));
    expect(() => r.load(defineSprocket({ name: 'b', methods: { send: { params: z.object({}), run: () => 2 } } }))).toThrow(/already provided by sprocket "a"/);
    expect(r.methodNames()).toEqual(['send']);
  });

  it('checks allow-lists before the method runs: channel_id(s), role_id, user_ids, guild_id and everyone', async () => {
    const { registry: r, records } = registry();
    let runs = 0;
    const config: SprocketConfig = { channels: ['111'], roles: ['222'], users: ['333'] };
    r.load(
      defineSprocket({
        name: 'guarded',
        methods: {
          post: {
            params: z.object({ channel_id: discordId, role_id: discordId.optional(), user_ids: z.array(discordId).optional(), everyone: z.boolean().optional() }),
            run: () => ++runs,
          },
        },
      }),
      config,
    );
    expect(await r.call('post', { channel_id: 111, role_id: '222', user_ids: [333] })).toBe(1);
    const channel = await failure(r.call('post', { channel_id: 999 }));
    expect(channel).toMatchObject({ outcome: 'refused', message: expect.stringMatching(/^channel_id: 999 is not in the channels allow-list of sprocket "guarded"/) });
    expect((await failure(r.call('post', { channel_id: 111, role_id: 5 }))).message).toMatch(/^role_id: 5 is not in the roles allow-list/);
    expect((await failure(r.call('post', { channel_id: 111, user_ids: [333, 4] }))).message).toMatch(/^user_ids: 4 is not in the users allow-list/);
    expect((await failure(r.call('post', { channel_id: 111, everyone: true }))).message).toMatch(/^everyone: @everyone needs allow_everyone: true/);
    expect(runs).toBe(1);
    expect(records.map((rec) => rec.outcome)).toEqual(['success', 'refused', 'refused', 'refused', 'refused']);
  });

  it('runs an identical call once while it runs and within the window after it succeeded; a failed one runs again', async () => {
    const { registry: r } = registry({ dedupeWindowMs: 60_000 });
    const gate = deferred();
    let runs = 0;
    let fail = true;
    r.load(
      defineSprocket({
        name: 's',
        methods: {
          slow: { params: z.object({ channel_id: discordId }), run: async () => (await gate.promise, ++runs) },
          flaky: {
            params: z.object({}),
            run: () => {
              runs++;
              if (fail) throw new Error('disk full');
              return 'ok';
            },
          },
        },
      }),
    );
    const first = r.call('slow', { channel_id: 7 });
    // The same call with the ID as a string and its keys in another order is still the same job.
    const retry = r.call('slow', { channel_id: '7' });
    gate.resolve();
    expect(await first).toBe(1);
    expect(await retry).toBe(1);
    expect(await r.call('slow', { channel_id: 7 })).toBe(1);
    expect(runs).toBe(1);
    expect(await r.call('slow', { channel_id: 8 })).toBe(2);
    // dedupe: false (the scheduler's own runs) always runs.
    expect(await r.call('slow', { channel_id: 7 }, { dedupe: false })).toBe(3);
    runs = 0;
    await failure(r.call('flaky', {}));
    fail = false;
    expect(await r.call('flaky', {})).toBe('ok');
    expect(runs).toBe(2);
  });

  it('forgets a succeeded call after the window, so a later identical call runs again', async () => {
    const { registry: r } = registry({ dedupeWindowMs: 30 });
    let runs = 0;
    r.load(defineSprocket({ name: 's', methods: { m: { params: z.object({}), run: () => ++runs } } }));
    expect(await r.call('m', {})).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await r.call('m', {})).toBe(2);
  });

  it('answers busy beyond maxConcurrent, and times out a method that runs too long (signalled to stop)', async () => {
    const { registry: r } = registry({ maxConcurrent: 1, jobTimeoutMs: 50 });
    let aborted = false;
    r.load(
      defineSprocket({
        name: 's',
        methods: {
          hang: {
            params: z.object({ n: z.number() }),
            run: (_p, ctx) =>
              new Promise((resolve) => {
                ctx.signal.addEventListener('abort', () => {
                  aborted = true;
                  setTimeout(resolve, 20);
                });
              }),
          },
        },
      }),
    );
    const hung = r.call('hang', { n: 1 });
    expect(await failure(r.call('hang', { n: 2 }))).toMatchObject({ outcome: 'busy' });
    expect(await failure(hung)).toMatchObject({ outcome: 'timeout', message: 'timed out after 50 ms' });
    expect(aborted).toBe(true);
    // It still counted against concurrency until it settled.
    expect(r.inFlight).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(r.inFlight).toBe(0);
  });

  it('unloading a sprocket lets a running call finish within the grace, and fails one that does not, cleanly', async () => {
    const { registry: r } = registry({ unloadGraceMs: 50 });
    const quick = deferred();
    r.load(
      defineSprocket({
        name: 's',
        methods: {
          quick: { params: z.object({}), run: async () => (await quick.promise, 'done') },
          stuck: { params: z.object({}), run: () => new Promise(() => undefined) },
        },
      }),
    );
    const finishing = r.call('quick', {});
    const unloading = r.unload('s');
    setTimeout(() => quick.resolve(), 10);
    expect(await finishing).toBe('done');
    expect(await unloading).toEqual({ finished: 1, aborted: 0 });
    r.load(defineSprocket({ name: 's', methods: { stuck: { params: z.object({}), run: () => new Promise(() => undefined) } } }));
    const stuck = r.call('stuck', {});
    expect(await r.unload('s')).toEqual({ finished: 0, aborted: 1 });
    expect(await failure(stuck)).toMatchObject({ outcome: 'unloaded', message: 'sprocket "s" was unloaded while the call ran' });
    expect(await failure(r.call('stuck', {}))).toMatchObject({ outcome: 'unknown_method', message: 'Unknown method: stuck' });
  });

  it('emits change with the method list on load and unload', async () => {
    const { registry: r } = registry();
    const lists: string[][] = [];
    r.on('change', (methods) => lists.push(methods));
    r.load(defineSprocket({ name: 's', methods: { b: { params: z.object({}), run: () => 1 }, a: { params: z.object({}), run: () => 1 } } }));
    await r.unload('s');
    expect(lists).toEqual([['a', 'b'], []]);
  });
});
