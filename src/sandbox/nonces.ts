import { LRUCache } from 'lru-cache';

/** How long Discord remembers a create's nonce for `enforce_nonce` ("the past few minutes"). */
export const NONCE_WINDOW_MS = 5 * 60_000;
/** Nonces remembered at most per sandbox; the least recently used go first. */
const MAX_NONCES = 10_000;

/**
 * The nonces of recent message creates, as Discord keeps them for `enforce_nonce: true`: a create
 * by the same author in the same channel with a nonce seen in the window returns the message that
 * nonce created, and nothing new is posted.
 */
export class RecentNonces {
  private readonly entries = new LRUCache<string, { messageId: string; at: number }>({ max: MAX_NONCES });

  constructor(private readonly windowMs = NONCE_WINDOW_MS) {}

  /** The message an earlier create with this nonce made, if it is recent enough. */
  find(channelId: string, authorId: string, nonce: string | number, now = Date.now()): string | undefined {
    const entry = this.entries.get(key(channelId, authorId, nonce));
    return entry !== undefined && now - entry.at <= this.windowMs ? entry.messageId : undefined;
  }

  /** Remembers that `nonce` created `messageId`. */
  remember(channelId: string, authorId: string, nonce: string | number, messageId: string, now = Date.now()): void {
    this.entries.set(key(channelId, authorId, nonce), { messageId, at: now });
  }
}

function key(channelId: string, authorId: string, nonce: string | number): string {
  return `${channelId}:${authorId}:${String(nonce)}`;
}
