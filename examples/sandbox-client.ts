// A stock discord.js client talking to the sandbox Discord server: the only change from talking
// to Discord is the `rest.api` option (the Gateway URL comes from GET /gateway/bot).
//
//   zmq-notify sandbox --port 8099            # prints the page URL and the token
//   node --import tsx examples/sandbox-client.ts http://127.0.0.1:8099 <token> [channel]
//
// (or set SANDBOX_URL and SANDBOX_TOKEN). The embed appears on the page and in
// GET /sandbox/messages?channel_id=<id>.
import { Client, Events, GatewayIntentBits } from 'discord.js';

const url = (process.argv[2] ?? process.env.SANDBOX_URL ?? 'http://127.0.0.1:8099').replace(/\/$/, '');
const token = process.argv[3] ?? process.env.SANDBOX_TOKEN;
const channelName = process.argv[4] ?? 'general';
if (!token) {
  console.error('usage: sandbox-client.ts <sandbox-url> <token> [channel]  (or SANDBOX_URL / SANDBOX_TOKEN)');
  process.exit(2);
}

const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: `${url}/api` } });
client.once(Events.ClientReady, async (ready) => {
  const channel = ready.channels.cache.find((c) => c.isTextBased() && !c.isDMBased() && c.name === channelName);
  if (!channel?.isSendable()) {
    console.error(`no channel named #${channelName}`);
    process.exitCode = 1;
  } else {
    const message = await channel.send({
      embeds: [{ title: 'Hello from a stock discord.js client', description: `Logged in as **${ready.user.username}**.`, color: 0x5865f2, timestamp: new Date().toISOString() }],
    });
    console.log(`posted ${message.id}; see ${url}/#${channel.id} and ${url}/sandbox/messages?channel_id=${channel.id}`);
  }
  await ready.destroy();
});
await client.login(token);
