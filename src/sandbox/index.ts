export { SandboxServer, sandboxClientOptions, type SandboxOptions, type SandboxAddress, type SandboxRateLimits } from './server.ts';
export type { SandboxState } from './inspect.ts';
export type { InvokeRequest, InvokeResult, InvokeMember, ReplyView } from './interactions.ts';
export type { MessageView } from './views.ts';
export type { MentionRecord } from './mentions.ts';
export { MessageLimits } from './limits.ts';
export { faultStatuses, type FaultStatus } from './faults.ts';
