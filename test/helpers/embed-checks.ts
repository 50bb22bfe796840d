import type { APIEmbed } from 'discord.js';

/** Discord's 6000-character count, computed here independently of the code under test. */
export function discordEmbedLength(embed: APIEmbed): number {
  let n = (embed.title ?? '').length + (embed.description ?? '').length;
  for (const f of embed.fields ?? []) n += f.name.length + f.value.length;
  return n + (embed.footer?.text ?? '').length + (embed.author?.name ?? '').length;
}

function fences(text: string): number {
  return text.split('```').length - 1;
}

const RAW_MENTION = /@everyone|@here|<@[!&]?\d+>/;

/** Everything Discord would reject (or that would ping) in one embed; empty when the embed is fine. */
export function embedProblems(embed: APIEmbed): string[] {
  const problems: string[] = [];
  const text = (what: string, value: string | undefined, max: number): void => {
    if (value === undefined) return;
    if (value.length > max) problems.push(`${what} is ${value.length} chars (max ${max})`);
    if (fences(value) % 2 !== 0) problems.push(`${what} leaves a code block open`);
    if (RAW_MENTION.test(value)) problems.push(`${what} contains a raw mention`);
    if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(value)) problems.push(`${what} has a lone surrogate`);
  };
  text('title', embed.title, 256);
  text('description', embed.description, 4096);
  text('footer', embed.footer?.text, 2048);
  text('author', embed.author?.name, 256);
  const fields = embed.fields ?? [];
  if (fields.length > 25) problems.push(`${fields.length} fields (max 25)`);
  fields.forEach((f, i) => {
    if (f.name.trim() === '') problems.push(`field ${i} has an empty name`);
    if (f.value.trim() === '') problems.push(`field ${i} has an empty value`);
    text(`field ${i} name`, f.name, 256);
    text(`field ${i} value`, f.value, 1024);
  });
  const total = discordEmbedLength(embed);
  if (total > 6000) problems.push(`total ${total} chars (max 6000)`);
  if (embed.timestamp !== undefined && Number.isNaN(Date.parse(embed.timestamp))) problems.push(`timestamp ${embed.timestamp} is not a date`);
  return problems;
}

/** Problems of a whole message's embeds: each embed's, plus the 10-embed and 6000-character message limits. */
export function messageProblems(embeds: readonly APIEmbed[]): string[] {
  const problems = embeds.flatMap((e, i) => embedProblems(e).map((p) => `embed ${i}: ${p}`));
  if (embeds.length > 10) problems.push(`${embeds.length} embeds (max 10)`);
  const total = embeds.reduce((sum, e) => sum + discordEmbedLength(e), 0);
  if (total > 6000) problems.push(`message total ${total} chars (max 6000)`);
  return problems;
}

/** Events a channel's messages carry: full embeds count one each, a digest the number in its title. */
export function eventsCarried(messages: readonly { embeds: readonly APIEmbed[] }[]): number {
  let events = 0;
  for (const m of messages) {
    for (const e of m.embeds) {
      const digest = /^📦 ([\d,]+) more events? \(digest\)$/.exec(e.title ?? '');
      events += digest ? Number(digest[1]!.replaceAll(',', '')) : 1;
    }
  }
  return events;
}
