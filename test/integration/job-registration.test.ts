import { afterEach, describe, expect, it } from 'vitest';
import { Registration } from '../../src/jobs/registration.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { PythonScheduleZero } from '../helpers/schedulezero.ts';
import { captureLogger, freePort } from '../helpers/transport.ts';

async function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('Registration with a pyzmq ScheduleZero registration server', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function registration(serverAddress: string, methods: string[]): { registration: Registration; metrics: Metrics } {
    const { logger } = captureLogger('info');
    const metrics = new Metrics({ defaultMetrics: false });
    const reg = new Registration({
      serverAddress,
      handlerId: 'discord-bot',
      address: () => 'tcp://127.0.0.1:5000',
      methods: () => methods,
      logger,
      metrics,
      pingIntervalMs: 200,
      requestTimeoutMs: 1_000,
      retryBaseMs: 50,
      retryMaxMs: 300,
    });
    cleanups.push(() => reg.stop());
    return { registration: reg, metrics };
  }

  it('pings, registers {handler_id, address, methods}, and reports offline on stop', async () => {
    const address = `tcp://127.0.0.1:${await freePort()}`;
    const server = await PythonScheduleZero.start(address);
    cleanups.push(() => server.stop());
    const methods = ['send_message', 'ping'];
    const { registration: reg, metrics } = registration(address, methods);
    reg.start();
    await until(() => reg.registered);
    const [ping, register] = server.registrations();
    expect(ping?.requestText).toBe('{"method":"ping"}');
    expect(ping?.reply).toEqual({ success: true, message: 'pong' });
    expect(register?.request).toEqual({ method: 'register', params: { handler_id: 'discord-bot', address: 'tcp://127.0.0.1:5000', methods } });
    expect(register?.reply).toMatchObject({ success: true, status: 'registered', message: "Handler 'discord-bot' registered successfully" });
    expect(await metrics.value(metrics.handlerRegistered)).toBe(1);
    // Keeps pinging while registered (every 200 ms here, 30 s by default).
    await server.waitFor(() => server.registrations().filter((r) => r.request.method === 'ping').length >= 3);
    const reply = await reg.stop();
    expect(reply).toEqual({ success: true, handler_id: 'discord-bot', status: 'offline' });
    // The Python side reports what it received after it has replied.
    await server.waitFor((e) => e.event === 'registration' && JSON.parse(e.request).method === 'report_status');
    const last = server.registrations().find((r) => r.request.method === 'report_status');
    expect(last?.request).toEqual({ method: 'report_status', params: { handler_id: 'discord-bot', status: 'offline' } });
    expect(reg.status().state).toBe('stopped');
    expect(await metrics.value(metrics.handlerRegistered)).toBe(0);
  });

  it('registers again after the server restarts, and again with the new methods when asked', async () => {
    const address = `tcp://127.0.0.1:${await freePort()}`;
    let server = await PythonScheduleZero.start(address);
    cleanups.push(() => server.stop());
    const methods = ['send_message'];
    const { registration: reg } = registration(address, methods);
    reg.start();
    await until(() => reg.registered);
    await server.stop();
    await until(() => !reg.registered);
    server = await PythonScheduleZero.start(address);
    await server.waitFor((e) => e.event === 'registration' && JSON.parse(e.request).method === 'register');
    await until(() => reg.registered);
    // Twice at least: a ping that a loaded machine answers late is one more re-registration, not a failure.
    expect(reg.status().registrations).toBeGreaterThanOrEqual(2);
    // The new server process starts with an empty registry: to it this is a first registration.
    expect(server.registrations().find((r) => r.request.method === 'register')?.reply.status).toBe('registered');
    methods.push('send_embed');
    reg.reregister();
    await server.waitFor((e) => e.event === 'registration' && JSON.parse(e.reply).status === 're-registered');
    const again = server.registrations().filter((r) => r.request.method === 'register').at(-1);
    expect(again?.request.params).toMatchObject({ methods: ['send_message', 'send_embed'] });
  });

  it('keeps retrying while no server is there, and registers once one starts', async () => {
    const address = `tcp://127.0.0.1:${await freePort()}`;
    const { registration: reg, metrics } = registration(address, ['send_message']);
    reg.start();
    await until(() => reg.status().failures >= 2, 10_000);
    expect(reg.status()).toMatchObject({ state: 'retrying', lastError: expect.stringMatching(/no reply to ping within 1000 ms/) });
    expect(await metrics.value(metrics.handlerRegistered)).toBe(0);
    const server = await PythonScheduleZero.start(address);
    cleanups.push(() => server.stop());
    await until(() => reg.registered);
    expect(reg.status()).toMatchObject({ failures: 0, lastError: null });
    expect(reg.status().registrations).toBeGreaterThanOrEqual(1);
  });
});
