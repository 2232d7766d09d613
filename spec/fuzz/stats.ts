/** Counters of a fuzz run, plain data so workers can post them to the main thread. */

export interface Stats {
  inputs: number;
  /** Inputs that ended at a boundary or in a still-valid partial frame. */
  clean: number;
  /** Inputs that ended in exactly one ProtocolError. */
  errored: number;
  packets: number;
  lines: number;
  bytes: number;
  largestInput: number;
  slowestMs: number;
  slowestIndex: number;
  errorCodes: Record<string, number>;
  kinds: Record<string, number>;
}

export function emptyStats(): Stats {
  return {
    inputs: 0,
    clean: 0,
    errored: 0,
    packets: 0,
    lines: 0,
    bytes: 0,
    largestInput: 0,
    slowestMs: 0,
    slowestIndex: -1,
    errorCodes: {},
    kinds: {},
  };
}

function addCounts(into: Record<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [key, count] of Object.entries(from)) into[key] = (into[key] ?? 0) + count;
}

export function mergeStats(parts: readonly Stats[]): Stats {
  const total = emptyStats();
  for (const part of parts) {
    total.inputs += part.inputs;
    total.clean += part.clean;
    total.errored += part.errored;
    total.packets += part.packets;
    total.lines += part.lines;
    total.bytes += part.bytes;
    total.largestInput = Math.max(total.largestInput, part.largestInput);
    if (part.slowestMs > total.slowestMs) {
      total.slowestMs = part.slowestMs;
      total.slowestIndex = part.slowestIndex;
    }
    addCounts(total.errorCodes, part.errorCodes);
    addCounts(total.kinds, part.kinds);
  }
  return total;
}

export function count(into: Record<string, number>, key: string): void {
  into[key] = (into[key] ?? 0) + 1;
}

function histogram(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => `  ${key.padEnd(22)} ${n}`)
    .join('\n');
}

export function formatStats(stats: Stats, seconds: number): string {
  const rate = seconds > 0 ? Math.round(stats.inputs / seconds) : 0;
  const mib = stats.bytes / (1024 * 1024);
  return [
    `inputs:   ${stats.inputs} (${stats.clean} clean + ${stats.errored} ended in one ProtocolError)`,
    `emitted:  ${stats.packets} packets, ${stats.lines} lines`,
    `bytes:    ${mib.toFixed(1)} MiB, largest input ${stats.largestInput} bytes`,
    `time:     ${seconds.toFixed(1)} s, ${rate} inputs/s, slowest input ${stats.slowestMs.toFixed(1)} ms (#${stats.slowestIndex})`,
    'error codes:',
    histogram(stats.errorCodes),
    'input kinds:',
    histogram(stats.kinds),
  ].join('\n');
}
