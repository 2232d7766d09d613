/**
 * The captured gearmand byte streams, read at run time: through spec/support/captures.ts
 * (`loadCaptures()`) when that loader exists, or straight from fixtures/captures/<session>/
 * otherwise. Zero captures is fine: the fuzz corpus then holds encoder-made streams only.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CaptureStreams {
  readonly name: string;
  /** Client (or worker) to server. */
  readonly c2s: Uint8Array;
  /** Server to client. */
  readonly s2c: Uint8Array;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CAPTURES_DIR = join(ROOT, 'fixtures', 'captures');
const LOADER = join(ROOT, 'spec', 'support', 'captures.ts');

function readDirectory(): CaptureStreams[] {
  if (!existsSync(CAPTURES_DIR)) return [];
  const sessions: CaptureStreams[] = [];
  for (const name of readdirSync(CAPTURES_DIR).sort()) {
    const dir = join(CAPTURES_DIR, name);
    if (!statSync(dir).isDirectory()) continue;
    const read = (file: string): Uint8Array =>
      existsSync(join(dir, file)) ? new Uint8Array(readFileSync(join(dir, file))) : new Uint8Array(0);
    sessions.push({ name, c2s: read('c2s.bin'), s2c: read('s2c.bin') });
  }
  return sessions;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Checks the loader's answer at the boundary, keeping only what the fuzzing needs. */
function fromLoader(value: unknown): CaptureStreams[] {
  if (!Array.isArray(value)) throw new TypeError('loadCaptures() did not return an array');
  return value.map((item: unknown, i) => {
    if (!isRecord(item) || !(item.c2s instanceof Uint8Array) || !(item.s2c instanceof Uint8Array)) {
      throw new TypeError(`loadCaptures()[${i}] has no c2s/s2c byte arrays`);
    }
    return { name: typeof item.name === 'string' ? item.name : `capture-${i}`, c2s: item.c2s, s2c: item.s2c };
  });
}

/** Every capture session present now, sorted by name so all fuzz workers see the same corpus. */
export async function loadCaptureStreams(): Promise<CaptureStreams[]> {
  if (!existsSync(CAPTURES_DIR) || !existsSync(LOADER)) return readDirectory();
  const loader: unknown = await import(LOADER);
  if (!isRecord(loader) || typeof loader.loadCaptures !== 'function') return readDirectory();
  const load = loader.loadCaptures as () => unknown;
  let sessions: CaptureStreams[];
  try {
    sessions = fromLoader(await Promise.resolve(load()));
  } catch (err) {
    // A session being re-recorded can be half written; its byte streams still make good seeds.
    console.warn(`fuzz corpus: loadCaptures() failed (${String(err)}); reading ${CAPTURES_DIR} directly`);
    return readDirectory();
  }
  return sessions.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
