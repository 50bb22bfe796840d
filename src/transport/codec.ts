import { decodeBrokerMessage } from './codec-schedulezero.ts';
import type { EventMeta, ZmqEvent } from '../pipeline/event.ts';
import { isObject } from '../shared/json.ts';

/** What was wrong with a message that did not follow the wire format. */
export type MalformedKind =
  | 'single_frame'
  | 'non_utf8_topic'
  | 'empty_topic'
  | 'non_utf8_payload'
  | 'invalid_json'
  | 'not_object'
  | 'oversized'
  | 'bad_envelope'
  | 'unknown_message_type'
  | 'unknown_event_class'
  | 'bad_base64'
  | 'invalid_notification';

/** Every malformed kind, in the order the wire-format checks run. */
export const malformedKinds: readonly MalformedKind[] = [
  'single_frame',
  'non_utf8_topic',
  'empty_topic',
  'non_utf8_payload',
  'invalid_json',
  'not_object',
  'oversized',
  'bad_envelope',
  'unknown_message_type',
  'unknown_event_class',
  'bad_base64',
  'invalid_notification',
];

/** A description of one malformed message, with a short sample for the log. */
export interface MalformedFrame {
  kind: MalformedKind;
  detail: string;
  sample: string;
  topic?: string;
}

/** Decoding outcome: an event (possibly salvaged from a broken payload) or an unusable message. */
export type DecodeResult =
  | { ok: true; event: ZmqEvent; malformed?: MalformedFrame }
  | { ok: false; malformed: MalformedFrame };

/** Frame 2 of a message from our publisher. */
export interface Envelope {
  v: 1;
  seq: number;
  ts: string;
  src: string;
  /** One id per publisher start, so a restart is told from a gap exactly; absent from older publishers. */
  run?: string;
}

/** Options for {@link decodeMessage}. */
export interface DecodeOptions {
  /** Payloads larger than this are not parsed (kind `oversized`). */
  maxPayloadBytes: number;
  /** Receive time in ms since the epoch; defaults to Date.now(). */
  now?: number;
}

