import { printable } from '../util/printable.ts';

/** An aligned plain-text table with a header line, as nodepool's webapp and CLI print. */
export function textTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = rows.map((row) => row.map(printable));
  const widths = headers.map((header) => header.length);
  for (const row of cells) for (let i = 0; i < row.length; i++) widths[i] = Math.max(widths[i] ?? 0, row[i]!.length);
  // Concatenation, not map/padEnd/join per row: image-list can be 40,000 rows.
  const spaces = ' '.repeat(Math.max(0, ...widths) + 2);
  const line = (row: readonly string[]): string => {
    let text = '';
    for (let i = 0; i < row.length - 1; i++) text += row[i]! + spaces.slice(0, widths[i]! - row[i]!.length + 2);
    return `${(text + (row[row.length - 1] ?? '')).trimEnd()}\n`;
  };
  let table = line(headers);
  for (const row of cells) table += line(row);
  return table;
}

/** nodepool's age column: hours:minutes:seconds, days in front when there are any. */
export function age(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(total / 86_400);
  const pad = (n: number): string => String(n).padStart(2, '0');
  const clock = `${pad(Math.floor((total % 86_400) / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
  return days > 0 ? `${days}:${clock}` : clock;
}
