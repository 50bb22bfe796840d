import { describe, expect, it } from 'vitest';
import { repeatedFailureEmbed } from '../../src/discord/embeds/index.ts';
import { compactError, compactFailure } from '../../src/handlers/compact.ts';

describe('compactFailure (what a repeat series keeps of the latest failure)', () => {
  const huge = {
    job_id: 'j-1',
    job_name: 'etl',
    retry_count: 4,
    error: `E${'x'.repeat(1_000_000)}`,
    traceback: `${'  File "a.py", line 1\n'.repeat(50_000)}ValueError: the last line`,
    payload_blob: 'y'.repeat(1_000_000),
  };
  const event = { topic: 'job.failed', data: huge, meta: { receivedAt: 1, seq: 7, src: 's' } };

  it('keeps a 2 MB payload to a few KB: id, name, retries, the start of the error, the end of the traceback, nothing else', () => {
    const compact = compactFailure(event);
    expect(JSON.stringify(compact).length).toBeLessThan(5_000);
    expect(compact.data).toMatchObject({ job_id: 'j-1', job_name: 'etl', retry_count: 4 });
    expect(String(compact.data.error).startsWith('Exxx')).toBe(true);
    expect(String(compact.data.traceback).endsWith('ValueError: the last line')).toBe(true);
    expect(compact.data).not.toHaveProperty('payload_blob');
    expect(compact.meta).toEqual(event.meta);
  });

  it('the repeated-failure alert built from it still shows the error and the traceback\'s last line', () => {
    const embed = repeatedFailureEmbed(compactFailure(event), { count: 3, windowMs: 60_000 });
    expect(embed.description).toContain('Exxx');
    expect(embed.description).toContain('ValueError: the last line');
  });

  it('compactError cuts long strings and large objects, keeps small values as they are', () => {
    expect(compactError('short')).toBe('short');
    expect(compactError(42)).toBe(42);
    expect(compactError({ code: 1 })).toEqual({ code: 1 });
    expect(String(compactError('z'.repeat(10_000))).length).toBe(1_200);
    expect(String(compactError({ big: 'z'.repeat(10_000) })).length).toBe(1_200);
  });
});