/** Longest raw text kept in a salvaged event's `data.raw`. */
export const MAX_RAW_CHARS = 4096;
/** Longest sample kept in a MalformedFrame (it goes to the log). */
export const MAX_SAMPLE_CHARS = 200;
/** An envelope is a few dozen bytes; anything larger is not parsed. */
export const MAX_ENVELOPE_BYTES = 1024;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lossyUtf8 = new TextDecoder('utf-8');
const isoTimestamp = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
// The envelope exactly as our publisher writes it (JSON.stringify, keys in order, strings without
// escapes or control characters, \p{Cc}), with every check parseEnvelope makes built in: matching it
// gives the same result as JSON.parse plus those checks, at a third of the cost, on every message.
// Anything else, valid or not, takes the general path.
const CANONICAL_ENVELOPE = /^\{"v":1,"seq":([1-9]\d{0,15}),"ts":"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}[^"\\\p{Cc}]*)","src":"([^"\\\p{Cc}]+)"(?:,"run":"([^"\\\p{Cc}]{1,64})")?\}$/u;
/** Longest `run` id accepted: ours are 8 characters. */
export const MAX_RUN_CHARS = 64;

/** Cuts text to at most `max` UTF-16 units without splitting a surrogate pair. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

// A UTF-16 unit needs at most 3 UTF-8 bytes, so this many bytes always yield `chars` units.
function lossyPrefix(bytes: Uint8Array, chars: number): string {
  return cut(lossyUtf8.decode(bytes.subarray(0, chars * 3)), chars);
}

function hexSample(bytes: Uint8Array): string {
  return `hex:${Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 64)).toString('hex')}`;
}

function strictDecode(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Parses frame 2; returns the envelope or why it is not one. */
function parseEnvelope(frame: Uint8Array): Envelope | string {
  if (frame.length > MAX_ENVELOPE_BYTES) return `envelope frame is ${frame.length} bytes, limit ${MAX_ENVELOPE_BYTES}`;
  const text = strictDecode(frame);
  if (text === undefined) return 'envelope frame is not valid UTF-8';
  const canonical = CANONICAL_ENVELOPE.exec(text);
  if (canonical !== null) {
    const seq = Number(canonical[1]);
    if (Number.isSafeInteger(seq)) {
      const envelope: Envelope = { v: 1, seq, ts: canonical[2] as string, src: canonical[3] as string };
      if (canonical[4] !== undefined) envelope.run = canonical[4];
      return envelope;
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `envelope frame is not JSON: ${(err as Error).message}`;
  }
  if (!isObject(value)) return 'envelope frame is not a JSON object';
  const { v, seq, ts, src, run } = value;
  if (v !== 1) return `envelope version ${JSON.stringify(v)} is not 1`;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return `envelope seq ${JSON.stringify(seq)} is not a positive integer`;
  if (typeof ts !== 'string' || !isoTimestamp.test(ts)) return `envelope ts ${JSON.stringify(ts)} is not an ISO-8601 timestamp`;
  if (typeof src !== 'string' || src.length === 0) return `envelope src ${JSON.stringify(src)} is not a non-empty string`;
  if (run === undefined) return { v, seq, ts, src };
  if (typeof run !== 'string' || run.length === 0 || run.length > MAX_RUN_CHARS) return `envelope run ${JSON.stringify(run)?.slice(0, 80)} is not a string of 1 to ${MAX_RUN_CHARS} characters`;
  return { v, seq, ts, src, run };
}

const OPEN_BRACE = 0x7b;

/**
 * Decodes one ZeroMQ message into an event: the catalog format (topic, payload, optional
 * envelope) or, for a single frame holding a JSON object, ScheduleZero's broker format
 * (decodeBrokerMessage). Never throws: malformed input is classified by kind and either salvaged
 * (ok: true, with `malformed`) or rejected (ok: false).
 */
export function decodeMessage(frames: readonly Uint8Array[], opts: DecodeOptions): DecodeResult {
  const receivedAt = opts.now ?? Date.now();
  const topicFrame = frames[0];
  const payloadFrame = frames[1];
  if (frames.length === 1 && topicFrame !== undefined && topicFrame[0] === OPEN_BRACE) {
    if (topicFrame.length > opts.maxPayloadBytes) {
      return {
        ok: false,
        malformed: {
          kind: 'oversized',
          detail: `ScheduleZero broker message of ${topicFrame.length} bytes, limit ${opts.maxPayloadBytes} (subscriber.max_payload_bytes)`,
          sample: lossyPrefix(topicFrame, MAX_SAMPLE_CHARS),
        },
      };
    }
    return decodeBrokerMessage(topicFrame, receivedAt);
  }
  if (topicFrame === undefined || payloadFrame === undefined) {
    return {
      ok: false,
      malformed: {
        kind: 'single_frame',
        detail: `expected 2 or 3 frames (topic, payload, envelope), or one JSON object frame (ScheduleZero's broker), got ${frames.length}`,
        sample: topicFrame === undefined ? '' : lossyPrefix(topicFrame, MAX_SAMPLE_CHARS),
      },
    };
  }
  if (topicFrame.length === 0) {
    return { ok: false, malformed: { kind: 'empty_topic', detail: 'frame 0 (topic) is empty', sample: lossyPrefix(payloadFrame, MAX_SAMPLE_CHARS) } };
  }
  const topic = strictDecode(topicFrame);
  if (topic === undefined) {
    return { ok: false, malformed: { kind: 'non_utf8_topic', detail: 'frame 0 (topic) is not valid UTF-8', sample: hexSample(topicFrame) } };
  }

  let data: Record<string, unknown>;
  let malformed: MalformedFrame | undefined;
  if (payloadFrame.length > opts.maxPayloadBytes) {
    const raw = lossyPrefix(payloadFrame, MAX_RAW_CHARS);
    data = { raw, oversized_bytes: payloadFrame.length };
    malformed = {
      kind: 'oversized',
      detail: `payload is ${payloadFrame.length} bytes, limit ${opts.maxPayloadBytes}; kept the first ${raw.length} characters`,
      sample: cut(raw, MAX_SAMPLE_CHARS),
      topic,
    };
  } else {
    const text = strictDecode(payloadFrame);
    if (text === undefined) {
      data = { raw: lossyPrefix(payloadFrame, MAX_RAW_CHARS) };
      malformed = { kind: 'non_utf8_payload', detail: 'frame 1 (payload) is not valid UTF-8', sample: hexSample(payloadFrame), topic };
    } else {
      let value: unknown;
      let parseError: string | undefined;
      try {
        value = JSON.parse(text);
      } catch (err) {
        parseError = (err as Error).message;
      }
      if (parseError !== undefined) {
        data = { raw: cut(text, MAX_RAW_CHARS) };
        malformed = { kind: 'invalid_json', detail: `payload is not JSON: ${parseError}`, sample: cut(text, MAX_SAMPLE_CHARS), topic };
      } else if (isObject(value)) {
        data = value;
      } else {
        data = { value };
        const what = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
        malformed = { kind: 'not_object', detail: `payload is ${what}, expected a JSON object`, sample: cut(text, MAX_SAMPLE_CHARS), topic };
      }
    }
  }

  const meta: EventMeta = { receivedAt };
  const envelopeFrame = frames[2];
  if (envelopeFrame !== undefined) {
    const envelope = parseEnvelope(envelopeFrame);
    if (typeof envelope === 'string') {
      // A broken payload is the more useful thing to report when both are wrong.
      malformed ??= { kind: 'bad_envelope', detail: envelope, sample: lossyPrefix(envelopeFrame, MAX_SAMPLE_CHARS), topic };
    } else {
      meta.seq = envelope.seq;
      meta.ts = envelope.ts;
      meta.src = envelope.src;
      if (envelope.run !== undefined) meta.run = envelope.run;
    }
  }
  const event: ZmqEvent = { topic, data, meta };
  return malformed === undefined ? { ok: true, event } : { ok: true, event, malformed };
}

/** Encodes an event as wire frames: topic, JSON payload and, when given, the envelope. */
export function encodeMessage(topic: string, data: unknown, envelope?: Envelope): Buffer[] {
  const json = JSON.stringify(data);
  if (json === undefined) throw new TypeError(`cannot encode ${typeof data} as a JSON payload`);
  const frames = [Buffer.from(topic, 'utf8'), Buffer.from(json, 'utf8')];
  if (envelope !== undefined) frames.push(Buffer.from(JSON.stringify(envelope), 'utf8'));
  return frames;
}
