import { errorCode } from '../errors/thrown.ts';
import { readFile, stat } from 'node:fs/promises';
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
  const config = parseConfig(text, file);
  await checkDirectories(config);
  return config;
}

/**
 * The directories the builder writes may be missing (it makes them), but must not be something
 * else: a file there failed only at `run`, with ENOTDIR.
 */
async function checkDirectories(config: BuilderConfig): Promise<void> {
  const dirs: [string, string | undefined][] = [
    ['images-dir', config.imagesDir],
    ['log-dir', config.logDir],
    ['dib-image-cache', config.dibImageCache],
  ];
  for (const [key, dir] of dirs) {
    if (dir === undefined) continue;
    const found = await stat(dir).catch(() => undefined);
    if (found && !found.isDirectory()) throw new ConfigError(config.file, key, 'a directory (or a path where one can be made)', `${dir}, which is not a directory`);
  }
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
