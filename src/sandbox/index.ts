export { SandboxServer, sandboxClientOptions, type SandboxOptions, type SandboxAddress, type SandboxRateLimits } from './server.ts';
export type { InvokeRequest, InvokeResult, InvokeMember, ReplyView } from './interactions.ts';
export type { MentionRecord, MessageView, SandboxState } from './inspection.ts';
export { MessageLimits } from './limits.ts';
export { faultStatuses, type FaultStatus } from './faults.ts';
