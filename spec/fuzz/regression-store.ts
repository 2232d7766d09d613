/**
 * Failing fuzz inputs, kept as regression cases in fixtures/fuzz-regressions/:
 * `<first 16 hex digits of the input's sha256>.bin` holds the raw input, and an optional
 * `<same>.json` how it failed (profile, chunk lengths, seed and index, violations).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REGRESSIONS_DIR = fileURLToPath(new URL('../../fixtures/fuzz-regressions', import.meta.url));

export interface FailureNote {
  readonly profile: string;
  readonly chunks: readonly number[];
  readonly seed?: number;
  readonly index?: number;
  readonly kind?: string;
  /** When the bytes came from encoding this admin line: the encoder must now refuse it. */
  readonly line?: string;
  readonly violations: readonly string[];
}

export interface Regression {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly note: FailureNote | undefined;
}

export function regressionName(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/** Writes the input (and its note) and returns the .bin path. */
export function saveRegression(bytes: Uint8Array, note: FailureNote, dir = REGRESSIONS_DIR): string {
  mkdirSync(dir, { recursive: true });
  const name = regressionName(bytes);
  const path = join(dir, `${name}.bin`);
  writeFileSync(path, bytes);
  // Chunk lengths on one line: a byte-by-byte chunking would take a line per byte.
  const { chunks, ...rest } = note;
  const text = JSON.stringify({ ...rest, chunks: '@chunks' }, null, 2).replace('"@chunks"', JSON.stringify(chunks));
  writeFileSync(join(dir, `${name}.json`), `${text}\n`);
  return path;
}

function readNote(path: string): FailureNote | undefined {
  if (!existsSync(path)) return undefined;
  const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (typeof value !== 'object' || value === null) return undefined;
  const { profile, chunks, violations, line } = value as Record<string, unknown>;
  const isNumbers = Array.isArray(chunks) && chunks.every((n) => Number.isInteger(n) && n >= 0);
  if (typeof profile !== 'string' || !isNumbers) return undefined;
  const notes = Array.isArray(violations) ? violations.filter((v): v is string => typeof v === 'string') : [];
  return { profile, chunks: chunks as number[], violations: notes, ...(typeof line === 'string' ? { line } : {}) };
}

/** Every saved regression input, by name. */
export function loadRegressions(dir = REGRESSIONS_DIR): Regression[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith('.bin'))
    .sort()
    .map((file) => {
      const name = file.slice(0, -'.bin'.length);
      return { name, bytes: new Uint8Array(readFileSync(join(dir, file))), note: readNote(join(dir, `${name}.json`)) };
    });
}
