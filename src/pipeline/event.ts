/** Delivery metadata: the envelope fields our publisher adds, and when the bot received it. */
export interface EventMeta {
  seq?: number;
  ts?: string;
  src?: string;
  /** The publisher's run id (one per start), when its envelope has one. */
  run?: string;
  /** Milliseconds since the epoch when the subscriber decoded the message. */
  receivedAt: number;
}

/** One scheduler event as handlers see it, whichever transport delivered it. */
export interface ZmqEvent {
  topic: string;
  data: Record<string, unknown>;
  meta: EventMeta;
}
