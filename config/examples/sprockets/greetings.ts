// A custom sprocket: one job method, `say_hello`, callable by ScheduleZero once the bot registers it.
// In a project of your own, import from 'zmq-notify' instead of the relative path.
import { z } from 'zod';
import { defineSprocket, discordId } from '../../../src/index.ts';

export default defineSprocket({
  name: 'greetings',
  description: 'Says hello in a channel',
  methods: {
    say_hello: {
      description: 'Posts "Hello, <name>!" to channel_id',
      params: z.object({ channel_id: discordId, name: z.string().min(1).max(100) }).strict(),
      run: async ({ channel_id, name }, ctx) => {
        ctx.logger.info({ name }, 'greeting');
        // Through send_message: validated, allow-list checked and logged like any call.
        return ctx.call('send_message', { channel_id, content: `Hello, ${name}!` });
      },
    },
  },
});
