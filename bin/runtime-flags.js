// V8 settings the bot runs with, shared by the launcher, `npm start` (checked by a test) and the
// benchmarks that measure them.

/**
 * Node options for the bot's process. V8 lets the old generation grow to about four times the live
 * heap before a full collection; under a flood that took the bot's peak RSS from ~140 MB to
 * ~265 MB for a live heap of ~30 MB. Growing it by half each time keeps the peak under 200 MB for
 * a little more GC work. They must be given to node at start-up: NODE_OPTIONS does not allow V8
 * flags, and Node documents changing them later (v8.setFlagsFromString) as unpredictable.
 */
export const runtimeFlags = Object.freeze(['--heap-growing-percent=50']);

/** The runtime flags this process was not started with. */
export function missingRuntimeFlags(execArgv = process.execArgv) {
  return runtimeFlags.filter((flag) => !execArgv.includes(flag));
}
