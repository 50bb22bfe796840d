import type { ZmqEvent } from '../pipeline/event.ts';
import { scalarText } from '../shared/json.ts';

const MAX_LABEL = 100;

/** The short name a digest lists for an event: the job, handler or deployment it is about. */
export function eventLabel(event: ZmqEvent): string | undefined {
  const { data } = event;
  const label = scalarText(data.job_name) ?? scalarText(data.job_id) ?? scalarText(data.handler_id) ?? scalarText(data.deployment);
  return label === undefined || label === '' ? undefined : label.slice(0, MAX_LABEL);
}
