#!/usr/bin/env node
// The health check of the systemd unit and the Docker image: asks the bot's /healthz.
//
//   node deploy/healthcheck.mjs [URL]        exit 0 on 200, 1 otherwise (503 prints the reasons)
//   node deploy/healthcheck.mjs --up [URL]   exit 0 once /healthz answers at all (the bot is up),
//                                            waiting up to 60 s; used after start-up
//
// URL defaults to http://127.0.0.1:9464/healthz (http.host and http.port's defaults).
import { setTimeout as sleep } from 'node:timers/promises';

const { fetch, AbortSignal } = globalThis;
const args = process.argv.slice(2);
const up = args[0] === '--up';
const url = (up ? args[1] : args[0]) ?? 'http://127.0.0.1:9464/healthz';
const REQUEST_TIMEOUT_MS = 5_000;
const UP_WAIT_MS = 60_000;

async function ask() {
  const res = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const body = await res.json().catch(() => ({}));
  return { status: res.status, reasons: Array.isArray(body.reasons) ? body.reasons : [] };
}

if (up) {
  const deadline = Date.now() + UP_WAIT_MS;
  for (;;) {
    try {
      const { status } = await ask();
      console.log(`zmq-notify is up: ${url} answered ${status}`);
      process.exit(0);
    } catch (err) {
      if (Date.now() >= deadline) {
        console.error(`zmq-notify did not answer on ${url} within ${UP_WAIT_MS / 1000} s: ${err.message}`);
        process.exit(1);
      }
      await sleep(500);
    }
  }
}

try {
  const { status, reasons } = await ask();
  if (status === 200) process.exit(0);
  console.error(`zmq-notify unhealthy (${status}): ${reasons.join('; ') || 'no reason given'}`);
} catch (err) {
  console.error(`zmq-notify health check: ${url}: ${err.message}`);
}
process.exit(1);
