import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SandboxStore } from './store.ts';
import { messageView } from './views.ts';

const maxClients = 100;
const keepAliveMs = 15_000;

/**
 * Server-Sent Events at GET /sandbox/events: every message created, edited or deleted and every
 * change to registered commands, as it happens. The page listens; tests can too.
 */
export class LiveFeed {
  private readonly clients = new Set<ServerResponse>();
  private readonly keepAlive: NodeJS.Timeout;

  constructor(store: SandboxStore) {
    store.on('messageCreate', (m) => this.broadcast('message', messageView(store, m)));
    store.on('messageUpdate', (m) => this.broadcast('message_update', messageView(store, m)));
    store.on('messageDelete', ({ id, channelId }) => this.broadcast('message_delete', { channel_id: channelId, ids: [id] }));
    store.on('messageDeleteBulk', ({ ids, channelId }) => this.broadcast('message_delete', { channel_id: channelId, ids }));
    store.on('commandsUpdate', ({ guildId }) => this.broadcast('commands', { guild_id: guildId }));
    store.on('memberUpdate', ({ userId }) => this.broadcast('member', { user_id: userId }));
    store.on('channelUpdate', ({ channelId }) => this.broadcast('channel', { channel_id: channelId }));
    store.on('presenceUpdate', ({ userId }) => this.broadcast('presence', { user_id: userId }));
    this.keepAlive = setInterval(() => {
      for (const res of this.clients) res.write(': keep-alive\n\n');
    }, keepAliveMs);
    this.keepAlive.unref();
  }

  /** Opens an event stream for one client. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.clients.size >= maxClients) {
      res.writeHead(503, { 'Content-Type': 'text/plain' });
      res.end('too many live-feed clients\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write('retry: 1000\n: connected\n\n');
    this.clients.add(res);
    req.on('close', () => this.clients.delete(res));
  }

  /** Sends one event to every client. */
  broadcast(event: string, data: unknown): void {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of this.clients) res.write(frame);
  }

  /** Ends every stream. */
  close(): void {
    clearInterval(this.keepAlive);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
