import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The examples import 'zmq-notify'; under test that is the sources, not the built package.
  resolve: { alias: [{ find: /^zmq-notify$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) }] },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/build-dist.ts'],
    // zeromq is a native addon: separate processes keep each file's sockets and contexts apart.
    pool: 'forks',
    // The suite mostly waits on sockets and timers: three files at a time on two cores roughly
    // halves its wall time (vitest would otherwise run one file at a time on a 2-core machine).
    maxWorkers: 3,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
