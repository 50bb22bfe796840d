import { defineModule } from '../pipeline/module.ts';

/** Built-in module that logs every event it receives (what `start` runs until the Discord modules land). */
export default defineModule({
  name: 'log-events',
  setup(ctx) {
    ctx.on('', (event) => {
      const { seq, src, receivedAt } = event.meta;
      ctx.logger.info({ topic: event.topic, seq, src, receivedAt, data: event.data }, `event ${event.topic}`);
    });
  },
});
