import { errorCode } from '../errors/thrown.ts';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { TomlError, parse } from 'smol-toml';
import { type BuilderConfig, readConfig } from './schema.ts';
import { ConfigError } from './table-reader.ts';

/** Reads and validates a TOML configuration file; every problem is a ConfigError naming the file. */
export async function loadConfig(path: string): Promise<BuilderConfig> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, '', 'a readable file', errorCode(err) ?? String(err));
  }
  return parseConfig(text, file);
}

export function parseConfig(text: string, file: string): BuilderConfig {
  let document: unknown;
  try {
    document = parse(text);
  } catch (err) {
    if (err instanceof TomlError) {
      throw new ConfigError(file, `line ${err.line}, column ${err.column}`, 'valid TOML', err.message.split('\n')[0]);
    }
    throw err;
  }
  return readConfig(document, file);
}
