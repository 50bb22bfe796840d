import { readFileSync } from 'node:fs';

/**
 * The sandbox's preview page: the guild's channels and their messages rendered the way the
 * Discord client shows them, updated live from /sandbox/events. Its files (page/index.html,
 * page/app.js, page/style.css) are plain static source, read from beside this module, so they are
 * found both when it runs from src/ and from the built dist/. No fonts or CDNs: it works offline.
 */

/** One static file of the page, as served. */
export interface PageAsset {
  body: Buffer;
  contentType: string;
}

const files: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

/**
 * Reads the page's files once. Throws naming the missing file when a build left them out, so a
 * broken package fails at start-up rather than serving a blank page.
 */
export function loadPage(dir: URL = new URL('./page/', import.meta.url)): Map<string, PageAsset> {
  const assets = new Map<string, PageAsset>();
  for (const [name, contentType] of Object.entries(files)) {
    const url = new URL(name, dir);
    try {
      assets.set(name, { body: readFileSync(url), contentType });
    } catch (err) {
      throw new Error(`the sandbox page file ${url.pathname} cannot be read (${(err as Error).message}); a build must copy src/sandbox/page/ beside the compiled sandbox`, { cause: err });
    }
  }
  return assets;
}

/** The Content-Security-Policy the page and its files are served with: its own script and styles only. */
export const pagePolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
