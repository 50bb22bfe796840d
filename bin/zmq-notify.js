#!/usr/bin/env node
// The `zmq-notify` command. It runs the compiled CLI in dist/, which `npm ci` and `npm pack` build
// (the `prepare` script). `start` needs the bot's V8 flags from process start: `npm start` passes
// them to node; otherwise the bot is relaunched with them (launcher.js).
import { followLauncher, relaunch, whenOrphanedUnderNpm } from './launcher.js';
import { missingRuntimeFlags } from './runtime-flags.js';

const args = process.argv.slice(2);
if (args[0] === 'start' && missingRuntimeFlags().length > 0) {
  relaunch(args);
} else {
  if (args[0] === 'start' && !followLauncher()) whenOrphanedUnderNpm(() => process.kill(process.pid, 'SIGTERM'));
  const cli = new URL('../dist/cli/main.js', import.meta.url);
  let main;
  try {
    ({ main } = await import(cli.href));
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes(cli.pathname)) throw err;
    console.error('zmq-notify: dist/ is missing; run `npm run build` (npm ci and npm pack run it)');
    process.exit(1);
  }
  process.exitCode = await main(process.argv);
}
