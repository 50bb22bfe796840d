export { createTrigger, isTimeZone, parseAt, parseEvery, TriggerError, upcoming, type Trigger, type TriggerKind, type TriggerSpec } from './trigger.ts';
export {
  MAX_MISSED_REPORTS,
  Scheduler,
  type JobResume,
  type JobView,
  type RunOutcome,
  type RunPolicy,
  type RunReason,
  type RunRequest,
  type ScheduledJob,
  type SchedulerOptions,
} from './scheduler.ts';
export { describeTrigger, runEvent, SCHEDULER_SOURCE, type RunEvent } from './run-events.ts';
