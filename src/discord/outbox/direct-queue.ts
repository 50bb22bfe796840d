import { DigestCounter } from './digest.ts';
import type { OutboxMessage } from './types.ts';

/** Who waits for a direct message's outcome. */
export interface Waiter {
  resolve(result: { id: string }): void;
  reject(error: Error): void;
}

/** A direct send or edit as the Outbox hands it to a channel. */
export interface DirectRequest {
  kind: 'send' | 'edit';
  messageId?: string;
  body: OutboxMessage;
  /** The events the message carries, when the caller counts it as carrying any. */
  events?: DigestCounter;
  /** For a send: its nonce, so that a create retried after it had landed is not posted twice. */
  nonce?: string;
}

/** A direct send or edit waiting for its turn, or in flight. */
export interface DirectOp extends DirectRequest {
  readonly type: 'direct';
  waiters: Waiter[];
  settled: boolean;
}

/**
 * A channel's queue of direct sends and edits (messages whose id the caller needs, or that update
 * an earlier one), oldest first, bounded. Only the newest body of a message matters, so an edit of
 * a message that already has one queued takes that one over instead of queueing another.
 */
export class DirectQueue {
  private readonly ops: DirectOp[] = [];

  constructor(readonly capacity: number) {}

  /** Queues the request for `waiter`: `merged` into a queued edit of the same message, or `full`. */
  add(request: DirectRequest, waiter: Waiter | undefined): 'queued' | 'merged' | 'full' {
    if (request.kind === 'edit') {
      const queued = this.ops.find((op) => op.kind === 'edit' && op.messageId === request.messageId);
      if (queued) {
        queued.body = request.body;
        if (request.events) (queued.events ??= new DigestCounter()).addAll(request.events);
        if (waiter) queued.waiters.push(waiter);
        return 'merged';
      }
    }
    if (this.ops.length >= this.capacity) return 'full';
    this.ops.push({ ...request, type: 'direct', waiters: waiter ? [waiter] : [], settled: false });
    return 'queued';
  }

  /** The next op, removed from the queue. */
  shift(): DirectOp | undefined {
    return this.ops.shift();
  }

  /** The queued ops, oldest first. */
  get queued(): readonly DirectOp[] {
    return this.ops;
  }

  get length(): number {
    return this.ops.length;
  }

  /** Events the queued ops carry. */
  get events(): number {
    let events = 0;
    for (const op of this.ops) events += op.events?.count ?? 0;
    return events;
  }

  /** Removes and returns the queued ops that `predicate` selects. */
  remove(predicate: (op: DirectOp) => boolean): DirectOp[] {
    const removed: DirectOp[] = [];
    for (let i = this.ops.length - 1; i >= 0; i--) if (predicate(this.ops[i]!)) removed.unshift(...this.ops.splice(i, 1));
    return removed;
  }
}
