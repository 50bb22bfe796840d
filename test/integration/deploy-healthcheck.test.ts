import { afterEach, describe, expect, it } from 'vitest';
import { HealthServer, type HealthReport } from '../../src/observability/health.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { captureLogger, freePort, run } from '../helpers/transport.ts';

// deploy/healthcheck.mjs, the health check of the systemd unit and the Docker image, against a
// real /healthz.

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function healthz(report: () => HealthReport): Promise<string> {
  const server = new HealthServer({ host: '127.0.0.1', port: 0, metrics: new Metrics({ defaultMetrics: false }), report, logger: captureLogger('warn').logger });
  const url = await server.start();
  stops.push(() => server.stop());
  return `${url}/healthz`;
}

function report(state: string, reasons: string[] = []): HealthReport {
  return { reasons, listener: { state, endpoints: [], connected: [], topics: [], problems: [] }, queue: { depth: 0, capacity: 1 }, last_event_age_seconds: null, publishers: [], uptime_seconds: 0 };
}

const check = (...args: string[]) => run(process.execPath, ['deploy/healthcheck.mjs', ...args]);

describe('deploy/healthcheck.mjs', () => {
  it('exits 0 while /healthz answers 200', async () => {
    const result = await check(await healthz(() => report('running')));
    expect(result).toMatchObject({ code: 0, stderr: '' });
  });

  it('exits 1 on a 503 and prints its reasons (a channel that cannot be posted to, shutting down)', async () => {
    const result = await check(await healthz(() => report('running', ['cannot post to #alerts: 403', 'shutting down'])));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('zmq-notify unhealthy (503): cannot post to #alerts: 403; shutting down');
  });

  it('exits 1 when nothing listens (a port nobody bound)', async () => {
    const result = await check(`http://127.0.0.1:${await freePort()}/healthz`);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('zmq-notify health check:');
  });

  it('--up exits 0 once /healthz answers at all, even 503 (the listener is stopped)', async () => {
    const result = await check('--up', await healthz(() => report('stopped')));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/answered 503/);
  });
});
