import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/sandbox/errors.ts';
import { charLength, validateMessage } from '../../src/sandbox/limits.ts';
import { resolveMentions } from '../../src/sandbox/mentions.ts';

function rejection(body: unknown): ApiError {
  try {
    validateMessage(body, { requireBody: true });
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected the payload to be rejected');
}

describe('sandbox payload limits', () => {
  it('counts code points as Discord does: an emoji is one character', () => {
    expect(charLength('👍'.repeat(10))).toBe(10);
    expect(() => validateMessage({ content: '👍'.repeat(2000) }, { requireBody: true })).not.toThrow();
    expect(rejection({ content: '👍'.repeat(2001) }).errors).toEqual({ content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 2000 or fewer in length.' }] } });
  });

  it('checks each embed limit at its exact boundary', () => {
    const cases: [string, Record<string, unknown>, Record<string, unknown>, (string | number)[]][] = [
      ['title', { title: 't'.repeat(256) }, { title: 't'.repeat(257) }, ['title']],
      ['footer', { footer: { text: 'f'.repeat(2048) } }, { footer: { text: 'f'.repeat(2049) } }, ['footer', 'text']],
      ['author', { author: { name: 'a'.repeat(256) } }, { author: { name: 'a'.repeat(257) } }, ['author', 'name']],
      ['field name', { fields: [{ name: 'n'.repeat(256), value: 'v' }] }, { fields: [{ name: 'n'.repeat(257), value: 'v' }] }, ['fields', 0, 'name']],
    ];
    for (const [, ok, bad, path] of cases) {
      expect(() => validateMessage({ embeds: [ok] }, { requireBody: true })).not.toThrow();
      let node: unknown = rejection({ embeds: [bad] }).errors;
      for (const key of ['embeds', 0, ...path]) node = (node as Record<string, unknown>)[String(key)];
      expect((node as { _errors: { code: string }[] })._errors[0]?.code).toBe('BASE_TYPE_MAX_LENGTH');
    }
  });

  it('requires a field\'s name and value, a footer\'s text, and http(s) URLs', () => {
    expect(rejection({ embeds: [{ fields: [{ name: 'only a name' }] }] }).errors).toMatchObject({ embeds: { 0: { fields: { 0: { value: { _errors: [{ code: 'BASE_TYPE_REQUIRED' }] } } } } } });
    expect(rejection({ embeds: [{ footer: {} }] }).errors).toMatchObject({ embeds: { 0: { footer: { text: { _errors: [{ code: 'BASE_TYPE_REQUIRED' }] } } } } });
    expect(rejection({ embeds: [{ title: 'x', url: 'javascript:alert(1)' }] }).errors).toMatchObject({ embeds: { 0: { url: { _errors: [{ code: 'URL_TYPE_INVALID_SCHEME' }] } } } });
  });

  it('rejects a colour beyond 0xFFFFFF and a timestamp that is not ISO 8601, and normalizes a good timestamp', () => {
    expect(rejection({ embeds: [{ color: 0x1000000 }] }).errors).toMatchObject({ embeds: { 0: { color: { _errors: [{ code: 'NUMBER_TYPE_MAX' }] } } } });
    expect(rejection({ embeds: [{ title: 'x', timestamp: 'yesterday' }] }).errors).toMatchObject({ embeds: { 0: { timestamp: { _errors: [{ code: 'DATE_TIME_TYPE_PARSE' }] } } } });
    expect(validateMessage({ embeds: [{ timestamp: '2024-05-01T10:00:00Z' }] }, { requireBody: true }).embeds?.[0]?.timestamp).toBe('2024-05-01T10:00:00.000+00:00');
  });

  it('reports every violation of one payload together', () => {
    const err = rejection({ content: 'c'.repeat(2001), embeds: [{ title: 't'.repeat(257), description: 'd'.repeat(4097) }] });
    expect([err.status, err.code, err.message]).toEqual([400, 50035, 'Invalid Form Body']);
    expect(Object.keys(err.errors ?? {}).sort()).toEqual(['content', 'embeds']);
    expect(Object.keys((err.errors?.embeds as Record<string, unknown>)['0'] as object).sort()).toEqual(['description', 'title']);
  });

  it('an empty message is 50006, but an edit may leave fields out', () => {
    expect(rejection({}).code).toBe(50006);
    expect(rejection({ content: '', embeds: [] }).code).toBe(50006);
    expect(validateMessage({}, { requireBody: false })).toEqual({});
    expect(() => validateMessage({}, { requireBody: true, hasFiles: true })).not.toThrow();
  });
});

describe('sandbox mention resolution', () => {
  const ctx = { isUser: (id: string) => ['11', '12'].includes(id), canPingRole: (id: string) => id === '21', canMentionEveryone: true };

  it('with no allowed_mentions everything in the content parses', () => {
    expect(resolveMentions('<@11> <@!12> <@&21> <@&22> @everyone', undefined, ctx)).toEqual({ users: ['11', '12'], roles: ['21'], everyone: true, here: false });
  });

  it('unknown users never ping; @everyone needs the permission', () => {
    expect(resolveMentions('<@99> @here', undefined, { ...ctx, canMentionEveryone: false })).toEqual({ users: [], roles: [], everyone: false, here: false });
  });

  it('a reply pings its author unless replied_user is false in allowed_mentions', () => {
    expect(resolveMentions('ok', undefined, { ...ctx, repliedUserId: '11' }).users).toEqual(['11']);
    expect(resolveMentions('ok', { parse: [], users: [], roles: [], repliedUser: false }, { ...ctx, repliedUserId: '11' }).users).toEqual([]);
  });

  it('roles listed in allowed_mentions.roles ping even when parse is empty', () => {
    expect(resolveMentions('<@&21>', { parse: [], users: [], roles: ['21'], repliedUser: false }, ctx).roles).toEqual(['21']);
  });
});
