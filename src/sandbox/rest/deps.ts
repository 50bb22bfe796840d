import { isSnowflake } from '../../shared/snowflake.ts';
import { FormErrors } from '../errors.ts';
import type { AttachmentStore } from '../attachments.ts';
import type { Gateway } from '../gateway.ts';
import type { InteractionBroker } from '../interactions.ts';
import type { SandboxStore } from '../store.ts';

/** What the REST route modules work with. */
export interface RestDeps {
  store: SandboxStore;
  broker: InteractionBroker;
  attachments: AttachmentStore;
  gateway: Gateway;
  /** ws:// URL of the gateway. */
  gatewayUrl: () => string;
}

/** A 2xx JSON answer. */
export function ok(body: unknown, status = 200): { status: number; body: unknown } {
  return { status, body };
}

/** A 204 No Content answer. */
export const noContent = { status: 204 } as const;

/** An integer query parameter within bounds, or Discord's 50035 naming it. */
export function intParam(query: URLSearchParams, name: string, min: number, max: number, fallback: number): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  const errors = new FormErrors();
  if (!Number.isInteger(value)) errors.add([name], 'NUMBER_TYPE_COERCE', `Value "${raw}" is not int.`);
  else if (value < min) errors.add([name], 'NUMBER_TYPE_MIN', `int value should be greater than or equal to ${min}.`);
  else if (value > max) errors.add([name], 'NUMBER_TYPE_MAX', `int value should be less than or equal to ${max}.`);
  errors.throwIfAny();
  return value;
}

/** A snowflake query parameter, or Discord's 50035 naming it. */
export function snowflakeParam(query: URLSearchParams, name: string): string | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  if (!isSnowflake(raw)) {
    const errors = new FormErrors();
    errors.add([name], 'NUMBER_TYPE_COERCE', `Value "${raw}" is not snowflake.`);
    errors.throwIfAny();
  }
  return raw;
}
