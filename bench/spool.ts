// Spool: how many events per second the Outbox accepts into its SQLite spool (a file in a temp
// dir), in-process, with nothing sent (the Outbox is paused): each post() writes its row in the
// store's per-turn batch. For comparison the same with one transaction per event, which is what
// writing each event on its own would cost.
//
//   node --import tsx bench/spool.ts [--events N]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { jobFailedEmbed } from '../src/discord/embeds/index.ts';
import { createOutboxRest, Outbox } from '../src/discord/outbox/index.ts';
import { createLogger } from '../src/observability/logger.ts';
import { Metrics } from '../src/observability/metrics.ts';
import { openStore } from '../src/store/index.ts';

/** The JSON section `spool`. */
export interface SpoolResult {
  events: number;
  channels: number;
  /** Events accepted per second, batched (one transaction per event-loop turn). */
  batched_eps: number;
  /** The same, one transaction per event. */
  unbatched_eps: number;
  unbatched_events: number;
  /** Size of the database file (with its WAL) once the batched run is committed, MiB. */
  file_mb: number;
}

const CHANNELS = ['100000000000000301', '100000000000000302', '100000000000000303', '100000000000000304'];

async function run(events: number, perEventCommit: boolean): Promise<{ eps: number; fileMb: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'zmq-notify-bench-spool-'));
  const store = openStore({ path: 'spool.db', baseDir: dir });
  const rest = createOutboxRest('http://127.0.0.1:9/api');
  const outbox = new Outbox({ rest, metrics: new Metrics({ defaultMetrics: false }), logger: createLogger({ level: 'silent' }), store, paused: true });
  try {
    const receivedAt = Date.now();
    const embeds = Array.from({ length: 100 }, (_, i) =>
      jobFailedEmbed({ topic: 'job.failed', data: { job_id: `job-${i}`, job_name: `etl-${i}`, error: 'RuntimeError: upstream timed out', retry_count: 1 }, meta: { receivedAt, seq: i, src: 'bench' } }),
    );
    const started = performance.now();
    // Posted in slices that yield between them, as events arrive from the dispatcher.
    for (let i = 0; i < events; i++) {
      outbox.post(CHANNELS[i % CHANNELS.length]!, { embed: embeds[i % embeds.length]!, topic: 'job.failed', label: `etl-${i % 100}`, receivedAt });
      if (perEventCommit) store.flush();
      if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve));
    }
    await outbox.stored();
    const seconds = (performance.now() - started) / 1000;
    const size = (name: string): number => {
      try {
        return statSync(join(dir, name)).size;
      } catch {
        return 0;
      }
    };
    return { eps: Math.round(events / seconds), fileMb: Math.round(((size('spool.db') + size('spool.db-wal')) / 1048576) * 10) / 10 };
  } finally {
    await outbox.drain(0);
    rest.clearHashSweeper();
    rest.clearHandlerSweeper();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the spool measurement; see the file comment. */
export async function measureSpool(options: { events: number }): Promise<SpoolResult> {
  const batched = await run(options.events, false);
  const unbatchedEvents = Math.min(options.events, 20_000);
  const unbatched = await run(unbatchedEvents, true);
  return { events: options.events, channels: CHANNELS.length, batched_eps: batched.eps, unbatched_eps: unbatched.eps, unbatched_events: unbatchedEvents, file_mb: batched.fileMb };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { events: { type: 'string' } } });
  console.log(JSON.stringify({ bench: 'spool', ...(await measureSpool({ events: values.events === undefined ? 200_000 : Number(values.events) })) }, null, 1));
}
