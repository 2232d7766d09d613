/** Decisions as state-file transactions (record-decision.ts), on a real state file. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type IdMint, recordDecision } from '../../src/scheduler/record-decision.ts';
import { StateStore } from '../../src/scheduler/state-store.ts';

const policy = { baseMs: 60_000, capMs: 3_600_000 };
const mint: IdMint = {
  buildId: () => 'unused',
  upload: () => ({ id: 'unused', externalId: 'unused', externalName: 'unused' }),
};

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'record-decision-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('abandoning an upload', () => {
  test.each([
    ['build-unavailable', false],
    ['unconfigured', false],
    ['image-killed', true],
  ] as const)('D3: abandoned as %s: recorded failed; the provider backs off: %p (only a killed image is the cloud’s doing)', (why, backsOff) => {
    const store = StateStore.open(join(dir, `${why}.sqlite`));
    try {
      store.recordBuildStarted({ id: 'b1', diskimage: 'debian' }, 100);
      store.recordBuildReady('b1', { builder: 'builder-1', formats: ['qcow2'] }, 200);
      store.recordUploadStarted({ id: 'u1', buildId: 'b1', provider: 'p1', externalId: 'ext-1', externalName: 'debian-200' }, 300);
      recordDecision(store, { kind: 'abandon-upload', uploadId: 'u1', provider: 'p1', why }, 400, mint, policy);
      const state = store.snapshot();
      expect(state.uploads[0]).toMatchObject({ id: 'u1', state: 'failed' });
      expect(state.backoffs.map((b) => [b.diskimage, b.provider, b.retryAt])).toEqual(backsOff ? [['debian', 'p1', 400 + policy.baseMs]] : []);
    } finally {
      store.close();
    }
  });
});
