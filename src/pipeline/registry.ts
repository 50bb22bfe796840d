import type { Handler, ModuleContext, Unsubscribe } from './module.ts';

/** One handler as registered: which module, which topic prefix, and the context it runs with. */
export interface Registration<X extends object = object> {
  readonly module: string;
  readonly prefix: string;
  readonly name: string;
  readonly handler: Handler<X>;
  readonly context: ModuleContext<X>;
}

/** A registered handler as `/zmq_status` lists it. */
export interface HandlerInfo {
  module: string;
  prefix: string;
  name: string;
}

/** Which handlers want which topics: prefix matching, several handlers per topic, in registration order. */
export class HandlerRegistry<X extends object = object> {
  private registrations: Registration<X>[] = [];

  /** Registers a handler; the returned function unregisters it (idempotent). */
  add(registration: Omit<Registration<X>, 'name'> & { name?: string }): Unsubscribe {
    const name = registration.name ?? this.defaultName(registration.module, registration.prefix);
    const entry: Registration<X> = { ...registration, name };
    // Copy on write: a dispatch in progress keeps the list it matched against.
    this.registrations = [...this.registrations, entry];
    return () => {
      this.registrations = this.registrations.filter((r) => r !== entry);
    };
  }

  /** The handlers whose prefix starts `topic`. */
  match(topic: string): Registration<X>[] {
    const matched: Registration<X>[] = [];
    for (const r of this.registrations) {
      if (topic.startsWith(r.prefix)) matched.push(r);
    }
    return matched;
  }

  /** Every registered handler. */
  list(): HandlerInfo[] {
    return this.registrations.map(({ module, prefix, name }) => ({ module, prefix, name }));
  }

  /** Number of registered handlers. */
  get size(): number {
    return this.registrations.length;
  }

  // `<module>:<prefix>`, with `#2`, `#3`… when a module registers several handlers on one prefix.
  private defaultName(module: string, prefix: string): string {
    const base = `${module}:${prefix === '' ? '*' : prefix}`;
    const taken = new Set(this.registrations.map((r) => r.name));
    if (!taken.has(base)) return base;
    let n = 2;
    while (taken.has(`${base}#${n}`)) n++;
    return `${base}#${n}`;
  }
}
