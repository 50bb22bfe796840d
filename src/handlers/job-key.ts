import { scalarText } from '../shared/json.ts';

// A key is kept in memory per failing job; a payload may carry an id of any size.
const MAX_KEY_LENGTH = 256;

/** Identifies a job across its events: `job_id`, else `job_name`; undefined when the payload has neither. */
export function jobKey(data: Readonly<Record<string, unknown>>): string | undefined {
  const id = scalarText(data.job_id);
  if (id !== undefined && id !== '') return `id:${id.slice(0, MAX_KEY_LENGTH)}`;
  const name = scalarText(data.job_name);
  if (name !== undefined && name !== '') return `name:${name.slice(0, MAX_KEY_LENGTH)}`;
  return undefined;
}
