import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createScheduleZeroSchedule, ScheduleZeroApiError, scheduleZeroTrigger } from '../../src/jobs/scheduler/schedulezero-api.ts';

// A tiny stand-in for ScheduleZero's Tornado API on 127.0.0.1: it records what it was sent and
// answers as job_scheduling_api.py does (201 {"status","job_id"}, or {"error": {"code","message"}}).
const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

interface Received {
  method: string;
  url: string;
  contentType: string;
  body: Record<string, unknown>;
}

async function scheduleZero(answer: (body: Record<string, unknown>, res: ServerResponse) => void): Promise<{ endpoint: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    req.on('end', () => {
      const body = JSON.parse(text) as Record<string, unknown>;
      received.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'] ?? '', body });
      res.setHeader('Content-Type', 'application/json');
      answer(body, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

describe('ScheduleZero REST API: POST /api/schedule', () => {
  it('sends handler_id, job_method, job_params, trigger and job_id as JSON, and returns the job id ScheduleZero answers', async () => {
    const sz = await scheduleZero((body, res) => {
      res.statusCode = 201;
      res.end(JSON.stringify({ status: 'success', job_id: body.job_id }));
    });
    const created = await createScheduleZeroSchedule({
      endpoint: `${sz.endpoint}/`,
      handlerId: 'discord-bot',
      id: 'nightly',
      method: 'send_message',
      params: { channel_id: '1234567890123456789', content: 'good night' },
      trigger: { cron: '0 22 * * 1-5', timezone: 'Europe/Berlin' },
    });
    expect(created).toEqual({ jobId: 'nightly' });
    expect(sz.received).toEqual([
      {
        method: 'POST',
        url: '/api/schedule',
        contentType: 'application/json',
        body: {
          handler_id: 'discord-bot',
          job_method: 'send_message',
          job_params: { channel_id: '1234567890123456789', content: 'good night' },
          trigger: { type: 'cron', minute: '0', hour: '22', day: '*', month: '*', day_of_week: 'mon-fri', timezone: 'Europe/Berlin' },
          job_id: 'nightly',
        },
      },
    ]);
  });

  it('maps every kind of trigger as APScheduler reads it (day_of_week by name: its numbers start on Monday)', () => {
    expect(scheduleZeroTrigger({ every: '2h', timezone: 'UTC' })).toEqual({ type: 'interval', seconds: 7_200 });
    expect(scheduleZeroTrigger({ at: '2026-12-24T18:00:00', timezone: 'America/New_York' })).toEqual({ type: 'date', run_date: '2026-12-24T23:00:00.000Z' });
    expect(scheduleZeroTrigger({ cron: '*/10 30 9 * * 0,6', timezone: 'UTC' })).toEqual({ type: 'cron', second: '*/10', minute: '30', hour: '9', day: '*', month: '*', day_of_week: 'sun,sat', timezone: 'UTC' });
    expect(scheduleZeroTrigger({ cron: '0 8 * * */2', timezone: 'UTC' }).day_of_week, 'a step stays a number').toBe('*/2');
    expect(scheduleZeroTrigger({ cron: '0 8 * * 7', timezone: 'UTC' }).day_of_week, '7 is Sunday too').toBe('sun');
  });

  it('reports ScheduleZero\'s own reason when it refuses, and an unreachable API as such', async () => {
    const sz = await scheduleZero((_body, res) => {
      res.statusCode = 400;
      res.end(JSON.stringify({ error: { code: 400, message: "Method 'nope' not exposed by handler 'discord-bot'." } }));
    });
    const request = { endpoint: sz.endpoint, handlerId: 'discord-bot', id: 'x', method: 'nope', params: {}, trigger: { every: '1m', timezone: 'UTC' } };
    await expect(createScheduleZeroSchedule(request)).rejects.toThrow(new ScheduleZeroApiError("ScheduleZero refused the schedule (HTTP 400): Method 'nope' not exposed by handler 'discord-bot'.", 400));
    // Tried: a port nothing listens on (the server above, closed).
    const closed = servers.pop()!;
    closed.closeAllConnections();
    await new Promise((resolve) => closed.close(resolve));
    await expect(createScheduleZeroSchedule(request)).rejects.toThrow(/could not be reached \(ECONNREFUSED\)/);
  });
});
