/** An upload's WORK_STATUS counts KiB (the wire contract): 1024 of them make a MiB. */
const KiB_PER_MiB = 1024;

/** Upload progress from WORK_STATUS numbers (KiB sent, KiB in all). */
export function describe(sent: number, total: number): string {
  const percent = total > 0 ? Math.floor((sent / total) * 100) : 0;
  return `${String(percent).padStart(3)}% ${(sent / KiB_PER_MiB).toFixed(1)}/${(total / KiB_PER_MiB).toFixed(1)} MiB`;
}

/**
 * Shows WORK_STATUS progress: a redrawn bar on a terminal, and plain lines (one per 10 %)
 * otherwise, so logs of non-interactive runs stay readable.
 */
export function progressReporter(label: string, stream: NodeJS.WriteStream = process.stderr): {
  update(sent: number, total: number): void;
  done(): void;
} {
  let lastDecile = -1;
  let drawn = false;
  return {
    update(sent, total) {
      if (stream.isTTY) {
        const width = 30;
        const filled = total > 0 ? Math.min(width, Math.round((sent / total) * width)) : 0;
        stream.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${describe(sent, total)}`);
        drawn = true;
        return;
      }
      const decile = total > 0 ? Math.floor((sent / total) * 10) : 0;
      if (decile === lastDecile) return;
      lastDecile = decile;
      stream.write(`${label}: ${describe(sent, total)}\n`);
    },
    done() {
      if (drawn) stream.write('\n');
    },
  };
}
