/** One line of the results table. */
export interface TableRow {
  scenario: string;
  metric: string;
  value: string;
  target?: string;
  /** Whether the target was met; absent for rows without a target. */
  ok?: boolean;
}

/** Formats rows as an aligned plain-text table (also valid Markdown). */
export function formatTable(rows: readonly TableRow[]): string {
  const header = ['scenario', 'metric', 'value', 'target', ''];
  const cells = rows.map((r) => [r.scenario, r.metric, r.value, r.target ?? '', r.ok === undefined ? '' : r.ok ? 'ok' : 'MISSED']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: string[]): string => `| ${c.map((v, i) => v.padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

/** A number with thousands separators. */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
