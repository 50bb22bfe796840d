// Vitest global setup: tests that spawn `zmq-notify` run the compiled dist/, so build it first
// (incremental: about 2 s when nothing changed). A type error is reported but does not stop the
// run; tsc still emits, and `npm run typecheck` is what fails on it.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

/** Builds dist/ as `npm run build` does: tsc with tsconfig.build.json, then the non-TypeScript assets. */
export default function setup(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: repoRoot, encoding: 'utf8' });
  if (result.error) throw new Error(`building dist/ failed: ${result.error.message}`);
  if (result.status !== 0) console.warn(`building dist/ reported errors (the tests run what was emitted):\n${result.stdout}${result.stderr}`);
  const assets = spawnSync(process.execPath, ['scripts/copy-assets.js'], { cwd: repoRoot, encoding: 'utf8' });
  if (assets.status !== 0) throw new Error(`copying the assets to dist/ failed: ${assets.stderr}`);
}
