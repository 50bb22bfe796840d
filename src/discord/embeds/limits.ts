import { embedLength, type APIEmbed, type APIEmbedField } from 'discord.js';
import { EmbedLimits } from '../../shared/discord-limits.ts';
import { formatCount, truncateText } from './text.ts';

export { EmbedLimits } from '../../shared/discord-limits.ts';
// discord.js's own count of an embed's 6,000 characters, where the packing code looks for it.
export { embedLength } from 'discord.js';

const EMPTY = '\u200b';

/** The 6000-character count for a whole message: Discord applies it to all its embeds together. */
export function embedsLength(embeds: readonly APIEmbed[]): number {
  return embeds.reduce((sum, embed) => sum + embedLength(embed), 0);
}

function nonEmpty(text: string | undefined): string {
  return text === undefined || text.trim() === '' ? EMPTY : text;
}

function fitField(field: APIEmbedField): APIEmbedField {
  const fitted: APIEmbedField = {
    name: truncateText(nonEmpty(field.name), EmbedLimits.fieldName),
    value: truncateText(nonEmpty(field.value), EmbedLimits.fieldValue),
  };
  if (field.inline !== undefined) fitted.inline = field.inline;
  return fitted;
}

function omittedField(count: number): APIEmbedField {
  return { name: '…', value: `${formatCount(count)} more field${count === 1 ? '' : 's'} not shown` };
}

/**
 * Returns a copy of `embed` that Discord accepts: every string within its limit (cut with a
 * visible marker, code blocks kept closed), at most 25 fields, and at most `maxTotal` (6000)
 * characters in all. The description shrinks first, then the last fields, then the title and footer.
 */
export function fitEmbed(embed: APIEmbed, maxTotal: number = EmbedLimits.total): APIEmbed {
  const out: APIEmbed = { ...embed };
  if (out.title !== undefined) out.title = truncateText(out.title, EmbedLimits.title);
  if (out.description !== undefined) out.description = truncateText(out.description, EmbedLimits.description);
  if (out.footer) out.footer = { ...out.footer, text: truncateText(nonEmpty(out.footer.text), EmbedLimits.footerText) };
  if (out.author) out.author = { ...out.author, name: truncateText(nonEmpty(out.author.name), EmbedLimits.authorName) };
  if (out.fields) {
    let fields = out.fields.map(fitField);
    if (fields.length > EmbedLimits.fields) {
      fields = [...fields.slice(0, EmbedLimits.fields - 1), omittedField(fields.length - (EmbedLimits.fields - 1))];
    }
    out.fields = fields;
  }
  shrinkToTotal(out, Math.max(0, maxTotal));
  return out;
}

// Keeps at least this much of a description or field value when there is other text to give up instead.
const KEEP_AT_LEAST = 200;

function shrinkToTotal(out: APIEmbed, maxTotal: number): void {
  const excess = (): number => embedLength(out) - maxTotal;
  if (excess() <= 0) return;

  const cutDescription = (floor: number): void => {
    if (out.description === undefined || excess() <= 0) return;
    const target = Math.max(floor, out.description.length - excess());
    if (target >= out.description.length) return;
    out.description = truncateText(out.description, target);
    if (out.description === '') delete out.description;
  };

  cutDescription(KEEP_AT_LEAST);

  // Then field values, last field first, down to a readable minimum.
  const fields = out.fields ?? [];
  for (let i = fields.length - 1; i >= 0 && excess() > 0; i--) {
    const field = fields[i]!;
    const target = Math.max(KEEP_AT_LEAST, field.value.length - excess());
    if (target < field.value.length) field.value = truncateText(field.value, target);
  }

  // Then whole fields, last first, replaced by one line saying how many were dropped.
  if (excess() > 0 && fields.length > 0) {
    let dropped = 0;
    let note: APIEmbedField | undefined;
    while (excess() > 0 && fields.length > (note ? 1 : 0)) {
      if (note) fields.splice(fields.length - 2, 1);
      else fields.pop();
      dropped++;
      note ??= fields[fields.push(omittedField(dropped)) - 1]!;
      note.value = omittedField(dropped).value;
    }
    if (excess() > 0 && note) fields.pop();
    if (fields.length === 0) delete out.fields;
  }

  cutDescription(0);
  if (excess() > 0 && out.footer) {
    out.footer = { ...out.footer, text: truncateText(out.footer.text, Math.max(1, out.footer.text.length - excess())) };
  }
  if (excess() > 0 && out.author) {
    out.author = { ...out.author, name: truncateText(out.author.name, Math.max(1, out.author.name.length - excess())) };
  }
  if (excess() > 0 && out.title !== undefined) {
    out.title = truncateText(out.title, Math.max(0, out.title.length - excess()));
    if (out.title === '') delete out.title;
  }
}

/**
 * The embeds of one message within Discord's limits: at most 10, each fitted, and together at most
 * 6000 characters (each over-long embed gets a share of the room in proportion to its length).
 */
export function fitEmbeds(embeds: readonly APIEmbed[]): APIEmbed[] {
  const fitted = embeds.slice(0, EmbedLimits.embedsPerMessage).map((embed) => fitEmbed(embed));
  const total = embedsLength(fitted);
  if (total <= EmbedLimits.total) return fitted;
  return fitted.map((embed) => fitEmbed(embed, Math.floor((EmbedLimits.total * embedLength(embed)) / total)));
}
