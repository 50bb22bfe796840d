// How `zmq-notify start` keeps its V8 flags and its signals: a relaunch with the flags when node
// was started without them, and a stop when npm's shell goes away without passing a signal on.
import { spawn } from 'node:child_process';
import { clearInterval, setInterval } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { runtimeFlags } from './runtime-flags.js';

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** Set in a relaunched bot's environment to the launcher's pid. */
const LAUNCHER_ENV = 'ZMQ_NOTIFY_LAUNCHER_PID';
const ORPHAN_POLL_MS = 500;

/**
 * Under npm (`npx zmq-notify start`, an npm script without `exec`) the bot runs below `sh -c`, and
 * Debian's dash does not exec the command: npm passes a SIGTERM only to that shell, which dies and
 * leaves the bot running with a new parent and no signal. Under npm, losing the parent therefore
 * means npm was stopped; `onOrphaned` runs once when it happens.
 */
export function whenOrphanedUnderNpm(onOrphaned) {
  if (!process.env.npm_lifecycle_event) return;
  const parent = process.ppid;
  // Once a signal has come in, the stop is under way; a second one would mean "exit at once".
  let signalled = false;
  const noteSignal = () => {
    signalled = true;
  };
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, noteSignal);
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    if (!signalled) onOrphaned();
  }, ORPHAN_POLL_MS);
  timer.unref();
}

/**
 * Runs `zmq-notify ARGS` again in a node started with the runtime flags, passes SIGINT, SIGTERM and
 * SIGHUP on to it, and exits as it does (its code, or the same signal).
 */
export function relaunch(args) {
  const script = fileURLToPath(new URL('./zmq-notify.js', import.meta.url));
  const child = spawn(process.execPath, [...runtimeFlags, ...process.execArgv, script, ...args], {
    // The IPC channel tells the bot when this launcher is gone, even by SIGKILL.
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [LAUNCHER_ENV]: String(process.pid) },
  });
  const forward = (signal) => child.kill(signal);
  for (const signal of FORWARDED) process.on(signal, forward);
  whenOrphanedUnderNpm(() => forward('SIGTERM'));
  child.on('error', (err) => {
    console.error(`zmq-notify: cannot start ${process.execPath}: ${err.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    for (const s of FORWARDED) process.off(s, forward);
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}

/**
 * In a relaunched bot: when the launcher goes away without passing a signal on (SIGKILL), stop as
 * SIGTERM would rather than run on unseen. Returns false when this process was not relaunched.
 */
export function followLauncher() {
  if (!process.env[LAUNCHER_ENV] || !process.channel) return false;
  delete process.env[LAUNCHER_ENV];
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  // The channel only watches; it must not keep the bot alive once it is done.
  process.channel.unref();
  return true;
}
