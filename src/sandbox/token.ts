import { randomBytes } from 'node:crypto';

/**
 * A bot token shaped like Discord's: base64 of the bot's user ID, a timestamp part and an HMAC
 * part, dot-separated. Tools that sniff a token's shape (or decode the user ID from it) keep working.
 */
export function generateBotToken(userId: string): string {
  const id = Buffer.from(userId).toString('base64url');
  const stamp = randomBytes(4).toString('base64url');
  const mac = randomBytes(28).toString('base64url');
  return `${id}.${stamp}.${mac}`;
}
