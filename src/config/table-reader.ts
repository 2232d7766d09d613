import { CodedError } from '../errors/coded-error.ts';
import { MAX_TIMER_MS } from '../util/timers.ts';
import { formatDuration, parseDuration, parseSize } from './units.ts';

/** A configuration problem: the file, the key path, and what was expected there. */
export class ConfigError extends CodedError<'CONFIG_INVALID'> {
  override readonly name = 'ConfigError';

  constructor(
    readonly file: string,
    readonly path: string,
    readonly expected: string,
    got?: unknown,
  ) {
    super('CONFIG_INVALID', `${file}: ${path ? `${path}: ` : ''}expected ${expected}${got === undefined ? '' : `, got ${describe(got)}`}`);
  }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a table';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  return String(value);
}

type Table = Record<string, unknown>;

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/**
 * Reads one TOML table key by key, so every error names its key path, and keys nobody read
 * are reported as unknown (a misspelt key must not silently fall back to a default).
 */
export class TableReader {
  private readonly seen = new Set<string>();

  constructor(
    private readonly values: Table,
    readonly path: string,
    readonly file: string,
  ) {}

  static root(value: unknown, file: string): TableReader {
    if (!isTable(value)) throw new ConfigError(file, '', 'a table', value);
    return new TableReader(value, '', file);
  }

  has(key: string): boolean {
    return this.values[key] !== undefined;
  }

  error(key: string, expected: string, got?: unknown): ConfigError {
    return new ConfigError(this.file, this.keyPath(key), expected, got);
  }

  optionalString(key: string, pattern?: RegExp, expected = 'a string'): string | undefined {
    const value = this.take(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || (pattern && !pattern.test(value))) throw this.error(key, expected, value);
    this.noNul(key, value);
    return value;
  }

  string(key: string, fallback?: string, pattern?: RegExp, expected?: string): string {
    const value = this.optionalString(key, pattern, expected);
    if (value !== undefined) return value;
    if (fallback === undefined) throw this.error(key, expected ?? 'a string (required)');
    return fallback;
  }

  integer(key: string, fallback: number | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.take(key);
    if (value === undefined) {
      if (fallback === undefined) throw this.error(key, `an integer from ${min} to ${max} (required)`);
      return fallback;
    }
    if (typeof value !== 'number' && typeof value !== 'bigint') throw this.error(key, `an integer from ${min} to ${max}`, value);
    const number = Number(value);
    if (!Number.isInteger(number) || number < min || number > max) throw this.error(key, `an integer from ${min} to ${max}`, value);
    return number;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.take(key);
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') throw this.error(key, 'true or false', value);
    return value;
  }

  /**
   * A duration such as "8h", "30m" or "1h30m", in milliseconds. Every duration that ends up in a
   * timer has the longest one a timer can hold as its maximum (a longer one would fire at once);
   * a duration that only compares ages gives its own `max`.
   */
  duration(key: string, fallbackMs: number, max: { readonly ms: number; readonly why: string } = { ms: MAX_TIMER_MS, why: 'the longest a timer can wait' }): number {
    const value = this.take(key);
    if (value === undefined) return fallbackMs;
    const ms = typeof value === 'string' ? parseDuration(value) : undefined;
    if (ms === undefined || ms <= 0) {
      throw this.error(key, `a duration such as "${formatDuration(fallbackMs)}" (units ms, s, m, h, d)`, value);
    }
    if (ms > max.ms) throw this.error(key, `a duration of at most ${formatDuration(max.ms)} (${max.why})`, value);
    return ms;
  }

  /** A size such as "10G" or "512MiB", in bytes. */
  size(key: string, fallbackBytes: number): number {
    const value = this.take(key);
    if (value === undefined) return fallbackBytes;
    const bytes = typeof value === 'string' ? parseSize(value) : typeof value === 'number' ? value : undefined;
    if (bytes === undefined || !Number.isFinite(bytes) || bytes < 0) {
      throw this.error(key, 'a size such as "10G" or "512M" (binary units K, M, G, T)', value);
    }
    return bytes;
  }

  stringArray(key: string, fallback?: readonly string[], minLength = 0): string[] {
    const value = this.take(key);
    if (value === undefined) {
      if (fallback === undefined) throw this.error(key, 'an array of strings (required)');
      return [...fallback];
    }
    if (!Array.isArray(value) || value.some((item) => typeof item !== 'string') || value.length < minLength) {
      throw this.error(key, `an array of ${minLength > 0 ? `at least ${minLength} ` : ''}strings`, value);
    }
    const strings = value as string[];
    strings.forEach((item, i) => this.noNul(`${key}[${i}]`, item));
    return strings;
  }

  /** An inline table of string values, e.g. env-vars = { DIB_RELEASE = "bookworm" }. */
  stringMap(key: string): Record<string, string> {
    const value = this.take(key);
    if (value === undefined) return {};
    if (!isTable(value)) throw this.error(key, 'a table of strings', value);
    const out: Record<string, string> = {};
    for (const [name, item] of Object.entries(value)) {
      if (typeof item !== 'string') throw new ConfigError(this.file, `${this.keyPath(key)}.${name}`, 'a string', item);
      if (name.includes('\0')) throw this.error(key, 'names without a NUL character', name);
      this.noNul(`${key}.${name}`, item);
      out[name] = item;
    }
    return out;
  }

  /**
   * No string of the file may hold a NUL: none can reach an argv, an environment or a path
   * (Node refuses them with a TypeError, so every build would fail later instead).
   */
  private noNul(key: string, value: string): void {
    if (value.includes('\0')) throw this.error(key, 'text without a NUL character', value);
  }

  /** A sub-table ([name]) read by `read`; undefined when absent. */
  table<T>(key: string, read: (table: TableReader) => T): T | undefined {
    const value = this.take(key);
    if (value === undefined) return undefined;
    if (!isTable(value)) throw this.error(key, `a table ([${key}])`, value);
    const reader = new TableReader(value, this.keyPath(key), this.file);
    const result = read(reader);
    reader.done();
    return result;
  }

  /** An array of tables ([[name]]), each read by `read`; an empty list when absent. */
  tables<T>(key: string, read: (table: TableReader) => T): T[] {
    const value = this.take(key);
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw this.error(key, `an array of tables ([[${key}]])`, value);
    return value.map((item, index) => {
      const path = `${this.keyPath(key)}[${index}]`;
      if (!isTable(item)) throw new ConfigError(this.file, path, 'a table', item);
      const reader = new TableReader(item, path, this.file);
      const result = read(reader);
      reader.done();
      return result;
    });
  }

  /** Throws on any key that was never read. */
  done(): void {
    for (const key of Object.keys(this.values)) {
      if (!this.seen.has(key)) throw new ConfigError(this.file, this.keyPath(key), 'no such key (unknown keys are errors)');
    }
  }

  private take(key: string): unknown {
    this.seen.add(key);
    return this.values[key];
  }

  private keyPath(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }
}
