import { SnowflakeUtil } from 'discord.js';

/** A Discord ID as text: up to 20 digits (a 64-bit snowflake). */
export const SNOWFLAKE = /^\d{1,20}$/;

/** Whether a value is a Discord ID: a string of up to 20 digits. */
export function isSnowflake(value: unknown): value is string {
  return typeof value === 'string' && SNOWFLAKE.test(value);
}

/** When a Discord ID was made, in ms since the Unix epoch (the time in its high bits). */
export function snowflakeTime(id: string): number {
  return SnowflakeUtil.timestampFrom(id);
}
