import type { IncomingMessage } from 'node:http';
import { Errors } from './errors.ts';

/** A file part of a multipart request (`files[n]`). */
export interface UploadedFile {
  field: string;
  name: string;
  contentType: string;
  data: Buffer;
}

/** A request body: the JSON payload (from JSON or multipart `payload_json`) and any files. */
export interface RequestBody {
  json: unknown;
  files: UploadedFile[];
}

/** Reads the raw body, refusing more than `maxBytes` with Discord's 413. */
export async function readRaw(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > maxBytes) throw Errors.tooLarge();
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw Errors.invalidJson();
  }
}

/**
 * Parses a REST body the way Discord accepts it: `application/json`, or `multipart/form-data`
 * whose `payload_json` part holds the JSON and whose other parts are files (discord.js sends
 * multipart whenever a message has attachments). Multipart parsing uses the platform's
 * `Request.formData()` (undici) rather than a hand-written parser.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<RequestBody> {
  const raw = await readRaw(req, maxBytes);
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (!type.startsWith('multipart/form-data')) return { json: parseJson(raw.toString('utf8')), files: [] };
  let form: FormData;
  try {
    form = await new Request('http://sandbox.invalid/', { method: 'POST', headers: { 'content-type': req.headers['content-type'] ?? '' }, body: raw }).formData();
  } catch {
    throw Errors.invalidJson();
  }
  let json: unknown;
  const loose: Record<string, unknown> = {};
  const files: UploadedFile[] = [];
  for (const [field, value] of form.entries()) {
    if (typeof value === 'string') {
      if (field === 'payload_json') json = parseJson(value);
      else loose[field] = value;
    } else {
      files.push({ field, name: value.name, contentType: value.type || 'application/octet-stream', data: Buffer.from(await value.arrayBuffer()) });
    }
  }
  return { json: json ?? (Object.keys(loose).length > 0 ? loose : undefined), files };
}
