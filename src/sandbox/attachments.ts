import type { APIAttachment } from 'discord.js';
import type { UploadedFile } from './body.ts';
import { Errors, FormErrors } from './errors.ts';
import type { SnowflakeGenerator } from './snowflake.ts';

/** Discord's upload limits for a bot in an unboosted guild. */
export const AttachmentLimits = { perMessage: 10, bytesPerFile: 10 * 1024 * 1024 } as const;

interface Kept {
  key: string;
  contentType: string;
  data: Buffer;
}

/**
 * Files uploaded with messages, served back under /attachments/{channel}/{id}/{name} like
 * Discord's CDN. The bytes kept are bounded in total; the oldest files are forgotten first.
 */
export class AttachmentStore {
  private readonly files = new Map<string, Kept>();
  private bytes = 0;

  constructor(
    private readonly maxTotalBytes: number,
    private readonly ids: SnowflakeGenerator,
    private readonly baseUrl: () => string,
  ) {}

  /** Checks Discord's limits, keeps the files and returns their attachment objects. */
  save(channelId: string, uploads: UploadedFile[]): APIAttachment[] {
    if (uploads.length > AttachmentLimits.perMessage) {
      const errors = new FormErrors();
      errors.add(['attachments'], 'BASE_TYPE_MAX_LENGTH', `Must be ${AttachmentLimits.perMessage} or fewer in length.`);
      errors.throwIfAny();
    }
    if (uploads.some((f) => f.data.length > AttachmentLimits.bytesPerFile)) throw Errors.tooLarge();
    return uploads.map((file) => {
      const id = this.ids.next();
      const name = file.name || 'file';
      const key = `${channelId}/${id}/${name}`;
      this.keep({ key, contentType: file.contentType, data: file.data });
      const url = `${this.baseUrl()}/attachments/${channelId}/${id}/${encodeURIComponent(name)}`;
      return { id, filename: name, size: file.data.length, url, proxy_url: url, content_type: file.contentType };
    });
  }

  /** A kept file by its path under /attachments/, or undefined once forgotten. */
  get(path: string): { contentType: string; data: Buffer } | undefined {
    return this.files.get(path);
  }

  private keep(file: Kept): void {
    this.files.set(file.key, file);
    this.bytes += file.data.length;
    for (const [key, old] of this.files) {
      if (this.bytes <= this.maxTotalBytes) break;
      this.files.delete(key);
      this.bytes -= old.data.length;
    }
  }
}
