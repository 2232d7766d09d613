/**
 * The recorded gearmand sessions under fixtures/captures/, for replay tests and as fuzz seeds.
 * Re-record them with `npm run capture`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CaptureFrames, Frame, FrameArg } from '../../fixtures/capture/frame-format.ts';

export type { CaptureFrames, Frame, FrameArg, PacketFrame, TextFrame } from '../../fixtures/capture/frame-format.ts';
export { frameArgBytes } from '../../fixtures/capture/frame-format.ts';

export interface Capture {
  /** The session's directory name, e.g. "grab-job-uniq". */
  readonly name: string;
  /** Everything the peers sent to gearmand, connection after connection. */
  readonly c2s: Uint8Array;
  /** Everything gearmand sent back, in the same connection order. */
  readonly s2c: Uint8Array;
  /** The reference parser's reading of both streams (frames.json). */
  readonly frames: CaptureFrames;
}

export const CAPTURES_DIR = join(import.meta.dir, '..', '..', 'fixtures', 'captures');

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toArg(value: unknown, where: string): FrameArg {
  if (isRecord(value)) {
    if (typeof value.utf8 === 'string') return { utf8: value.utf8 };
    if (typeof value.hex === 'string' && /^(?:[0-9a-f]{2})*$/.test(value.hex)) return { hex: value.hex };
  }
  throw new Error(`${where}: an argument must be {"utf8": string} or {"hex": even-length hex}`);
}

function toFrame(value: unknown, where: string): Frame {
  if (isRecord(value) && value.kind === 'text' && typeof value.line === 'string') {
    return { kind: 'text', line: value.line };
  }
  if (
    isRecord(value) &&
    value.kind === 'packet' &&
    (value.magic === 'REQ' || value.magic === 'RES') &&
    typeof value.type === 'number' &&
    typeof value.name === 'string' &&
    Array.isArray(value.args)
  ) {
    const args = value.args.map((arg, i) => toArg(arg, `${where} argument ${i}`));
    return { kind: 'packet', magic: value.magic, type: value.type, name: value.name, args };
  }
  throw new Error(`${where}: not a packet or text frame`);
}

function toFrames(value: unknown, where: string): CaptureFrames {
  if (!isRecord(value) || !Array.isArray(value.c2s) || !Array.isArray(value.s2c)) {
    throw new Error(`${where}: expected {"c2s": [...], "s2c": [...]}`);
  }
  return {
    c2s: value.c2s.map((frame, i) => toFrame(frame, `${where} c2s[${i}]`)),
    s2c: value.s2c.map((frame, i) => toFrame(frame, `${where} s2c[${i}]`)),
  };
}

export function loadCapture(name: string, dir = CAPTURES_DIR): Capture {
  const base = join(dir, name);
  const framesPath = join(base, 'frames.json');
  return {
    name,
    c2s: new Uint8Array(readFileSync(join(base, 'c2s.bin'))),
    s2c: new Uint8Array(readFileSync(join(base, 's2c.bin'))),
    frames: toFrames(JSON.parse(readFileSync(framesPath, 'utf8')), framesPath),
  };
}

/** Every recorded session, sorted by name. */
export function loadCaptures(dir = CAPTURES_DIR): Capture[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => loadCapture(name, dir));
}
