/** Runs `onOrphaned` once if this process, started by npm, loses its parent. */
export function whenOrphanedUnderNpm(onOrphaned: () => void): void;
/** Runs `zmq-notify ARGS` again with the runtime flags, forwarding signals, and exits as it does. */
export function relaunch(args: readonly string[]): void;
/** In a relaunched bot, stops it when the launcher dies; false when not relaunched. */
export function followLauncher(): boolean;
