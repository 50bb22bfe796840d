import { isInteger, isSafeNumber, parse } from 'lossless-json';

/**
 * ScheduleZero's job-handler wire format (schedulezero.md §2): one UTF-8 frame of `json.dumps(obj)`
 * each way, `{"method", "params"}` in, `{"success": true, ...}` / `{"success": false, "error"}` out.
 */

/** Integers that a JavaScript number cannot hold exactly (Discord IDs are above 2^53) become their digits. */
export function parseJsonNumber(text: string): number | string {
  if (isInteger(text)) return isSafeNumber(text) ? Number(text) : text;
  return Number.parseFloat(text);
}

/** Parses JSON text without losing integer digits: unsafe integers become strings of digits. Throws SyntaxError. */
export function parseLossless(text: string): unknown {
  return parse(text, null, parseJsonNumber);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A job request as read from its frame: the method and params, or the reply it gets at once. */
export type DecodedRequest = { method: string; params: unknown } | { reply: Record<string, unknown> };

/** Reads a request frame: `Invalid JSON` for bytes that are not UTF-8 JSON, `Unknown method: None` without a method (as ScheduleZero's handler base says). */
export function decodeRequest(frame: Uint8Array | undefined): DecodedRequest {
  let value: unknown;
  try {
    value = parseLossless(utf8.decode(frame ?? new Uint8Array()));
  } catch {
    return { reply: errorReply('Invalid JSON') };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { reply: errorReply('Invalid request: expected a JSON object {"method": ..., "params": {...}}') };
  }
  const { method, params } = value as { method?: unknown; params?: unknown };
  if (typeof method !== 'string') return { reply: errorReply(`Unknown method: ${method === undefined || method === null ? 'None' : JSON.stringify(method)}`) };
  return { method, params: params ?? {} };
}

/** A method's result as the reply: a plain object gets `success: true` (unless it says otherwise), anything else becomes `result`. */
export function successReply(value: unknown): Record<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const object = value as Record<string, unknown>;
    return 'success' in object ? object : { success: true, ...object };
  }
  return { success: true, result: value ?? null };
}

/** A failed call's reply. */
export function errorReply(error: string): Record<string, unknown> {
  return { success: false, error };
}

/** A reply as its frame's text (bigints as digits, so nothing a method returns can break the reply). */
export function encodeReply(reply: Record<string, unknown>): string {
  try {
    return JSON.stringify(reply, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch (err) {
    return JSON.stringify(errorReply(`the method's result could not be sent as JSON: ${(err as Error).message}`));
  }
}
