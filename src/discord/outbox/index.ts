export { Outbox, createOutboxRest, type OutboxOptions } from './outbox.ts';
export { newNonce } from './batch.ts';
export { OutboxError, type OutboxErrorReason } from './errors.ts';
export type { ChannelReport, DirectOptions, OutboxDrainResult, OutboxEvents, OutboxItem, OutboxMessage } from './types.ts';
