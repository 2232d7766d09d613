import { describe, progressReporter } from './progress.ts';

/** Progress of several jobs at once, one line each. */
export interface ProgressBoard {
  update(label: string, sent: number, total: number): void;
  /** The job's last word (e.g. its result or failure), shown on its line. */
  finish(label: string, outcome: string): void;
}

const BAR_WIDTH = 30;

/**
 * On a terminal every job keeps its own line, redrawn in place (the cursor moves back up over
 * the board, which always ends with a newline); otherwise each job prints plain lines (one per
 * 10 %), so logs stay readable.
 */
export function progressBoard(labels: readonly string[], stream: NodeJS.WriteStream = process.stderr): ProgressBoard {
  if (!stream.isTTY) {
    const reporters = new Map(labels.map((label) => [label, progressReporter(label, stream)]));
    return {
      update: (label, sent, total) => reporters.get(label)?.update(sent, total),
      finish: (label, outcome) => void stream.write(`${label}: ${outcome}\n`),
    };
  }
  const width = Math.max(0, ...labels.map((label) => label.length));
  const lines = new Map(labels.map((label) => [label, 'waiting']));
  let drawn = false;
  const draw = () => {
    let text = drawn ? `\u001b[${labels.length}A` : '';
    // A wrapped line would throw off the cursor-up count: cut each to the terminal's width.
    const columns = stream.columns > 1 ? stream.columns - 1 : Number.POSITIVE_INFINITY;
    for (const label of labels) text += `\r\u001b[2K${`${label.padEnd(width)}  ${lines.get(label)}`.slice(0, columns)}\n`;
    stream.write(text);
    drawn = true;
  };
  draw();
  return {
    update(label, sent, total) {
      const filled = total > 0 ? Math.min(BAR_WIDTH, Math.round((sent / total) * BAR_WIDTH)) : 0;
      lines.set(label, `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${describe(sent, total)}`);
      draw();
    },
    finish(label, outcome) {
      lines.set(label, outcome);
      draw();
    },
  };
}
