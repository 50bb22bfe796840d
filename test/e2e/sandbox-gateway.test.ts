import { inflateSync } from 'node:zlib';
import { Client, Events, GatewayIntentBits, type Message } from 'discord.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { sandboxClientOptions } from '../../src/sandbox/index.ts';
import { connectClient, getJson, startSandbox, textChannel, type StartedSandbox } from '../helpers/sandbox.ts';

interface Stats {
  gateway: { identifies: number; resumes: number; invalidSessions: number };
}

let started: StartedSandbox;

beforeAll(async () => {
  started = await startSandbox({ resumeWindowMs: 60_000 });
});

afterAll(async () => {
  await started?.sandbox.stop();
});

const clients: Client[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  for (const c of clients.splice(0)) await c.destroy();
});

function nextMessage(client: Client, content: string): Promise<Message> {
  return new Promise((resolve) => {
    const listener = (m: Message): void => {
      if (m.content !== content) return;
      client.off(Events.MessageCreate, listener);
      resolve(m);
    };
    client.on(Events.MessageCreate, listener);
  });
}

describe('sandbox gateway', () => {
  for (const mode of ['close', 'terminate', 'reconnect'] as const) {
    it(`resumes after a dropped connection (${mode}) and replays the events it missed`, async () => {
      const client = await connectClient(started.address);
      clients.push(client);
      const before = await getJson<Stats>(`${started.address.url}/sandbox/stats`);
      const resumed = new Promise<void>((resolve) => client.once(Events.ShardResume, () => resolve()));
      expect(started.sandbox.dropGatewayConnections(mode)).toBeGreaterThanOrEqual(1);
      // Posted while the client is disconnected: it must arrive through RESUME's replay.
      const missed = nextMessage(client, `missed during ${mode}`);
      await textChannel(client, started.sandbox, 'general').send(`missed during ${mode}`);
      await resumed;
      expect((await missed).channelId).toBe(started.sandbox.channelId('general'));
      const after = await getJson<Stats>(`${started.address.url}/sandbox/stats`);
      expect(after.gateway.resumes - before.gateway.resumes).toBe(1);
      expect(after.gateway.identifies).toBe(before.gateway.identifies);
    });
  }

  it('refuses IDENTIFY with a wrong token by closing with 4004', async () => {
    const ws = new WebSocket(`${started.address.gatewayUrl}?v=10&encoding=json`);
    sockets.push(ws);
    const hello = await new Promise<{ op: number; d: { heartbeat_interval: number } }>((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)))));
    expect(hello.op).toBe(10);
    expect(hello.d.heartbeat_interval).toBe(41_250);
    ws.send(JSON.stringify({ op: 1, d: null }));
    const ack = await new Promise<{ op: number }>((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)))));
    expect(ack.op).toBe(11);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(JSON.stringify({ op: 2, d: { token: 'wrong', intents: 1, properties: {} } }));
    expect(await closed).toBe(4004);
  });

  it('RESUME of an unknown session is answered with INVALID_SESSION (d: false)', async () => {
    const ws = new WebSocket(`${started.address.gatewayUrl}?v=10&encoding=json`);
    sockets.push(ws);
    await new Promise((resolve) => ws.once('message', resolve));
    const reply = new Promise<{ op: number; d: unknown }>((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)))));
    ws.send(JSON.stringify({ op: 6, d: { token: started.address.token, session_id: 'no-such-session', seq: 3 } }));
    expect(await reply).toEqual({ op: 9, d: false, s: null, t: null });
  });

  it('speaks compress=zlib-stream: binary frames from one deflate context, each ending in a sync flush', async () => {
    const ws = new WebSocket(`${started.address.gatewayUrl}?v=10&encoding=json&compress=zlib-stream`);
    sockets.push(ws);
    const frames: Buffer[] = [];
    const got = new Promise<void>((resolve) =>
      ws.on('message', (data: Buffer, isBinary) => {
        expect(isBinary).toBe(true);
        frames.push(data);
        if (frames.length === 2) resolve();
      }),
    );
    ws.once('open', () => ws.send(JSON.stringify({ op: 1, d: null })));
    await got;
    for (const frame of frames) expect([...frame.subarray(-4)]).toEqual([0, 0, 255, 255]);
    // Inflating the concatenated stream yields both payloads back to back.
    const text = inflateSync(Buffer.concat(frames), { finishFlush: 2 }).toString('utf8');
    expect(text).toMatch(/^\{"s":null,"t":null,"op":10,.*\}\{"s":null,"t":null,"op":11\}$/);
  });

  it('sends no GUILD_CREATE without the Guilds intent, as Discord does', async () => {
    const client = new Client({ intents: [GatewayIntentBits.GuildMessages], waitGuildTimeout: 300, ...sandboxClientOptions(started.address.url) });
    clients.push(client);
    const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
    await client.login(started.address.token);
    await ready;
    expect(client.guilds.cache.first()?.available).toBe(false);
  });
});
