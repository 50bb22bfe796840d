/** How long Discord remembers a create's nonce for `enforce_nonce` ("the past few minutes"). */
export const NONCE_WINDOW_MS = 5 * 60_000;
/** Nonces remembered at most per sandbox; the oldest go first. */
const MAX_NONCES = 10_000;

/**
 * The nonces of recent message creates, as Discord keeps them for `enforce_nonce: true`: a create
 * by the same author in the same channel with a nonce seen in the window returns the message that
 * nonce created, and nothing new is posted.
 */
export class RecentNonces {
  // Insertion order is age order, so expiry and the bound both drop from the front.
  private readonly entries = new Map<string, { messageId: string; at: number }>();

  constructor(private readonly windowMs = NONCE_WINDOW_MS) {}

  /** The message an earlier create with this nonce made, if it is recent enough. */
  find(channelId: string, authorId: string, nonce: string | number, now = Date.now()): string | undefined {
    this.expire(now);
    return this.entries.get(key(channelId, authorId, nonce))?.messageId;
  }

  /** Remembers that `nonce` created `messageId`. */
  remember(channelId: string, authorId: string, nonce: string | number, messageId: string, now = Date.now()): void {
    this.entries.set(key(channelId, authorId, nonce), { messageId, at: now });
    while (this.entries.size > MAX_NONCES) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  private expire(now: number): void {
    for (const [k, entry] of this.entries) {
      if (now - entry.at <= this.windowMs) break;
      this.entries.delete(k);
    }
  }
}

function key(channelId: string, authorId: string, nonce: string | number): string {
  return `${channelId}:${authorId}:${String(nonce)}`;
}
