/** Which end of a long text survives truncation: the start (messages) or the end (tracebacks). */
export type KeepEnd = 'head' | 'tail';

const FENCE = '```';
const ZWSP = '\u200b';

/** Number with thousands separators, the way the truncation marker and digests print counts. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** The visible marker that says how much text was cut. */
export function truncationMarker(removed: number): string {
  return `… [truncated ${formatCount(removed)} chars]`;
}

function countFences(text: string): number {
  let count = 0;
  for (let i = text.indexOf(FENCE); i !== -1; i = text.indexOf(FENCE, i + FENCE.length)) count++;
  return count;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

// Cut positions never split a surrogate pair: half an emoji is an invalid string for Discord.
function headOf(text: string, length: number): string {
  let end = Math.max(0, length);
  if (end > 0 && end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end--;
  return text.slice(0, end);
}

function tailOf(text: string, length: number): string {
  let start = text.length - Math.max(0, length);
  if (start > 0 && start < text.length && isHighSurrogate(text.charCodeAt(start - 1))) start++;
  return text.slice(Math.min(start, text.length));
}

// Within this many characters of a cut, the cut moves to a line break so no half line is shown.
const LINE_SNAP = 160;

function headLines(text: string, length: number): string {
  const head = headOf(text, length);
  if (head.length === text.length) return head;
  const lastBreak = head.lastIndexOf('\n');
  return lastBreak > 0 && head.length - lastBreak <= LINE_SNAP ? head.slice(0, lastBreak) : head;
}

function tailLines(text: string, length: number): string {
  const tail = tailOf(text, length);
  if (tail.length === text.length) return tail;
  const firstBreak = tail.indexOf('\n');
  return firstBreak >= 0 && firstBreak < LINE_SNAP && firstBreak < tail.length - 1 ? tail.slice(firstBreak + 1) : tail;
}

/**
 * Cuts `text` to at most `max` characters, adding a visible marker that says how much was cut.
 * A code block that the cut leaves open is closed again (or reopened, when keeping the tail).
 */
export function truncateText(text: string, max: number, keep: KeepEnd = 'head'): string {
  if (text.length <= max) return text;
  const separator = text.includes('\n') ? '\n' : ' ';
  // The marker's length depends on the number it prints, which depends on the cut: settle it.
  let reserve = truncationMarker(text.length).length + separator.length;
  for (let attempt = 0; attempt < 4; attempt++) {
    const room = max - reserve;
    if (room <= 0) return headOf(truncationMarker(text.length), max);
    const kept = keep === 'head' ? headOf(text, room) : tailOf(text, room);
    const openBlock = countFences(kept) % 2 === 1;
    const fence = openBlock ? (keep === 'head' ? `\n${FENCE}` : `${FENCE}\n`) : '';
    const marker = truncationMarker(text.length - kept.length);
    const result = keep === 'head' ? `${kept}${fence}${separator}${marker}` : `${marker}${separator}${fence}${kept}`;
    if (result.length <= max) return result;
    reserve = result.length - kept.length;
  }
  return headOf(truncationMarker(text.length), max);
}

/**
 * Breaks @everyone, @here and user/role mentions with a zero-width space so text from events can
 * never ping, even if a message were sent without allowed_mentions.
 */
export function neutralizeMentions(text: string): string {
  return text.replace(/@(everyone|here)/g, `@${ZWSP}$1`).replace(/<@([!&]?\d+)>/g, `<@${ZWSP}$1>`);
}

/** Keeps text from closing the code block it is placed in. */
function escapeFences(text: string): string {
  return text.replaceAll(FENCE, `\`${ZWSP}\`\``);
}

/**
 * A code block holding `text`, at most `max` characters in all. When it is too long the marker sits
 * outside the block and the block stays closed; `keep: 'tail'` keeps the end (a traceback's last lines).
 */
export function codeBlock(text: string, max: number, options: { lang?: string; keep?: KeepEnd } = {}): string {
  const lang = options.lang ?? '';
  const body = escapeFences(neutralizeMentions(text.replace(/\s+$/, '')));
  const open = `${FENCE}${lang}\n`;
  const close = `\n${FENCE}`;
  const whole = `${open}${body}${close}`;
  if (whole.length <= max) return whole;
  const keep = options.keep ?? 'head';
  const separator = '\n';
  let reserve = open.length + close.length + separator.length + truncationMarker(body.length).length;
  for (let attempt = 0; attempt < 4; attempt++) {
    const room = max - reserve;
    if (room <= 0) return truncateText(whole, max, keep);
    const kept = keep === 'head' ? headLines(body, room) : tailLines(body, room);
    const marker = truncationMarker(body.length - kept.length);
    const result =
      keep === 'head' ? `${open}${kept}${close}${separator}${marker}` : `${marker}${separator}${open}${kept}${close}`;
    if (result.length <= max) return result;
    reserve = result.length - kept.length;
  }
  return truncateText(whole, max, keep);
}

/** Plain text from an event, made safe for an embed: mentions broken, cut to `max` with a marker. */
export function safeText(text: string, max: number, keep: KeepEnd = 'head'): string {
  return truncateText(neutralizeMentions(text), max, keep);
}
