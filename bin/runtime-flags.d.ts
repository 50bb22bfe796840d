/** Applies the V8 settings the bot runs with. */
export function applyRuntimeFlags(): void;
