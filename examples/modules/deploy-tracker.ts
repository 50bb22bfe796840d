// An example handler module. List it in a config file to load it at start:
//   modules: [./examples/modules/deploy-tracker.ts]     (relative to the config file's directory)
import { defineModule } from 'zmq-notify';

const MAX_DEPLOYMENTS = 1000;

interface Deployment {
  up: boolean;
  /** When the current state began (ms since the epoch, as the bot received it). */
  since: number;
}

/** Follows each scheduler deployment through start and stop, and logs how long it was up or down. */
export default defineModule({
  name: 'deploy-tracker',
  setup(ctx) {
    const deployments = new Map<string, Deployment>();

    const track = (name: string, up: boolean, at: number): void => {
      const before = deployments.get(name);
      // Names come from the network: keep the map bounded by forgetting the longest-unchanged one.
      if (!before && deployments.size >= MAX_DEPLOYMENTS) deployments.delete(deployments.keys().next().value as string);
      deployments.delete(name);
      deployments.set(name, { up, since: at });
      const seconds = before ? Math.round((at - before.since) / 1000) : undefined;
      if (up) ctx.logger.info({ deployment: name, downForSeconds: before && !before.up ? seconds : undefined }, `deployment ${name} is up`);
      else ctx.logger.warn({ deployment: name, upForSeconds: before?.up ? seconds : undefined }, `deployment ${name} stopped`);
    };
    // A deployment's name is in the payload; a publisher that omits it is known by its id.
    const nameOf = (data: Record<string, unknown>, src: string | undefined): string =>
      typeof data.deployment === 'string' ? data.deployment : (src ?? 'unknown');

    ctx.on('scheduler.started', (event) => track(nameOf(event.data, event.meta.src), true, event.meta.receivedAt));
    ctx.on('scheduler.stopped', (event) => track(nameOf(event.data, event.meta.src), false, event.meta.receivedAt));

    // A heartbeat from a deployment never seen starting means the bot came up after it did.
    ctx.on('scheduler.heartbeat', (event) => {
      const name = nameOf(event.data, event.meta.src);
      if (!deployments.has(name)) track(name, true, event.meta.receivedAt);
    });

    // What setup returns runs when the bot stops.
    return () => {
      const up = [...deployments].filter(([, d]) => d.up).map(([name]) => name);
      ctx.logger.info({ up, down: deployments.size - up.length }, 'deploy-tracker: deployments at shutdown');
    };
  },
});
