/**
 * Replays every saved fuzz failure (fixtures/fuzz-regressions/*.bin) under every limits profile,
 * in one chunk, byte by byte and in the chunks it failed with, through the same invariant checks
 * as the fuzz run. A case whose note names the admin line it was encoded from also checks that
 * the encoder refuses that line now. An empty directory fails: the replay would test nothing.
 */
import { describe, expect, test } from 'bun:test';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ProtocolError } from '../../src/protocol/codec/errors.ts';
import { encodeTextLine } from '../../src/protocol/codec/encoder.ts';
import { byteByByte } from './chunking.ts';
import { type Chunking, runCase } from './fuzz-case.ts';
import { expectedDecoding } from './oracle.ts';
import { PROFILES, type Profile } from './profiles.ts';
import { REGRESSIONS_DIR, type Regression, loadRegressions, regressionName } from './regression-store.ts';

const regressions = loadRegressions();

function chunkingsFor(regression: Regression, profile: Profile): Chunking[] {
  const chunkings: Chunking[] = [{ name: 'byte by byte', lengths: byteByByte(regression.bytes.length) }];
  const note = regression.note;
  const recordedTotal = note?.chunks.reduce((sum, n) => sum + n, 0);
  if (note !== undefined && note.profile === profile.name && recordedTotal === regression.bytes.length) {
    chunkings.push({ name: 'recorded chunks', lengths: note.chunks });
  }
  return chunkings;
}

describe('fuzz regressions', () => {
  test('the directory holds the README and at least one input, and nothing but inputs and their notes', () => {
    expect(existsSync(join(REGRESSIONS_DIR, 'README.md'))).toBe(true);
    expect(regressions.length).toBeGreaterThan(0);
    const files = readdirSync(REGRESSIONS_DIR).filter((file) => file !== 'README.md');
    for (const file of files) {
      expect(file).toMatch(/^[0-9a-f]{16}\.(bin|json)$/);
      if (file.endsWith('.json')) expect(files).toContain(file.replace(/\.json$/, '.bin'));
    }
    expect(regressions).toHaveLength(files.filter((file) => file.endsWith('.bin')).length);
  });

  test.each(regressions.map((regression) => [regression.name, regression] as const))('%s', (name, regression) => {
    expect(regressionName(regression.bytes)).toBe(name);
    for (const profile of PROFILES) {
      const result = runCase(regression.bytes, profile.limits, chunkingsFor(regression, profile));
      expect({ profile: profile.name, violations: result.violations }).toEqual({ profile: profile.name, violations: [] });
      // The run ended the way the reference decoder says: clean, or in its one error.
      const { ending } = expectedDecoding(regression.bytes, profile.limits);
      if (ending.kind === 'clean') expect(result.error).toBeUndefined();
      else if (ending.latest <= regression.bytes.length) expect(result.error).toBe(ending.code);
    }
    const line = regression.note?.line;
    if (line !== undefined) {
      const refused = (() => {
        try {
          encodeTextLine(line);
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      expect(refused).toBeInstanceOf(ProtocolError);
      expect(refused).toMatchObject({ code: 'BAD_ARGUMENT' });
    }
  });
});
