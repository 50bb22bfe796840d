import { z } from 'zod';
import { describeIssue } from '../config/load.ts';
import { snowflake } from '../config/schema.ts';

/** A Discord ID param: a JSON number (parsed losslessly, so above 2^53 it arrives as digits) or a string; a string after validation. */
export const discordId = snowflake;

/** A list of Discord IDs, at most `max`. */
export function discordIds(max: number): z.ZodType<string[], unknown> {
  return z.array(discordId).max(max, `at most ${max} IDs`);
}

/** A zod error as the job's error text: `"<param>: got <value>, expected <what>"`, several joined with "; ". */
export function paramsErrorText(raw: unknown, error: z.ZodError): string {
  const lines = [...new Set(error.issues.flatMap((issue) => describeIssue(raw, issue)))].map((line) => line.replace(/^\(top level\)/, 'params'));
  const shown = lines.slice(0, 5);
  if (lines.length > shown.length) shown.push(`and ${lines.length - shown.length} more`);
  return shown.join('; ');
}
