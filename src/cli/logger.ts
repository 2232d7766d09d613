import { type ConsolaInstance, LogLevels, createConsola } from 'consola';

export interface LoggerOptions {
  readonly debug?: boolean;
  /** One JSON object per line instead of human-readable lines. */
  readonly json?: boolean;
}

/** consola writing everything to stderr (stdout stays for command output). */
export function createLogger(options: LoggerOptions = {}): ConsolaInstance {
  const level = options.debug ? LogLevels.debug : LogLevels.info;
  if (!options.json) return createConsola({ level, stdout: process.stderr, stderr: process.stderr });
  return createConsola({
    level,
    reporters: [
      {
        log: (entry) => {
          const message = entry.args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' ');
          const line = { time: entry.date.toISOString(), level: entry.type, ...(entry.tag ? { tag: entry.tag } : {}), message };
          process.stderr.write(`${JSON.stringify(line)}\n`);
        },
      },
    ],
  });
}
