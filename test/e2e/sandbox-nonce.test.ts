import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REST, Routes, type APIMessage } from 'discord.js';
import { RecentNonces } from '../../src/sandbox/nonces.ts';
import { startSandbox, type StartedSandbox } from '../helpers/sandbox.ts';

// The sandbox de-duplicates creates by nonce as Discord does with enforce_nonce, driven by the real
// discord.js REST client.

let started: StartedSandbox;
let rest: REST;

beforeAll(async () => {
  started = await startSandbox({ channels: [{ name: 'a' }, { name: 'b' }] });
  rest = new REST({ api: started.address.apiUrl, retries: 0 }).setToken(started.address.token);
});

afterAll(async () => {
  rest.clearHashSweeper();
  rest.clearHandlerSweeper();
  await started.sandbox.stop();
});

const create = (channel: string, body: Record<string, unknown>): Promise<APIMessage> =>
  rest.post(Routes.channelMessages(started.sandbox.channelId(channel)), { body }) as Promise<APIMessage>;

describe('sandbox: message nonces with enforce_nonce', () => {
  it('a create repeating a recent nonce returns the first message and posts nothing new', async () => {
    const first = await create('a', { content: 'alert', nonce: 'n-1', enforce_nonce: true });
    const again = await create('a', { content: 'alert (retried)', nonce: 'n-1', enforce_nonce: true });
    expect(again.id).toBe(first.id);
    expect(again.content).toBe('alert');
    expect(started.sandbox.messages(started.sandbox.channelId('a')).map((m) => m.content)).toEqual(['alert']);
  });

  it('without enforce_nonce, in another channel, or with another nonce, each create is a new message', async () => {
    await create('b', { content: 'x', nonce: 'n-2' });
    await create('b', { content: 'y', nonce: 'n-2' });
    await create('b', { content: 'z', nonce: 'n-1', enforce_nonce: true });
    await create('b', { content: 'w', nonce: 'n-3', enforce_nonce: true });
    expect(started.sandbox.messages(started.sandbox.channelId('b')).map((m) => m.content)).toEqual(['x', 'y', 'z', 'w']);
  });

  it('bad input: enforce_nonce that is not a boolean is a 400 naming the field, and nothing is posted', async () => {
    const error = await create('a', { content: 'bad', nonce: 'n-9', enforce_nonce: 'yes' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400 });
    expect(JSON.stringify((error as { rawError: unknown }).rawError)).toContain('enforce_nonce');
    expect(started.sandbox.messages(started.sandbox.channelId('a')).map((m) => m.content)).toEqual(['alert']);
  });
});

describe('RecentNonces', () => {
  it('forgets a nonce after the window (a few minutes on Discord)', () => {
    const nonces = new RecentNonces(1000);
    nonces.remember('c', 'u', 'n', 'm1', 0);
    expect(nonces.find('c', 'u', 'n', 999)).toBe('m1');
    expect(nonces.find('c', 'other-author', 'n', 999)).toBeUndefined();
    expect(nonces.find('c', 'u', 'n', 1001)).toBeUndefined();
  });
});
