// Part of `npm run build`: copies the files under src/ that tsc does not emit (the sandbox page's
// HTML, CSS and browser script, read at run time from beside their module) to the same place in
// dist/. TypeScript sources and tsconfig files stay behind.
import { cpSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../src/', import.meta.url));
const dist = fileURLToPath(new URL('../dist/', import.meta.url));

cpSync(src, dist, {
  recursive: true,
  filter: (path) => !/\.[cm]?ts$/.test(path) && !basename(path).startsWith('tsconfig'),
});
