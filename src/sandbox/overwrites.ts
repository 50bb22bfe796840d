import { OverwriteType, type APIOverwrite } from 'discord-api-types/v10';
import { isSnowflake } from '../shared/snowflake.ts';
import { FormErrors } from './errors.ts';

/** Reads a permission bit set as Discord accepts it: a string of digits (or a safe integer); absent = none. */
function bits(raw: unknown, field: 'allow' | 'deny', errors: FormErrors): string {
  if (raw === undefined || raw === null) return '0';
  // Discord types permission bit sets as snowflakes (a string of up to 20 digits).
  if (isSnowflake(raw) || (typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0)) return BigInt(raw).toString();
  errors.add([field], 'NUMBER_TYPE_COERCE', `Value "${String(raw)}" is not snowflake.`);
  return '0';
}

/**
 * Validates the body of PUT /channels/{id}/permissions/{overwrite_id} as Discord does: `type` 0
 * (role) or 1 (member) is required, `allow` and `deny` are permission bit sets. Throws a 50035
 * Invalid Form Body naming the field.
 */
export function parseOverwrite(id: string, raw: unknown): APIOverwrite {
  const body = (typeof raw === 'object' && raw !== null ? raw : {}) as { type?: unknown; allow?: unknown; deny?: unknown };
  const errors = new FormErrors();
  if (body.type !== OverwriteType.Role && body.type !== OverwriteType.Member && body.type !== '0' && body.type !== '1') {
    if (body.type === undefined) errors.add(['type'], 'BASE_TYPE_REQUIRED', 'This field is required');
    else errors.add(['type'], 'BASE_TYPE_CHOICES', 'Value must be one of {0, 1}.');
  }
  const allow = bits(body.allow, 'allow', errors);
  const deny = bits(body.deny, 'deny', errors);
  errors.throwIfAny();
  return { id, type: Number(body.type) as OverwriteType, allow, deny };
}

/** A channel's permission overwrites, in the order they were first set. */
export class ChannelOverwrites {
  private readonly byId = new Map<string, APIOverwrite>();

  /** Sets (replaces) the overwrite for a role or member. */
  set(overwrite: APIOverwrite): void {
    this.byId.set(overwrite.id, overwrite);
  }

  /** Removes one; returns whether it was there. */
  delete(id: string): boolean {
    return this.byId.delete(id);
  }

  /** Every overwrite, as the channel object lists them. */
  list(): APIOverwrite[] {
    return [...this.byId.values()].map((o) => ({ ...o }));
  }
}
