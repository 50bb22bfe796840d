export { Outbox, type OutboxOptions } from './outbox.ts';
export { OutboxError, type OutboxErrorReason } from './errors.ts';
export type { DirectOptions, OutboxEvents, OutboxItem, OutboxMessage } from './types.ts';
