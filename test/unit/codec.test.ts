import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, MAX_RAW_CHARS, type DecodeResult, type Envelope } from '../../src/transport/codec.ts';

const opts = { maxPayloadBytes: 1024, now: 1_700_000_000_000 };
const envelope: Envelope = { v: 1, seq: 7, ts: '2024-05-01T12:00:00.000Z', src: 'sched-1:42:abc' };
const b = (text: string): Buffer => Buffer.from(text, 'utf8');
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function delivered(result: DecodeResult) {
  if (!result.ok) throw new Error(`expected an event, got ${result.malformed.kind}`);
  return result;
}

function rejected(result: DecodeResult) {
  if (result.ok) throw new Error('expected the message to be rejected');
  return result.malformed;
}

describe('encodeMessage / decodeMessage', () => {
  it('round-trips topic, payload and envelope into event and meta', () => {
    const frames = encodeMessage('job.failed', { job_id: 'x', retry_count: 2 }, envelope);
    expect(frames.map((f) => f.toString())).toEqual(['job.failed', '{"job_id":"x","retry_count":2}', JSON.stringify(envelope)]);
    const result = delivered(decodeMessage(frames, opts));
    expect(result.malformed).toBeUndefined();
    expect(result.event).toEqual({
      topic: 'job.failed',
      data: { job_id: 'x', retry_count: 2 },
      meta: { seq: 7, ts: envelope.ts, src: envelope.src, receivedAt: opts.now },
    });
  });

  it('decodes a plain two-frame message (what pyzmq sends) with no seq/ts/src', () => {
    const result = delivered(decodeMessage([b('job.executed'), b('{"job_id":"j","duration":1.5}')], opts));
    expect(result.event.data).toEqual({ job_id: 'j', duration: 1.5 });
    expect(result.event.meta).toEqual({ receivedAt: opts.now });
  });

  it('keeps emoji and CJK in topics and payloads intact', () => {
    const data = { job_name: '夜間バッチ 🚀', error: '失败：磁盘已满 💥', nested: { '键': '値 ✅' } };
    const result = delivered(decodeMessage(encodeMessage('job.failed.任务🚀', data, envelope), opts));
    expect(result.event.topic).toBe('job.failed.任务🚀');
    expect(result.event.data).toEqual(data);
  });

  it('ignores frames after the envelope (room for future frames)', () => {
    const frames = [...encodeMessage('job.x', { a: 1 }, envelope), b('future')];
    const result = delivered(decodeMessage(frames, opts));
    expect(result.malformed).toBeUndefined();
    expect(result.event.meta.seq).toBe(7);
  });

  it('uses Date.now() for receivedAt when no time is given', () => {
    const before = Date.now();
    const result = delivered(decodeMessage(encodeMessage('job.x', {}), { maxPayloadBytes: 1024 }));
    expect(result.event.meta.receivedAt).toBeGreaterThanOrEqual(before);
  });

  it('refuses to encode a payload JSON cannot represent (undefined)', () => {
    expect(() => encodeMessage('job.x', undefined)).toThrow(TypeError);
  });
});

describe('malformed messages that are not events (dropped)', () => {
  it('single_frame: [ "job.failed" ] alone', () => {
    const m = rejected(decodeMessage([b('job.failed')], opts));
    expect(m.kind).toBe('single_frame');
    expect(m.sample).toBe('job.failed');
    expect(m.detail).toMatch(/got 1/);
  });

  it('single_frame: no frames at all', () => {
    expect(rejected(decodeMessage([], opts)).kind).toBe('single_frame');
  });

  it('non_utf8_topic: topic bytes ff fe with payload {}', () => {
    const m = rejected(decodeMessage([Buffer.from([0xff, 0xfe]), b('{}')], opts));
    expect(m.kind).toBe('non_utf8_topic');
    expect(m.sample).toBe('hex:fffe');
  });

  it('non_utf8_topic: "job." followed by a truncated UTF-8 sequence (e2 82)', () => {
    const m = rejected(decodeMessage([Buffer.concat([b('job.'), Buffer.from([0xe2, 0x82])]), b('{}')], opts));
    expect(m.kind).toBe('non_utf8_topic');
  });

  it('empty_topic: "" with payload {"job_id":"x"}', () => {
    const m = rejected(decodeMessage([b(''), b('{"job_id":"x"}')], opts));
    expect(m.kind).toBe('empty_topic');
    expect(m.sample).toBe('{"job_id":"x"}');
  });
});

