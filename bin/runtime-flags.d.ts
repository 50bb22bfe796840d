/** Node options for the bot's process (V8 flags, given at start-up). */
export const runtimeFlags: readonly string[];
/** The runtime flags this process was not started with. */
export function missingRuntimeFlags(execArgv?: readonly string[]): string[];
