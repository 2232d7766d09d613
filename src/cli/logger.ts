import { type ConsolaInstance, LogLevels, createConsola } from 'consola';
import { escapeControls } from '../util/log-text.ts';

export interface LoggerOptions {
  readonly debug?: boolean;
  /** One JSON object per line instead of human-readable lines. */
  readonly json?: boolean;
}

/** consola writing everything to stderr (stdout stays for command output). */
export function createLogger(options: LoggerOptions = {}): ConsolaInstance {
  const level = options.debug ? LogLevels.debug : LogLevels.info;
  if (!options.json) {
    const logger = createConsola({ level, stdout: process.stderr, stderr: process.stderr });
    // No message colours the console or moves its cursor, whatever text it carries: consola's own
    // colours are added by the reporter, after this.
    return logger.setReporters(
      logger.options.reporters.map((reporter) => ({
        log: (entry, context) =>
          reporter.log({ ...entry, args: entry.args.map((arg) => (typeof arg === 'string' ? escapeControls(arg) : arg)) }, context),
      })),
    );
  }
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
