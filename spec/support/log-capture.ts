import type { Logger } from '../../src/util/log.ts';

export interface CapturedLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
}

/** A Logger that records every line, for asserting on what was (or was not) logged. */
export function captureLogs(): Logger & { readonly lines: CapturedLine[]; at(level: CapturedLine['level']): string[] } {
  const lines: CapturedLine[] = [];
  const record = (level: CapturedLine['level']) => (message: string, ...details: unknown[]) =>
    lines.push({ level, message: [message, ...details.map(String)].join(' ') });
  return {
    lines,
    at: (level) => lines.filter((l) => l.level === level).map((l) => l.message),
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  };
}
