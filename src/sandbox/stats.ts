import type { SandboxStore } from './store.ts';

/** Counters of what the sandbox served; GET /sandbox/stats returns {@link SandboxStats.snapshot}. */
export class SandboxStats {
  requests = 0;
  readonly byRoute = new Map<string, number>();
  readonly byStatus = new Map<number, number>();
  rateLimited = { total: 0, route: 0, global: 0, injected: 0 };
  rejectedPayloads = 0;
  unauthorized = 0;
  unknownRoutes = 0;
  readonly faultsServed = new Map<number, number>();
  messages = { created: 0, edited: 0, deleted: 0 };
  gateway = { connections: 0, identifies: 0, resumes: 0, invalidSessions: 0, dispatched: 0 };
  interactions = { invoked: 0, acknowledged: 0, unanswered: 0 };

  private static bump<K>(map: Map<K, number>, key: K, cap = 500): void {
    const current = map.get(key);
    if (current !== undefined) map.set(key, current + 1);
    // Unknown routes are keyed by raw path; the cap keeps a scanning client from growing the map.
    else if (map.size < cap) map.set(key, 1);
  }

  /** Records one REST request by its route template (e.g. `POST /channels/:id/messages`). */
  request(route: string): void {
    this.requests += 1;
    SandboxStats.bump(this.byRoute, route);
  }

  /** Records the status a REST request was answered with. */
  status(code: number): void {
    SandboxStats.bump(this.byStatus, code);
  }

  /** Records an injected fault that was served. */
  fault(status: number): void {
    SandboxStats.bump(this.faultsServed, status);
  }

  /** Counts what happens to messages, whichever route or interaction caused it. */
  watch(store: SandboxStore): void {
    store.on('messageCreate', () => (this.messages.created += 1));
    store.on('messageUpdate', () => (this.messages.edited += 1));
    store.on('messageDelete', () => (this.messages.deleted += 1));
    store.on('messageDeleteBulk', ({ ids }) => (this.messages.deleted += ids.length));
  }

  /** A JSON-ready copy of every counter. */
  snapshot(): Record<string, unknown> {
    return {
      requests: { total: this.requests, byRoute: Object.fromEntries(this.byRoute) },
      responses: { byStatus: Object.fromEntries(this.byStatus) },
      rateLimited: { ...this.rateLimited },
      rejectedPayloads: this.rejectedPayloads,
      unauthorized: this.unauthorized,
      unknownRoutes: this.unknownRoutes,
      faultsServed: Object.fromEntries(this.faultsServed),
      messages: { ...this.messages },
      gateway: { ...this.gateway },
      interactions: { ...this.interactions },
    };
  }
}
