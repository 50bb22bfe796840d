import { randomBytes } from 'node:crypto';
import type { APIEmbed } from 'discord.js';
import { digestEmbed } from '../embeds/digest.ts';
import type { DigestCounter } from './digest.ts';
import type { PackedMessage, PendingItem } from './packing.ts';

/** A merged message of queued events: full embeds, then a digest of the rest. */
export interface Batch {
  readonly type: 'batch';
  embeds: APIEmbed[];
  items: PendingItem[];
  digest?: DigestCounter;
  /** The create's nonce: the same on every try of this message, and kept with its events in the spool. */
  nonce: string;
  /** Already split after a 400: never split again. */
  split: boolean;
  settled: boolean;
}

/** A fresh message nonce (Discord allows up to 25 characters). */
export function newNonce(): string {
  return randomBytes(12).toString('base64url');
}

/** The batch for a packed message. */
export function batchOf(packed: PackedMessage, nonce = newNonce()): Batch {
  const batch: Batch = { type: 'batch', embeds: packed.embeds, items: packed.items, nonce, split: false, settled: false };
  if (packed.digest) batch.digest = packed.digest;
  return batch;
}

/** A batch rebuilt from spooled events: full items, then a digest of the folded ones. */
export function rebuiltBatch(items: PendingItem[], digest: DigestCounter | undefined, nonce: string): Batch {
  const embeds = items.map((item) => item.embed);
  if (digest && digest.count > 0) embeds.push(digestEmbed(digest.summary()));
  return batchOf(digest && digest.count > 0 ? { embeds, items, digest } : { embeds, items }, nonce);
}

/** Events a batch carries. */
export function batchEvents(batch: Batch): number {
  return batch.items.length + (batch.digest?.count ?? 0);
}

/** The receive time of a batch's oldest event. */
export function oldestOf(batch: Batch): number {
  let oldest = batch.digest?.summary().firstAt ?? Infinity;
  for (const item of batch.items) oldest = Math.min(oldest, item.receivedAt);
  return oldest;
}

/** One batch per embed of a rejected merged message, each with its own nonce; the digest embed (last) keeps its counters. */
export function splitBatch(batch: Batch): Batch[] {
  const singles: Batch[] = batch.items.map((item) => ({ ...batchOf({ embeds: [item.embed], items: [item] }), split: true }));
  const digest = batch.embeds[batch.items.length];
  if (batch.digest && digest) singles.push({ ...batchOf({ embeds: [digest], items: [], digest: batch.digest }), split: true });
  return singles;
}