describe('malformed payloads that are still delivered (salvaged)', () => {
  it('non_utf8_payload: bytes c3 28 become data.raw with a replacement character', () => {
    const result = delivered(decodeMessage([b('job.failed'), Buffer.from([0x7b, 0xc3, 0x28, 0x7d])], opts));
    expect(result.malformed).toMatchObject({ kind: 'non_utf8_payload', topic: 'job.failed', sample: 'hex:7bc3287d' });
    expect(result.event.data).toEqual({ raw: '{\uFFFD(}' });
  });

  it('invalid_json: \'{"job_id":\' becomes data.raw', () => {
    const result = delivered(decodeMessage([b('job.failed'), b('{"job_id":')], opts));
    expect(result.malformed).toMatchObject({ kind: 'invalid_json', topic: 'job.failed', sample: '{"job_id":' });
    expect(result.event.data).toEqual({ raw: '{"job_id":' });
  });

  it('invalid_json: an empty payload becomes data.raw ""', () => {
    const result = delivered(decodeMessage([b('job.failed'), b('')], opts));
    expect(result.malformed?.kind).toBe('invalid_json');
    expect(result.event.data).toEqual({ raw: '' });
  });

  it(`invalid_json: 10,000 characters of text are cut to ${MAX_RAW_CHARS} in data.raw`, () => {
    const text = `Traceback ${'x'.repeat(10_000)}`;
    const result = delivered(decodeMessage([b('job.failed'), b(text)], { maxPayloadBytes: 100_000 }));
    expect(result.event.data.raw).toBe(text.slice(0, MAX_RAW_CHARS));
    expect(result.malformed?.sample.length).toBeLessThanOrEqual(200);
  });

  it('invalid_json: 3,000 emoji are cut without splitting a surrogate pair', () => {
    const text = `{${'😀'.repeat(3000)}`;
    const result = delivered(decodeMessage([b('job.failed'), b(text)], { maxPayloadBytes: 100_000 }));
    const raw = result.event.data.raw as string;
    expect(raw.length).toBeLessThanOrEqual(MAX_RAW_CHARS);
    expect(raw.length).toBeGreaterThan(MAX_RAW_CHARS - 2);
    expect(loneSurrogate.test(raw)).toBe(false);
  });

  it.each([
    ['[1,2]', [1, 2], 'an array'],
    ['null', null, 'null'],
    ['"job failed"', 'job failed', 'a string'],
    ['42', 42, 'a number'],
    ['true', true, 'a boolean'],
  ])('not_object: payload %s becomes data.value', (text, value, what) => {
    const result = delivered(decodeMessage([b('job.failed'), b(text)], opts));
    expect(result.malformed).toMatchObject({ kind: 'not_object', detail: `payload is ${what}, expected a JSON object` });
    expect(result.event.data).toEqual({ value });
  });

  it('oversized: a valid 2,000-byte JSON object over a 1,024-byte limit is not parsed', () => {
    const text = JSON.stringify({ traceback: 'y'.repeat(1980) });
    const result = delivered(decodeMessage([b('job.failed'), b(text)], opts));
    expect(result.malformed).toMatchObject({ kind: 'oversized', topic: 'job.failed' });
    expect(result.event.data).toEqual({ raw: text, oversized_bytes: Buffer.byteLength(text) });
  });

  it(`oversized: 5 MB of CJK text keeps only the first ${MAX_RAW_CHARS} characters`, () => {
    const payload = b('失'.repeat(1_750_000));
    const result = delivered(decodeMessage([b('job.failed'), payload], { maxPayloadBytes: 1_048_576 }));
    expect(result.malformed?.kind).toBe('oversized');
    expect(result.event.data).toEqual({ raw: '失'.repeat(MAX_RAW_CHARS), oversized_bytes: payload.length });
  });

  it.each([
    ['not JSON', b('seq=1')],
    ['version 2', b('{"v":2,"seq":1,"ts":"2024-05-01T12:00:00Z","src":"a"}')],
    ['seq 0', b('{"v":1,"seq":0,"ts":"2024-05-01T12:00:00Z","src":"a"}')],
    ['seq "1" as a string', b('{"v":1,"seq":"1","ts":"2024-05-01T12:00:00Z","src":"a"}')],
    ['seq 1.5', b('{"v":1,"seq":1.5,"ts":"2024-05-01T12:00:00Z","src":"a"}')],
    ['ts "yesterday"', b('{"v":1,"seq":1,"ts":"yesterday","src":"a"}')],
    ['no src', b('{"v":1,"seq":1,"ts":"2024-05-01T12:00:00Z"}')],
    ['an array', b('[1,1,"2024-05-01T12:00:00Z","a"]')],
    ['bytes ff fe', Buffer.from([0xff, 0xfe])],
    ['2,000 bytes long', b(JSON.stringify({ v: 1, seq: 1, ts: '2024-05-01T12:00:00Z', src: 'a'.repeat(2000) }))],
    ['seq 9999999999999999 (16 digits, beyond 2^53)', b('{"v":1,"seq":9999999999999999,"ts":"2024-05-01T12:00:00Z","src":"a"}')],
    ['a raw control character in src', b('{"v":1,"seq":1,"ts":"2024-05-01T12:00:00Z","src":"a\u0001b"}')],
    ['run 7 (a number)', b('{"v":1,"seq":1,"ts":"2024-05-01T12:00:00Z","src":"a","run":7}')],
    ['run "" (empty)', b('{"v":1,"seq":1,"ts":"2024-05-01T12:00:00Z","src":"a","run":""}')],
    ['run of 65 characters', b(`{"v":1,"seq":1,"ts":"2024-05-01T12:00:00Z","src":"a","run":"${'r'.repeat(65)}"}`)],
  ])('bad_envelope: frame 2 %s delivers the event without seq/ts/src', (_name, frame) => {
    const result = delivered(decodeMessage([b('job.failed'), b('{"job_id":"x"}'), frame], opts));
    expect(result.malformed).toMatchObject({ kind: 'bad_envelope', topic: 'job.failed' });
    expect(result.event.data).toEqual({ job_id: 'x' });
    expect(result.event.meta).toEqual({ receivedAt: opts.now });
  });

  it.each([
    ['an escaped quote in src', '{"v":1,"seq":3,"ts":"2024-05-01T12:00:00Z","src":"a\\"b"}', 'a"b'],
    ['an escaped non-ASCII letter in src', '{"v":1,"seq":3,"ts":"2024-05-01T12:00:00Z","src":"h\\u00f6st"}', 'höst'],
    ['other key order and spaces', '{ "src": "a", "ts": "2024-05-01T12:00:00Z", "seq": 3, "v": 1 }', 'a'],
    ['a non-ASCII src as our publisher writes it', JSON.stringify({ v: 1, seq: 3, ts: '2024-05-01T12:00:00Z', src: 'höst@tcp://[::1]:4243' }), 'höst@tcp://[::1]:4243'],
  ])('an envelope with %s is read like any valid one', (_name, text, src) => {
    const result = delivered(decodeMessage([b('job.failed'), b('{}'), b(text)], opts));
    expect(result.malformed).toBeUndefined();
    expect(result.event.meta).toEqual({ seq: 3, ts: '2024-05-01T12:00:00Z', src, receivedAt: opts.now });
  });

  it.each([
    ['as our publisher writes it', JSON.stringify({ v: 1, seq: 3, ts: '2024-05-01T12:00:00Z', src: 'a', run: 'Xy_9-abc' })],
    ['in another key order', '{"run":"Xy_9-abc","v":1,"seq":3,"ts":"2024-05-01T12:00:00Z","src":"a"}'],
  ])('an envelope with a run id %s puts it in meta.run', (_name, text) => {
    const result = delivered(decodeMessage([b('job.failed'), b('{}'), b(text)], opts));
    expect(result.malformed).toBeUndefined();
    expect(result.event.meta).toEqual({ seq: 3, ts: '2024-05-01T12:00:00Z', src: 'a', run: 'Xy_9-abc', receivedAt: opts.now });
  });

  it('invalid_json payload with a valid envelope keeps the envelope (seq still tracked)', () => {
    const result = delivered(decodeMessage([b('job.failed'), b('{oops'), b(JSON.stringify(envelope))], opts));
    expect(result.malformed?.kind).toBe('invalid_json');
    expect(result.event.meta.seq).toBe(7);
  });

  it('invalid_json payload and a bad envelope report the payload kind', () => {
    const result = delivered(decodeMessage([b('job.failed'), b('{oops'), b('nope')], opts));
    expect(result.malformed?.kind).toBe('invalid_json');
    expect(result.event.meta.seq).toBeUndefined();
  });
});

describe('decodeMessage never throws', () => {
  it('survives 2,000 messages of random bytes in 0-4 frames', () => {
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
    for (let i = 0; i < 2000; i++) {
      const frames = Array.from({ length: Math.floor(random() * 5) }, () => bytes(Math.floor(random() * 40)));
      const result = decodeMessage(frames, { maxPayloadBytes: 20 });
      expect(typeof result.ok).toBe('boolean');
    }
  });
});
