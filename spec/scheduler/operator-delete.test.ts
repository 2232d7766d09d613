/** The API's deletes are records marked deleting in the store: the planner acts on them as on any delete it resumes. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plan } from '../../src/scheduler/planner.ts';
import { StateStore } from '../../src/scheduler/state-store.ts';
import { HOUR, NOW, agreeingWorld, only, planConfigWith } from './support/plan-fixtures.ts';

let dir: string;
let files = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'operator-delete-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** debian: builds d1 (older) and d2, each uploaded to p1 and p2; centos: c1, uploaded to both. */
function settledStore(): StateStore {
  const store = StateStore.open(join(dir, `state-${++files}.sqlite`));
  const buildAndUpload = (id: string, diskimage: string, at: number): void => {
    store.recordBuildStarted({ id, diskimage }, at);
    store.recordBuildReady(id, { builder: 'builder-1', formats: ['qcow2'] }, at + 1);
    for (const provider of ['p1', 'p2']) {
      store.recordUploadStarted({ id: `${id}-${provider}`, buildId: id, provider, externalId: `ext-${id}-${provider}`, externalName: undefined }, at + 2);
      store.recordUploadReady(`${id}-${provider}`, `ext-${id}-${provider}`, at + 3);
    }
  };
  buildAndUpload('d1', 'debian', NOW - 3 * HOUR);
  buildAndUpload('d2', 'debian', NOW - 2 * HOUR);
  buildAndUpload('c1', 'centos', NOW - 2 * HOUR);
  return store;
}

const planOf = (store: StateStore) => {
  const state = store.snapshot();
  const config = planConfigWith();
  return plan(state, config, agreeingWorld(state, config), NOW).actions;
};

describe('operator deletes reach the planner', () => {
  test('the settled store plans nothing (the baseline)', () => {
    const store = settledStore();
    expect(planOf(store)).toEqual([]);
    store.close();
  });

  test('image-upload-delete of the newest upload: its image is deleted and the newest build is uploaded there again', () => {
    const store = settledStore();
    store.requestUploadDelete('d2-p1', NOW);
    expect(only(planOf(store), 'delete-upload', 'start-upload')).toEqual([
      { kind: 'delete-upload', uploadId: 'd2-p1', diskimage: 'debian', provider: 'p1', externalId: 'ext-d2-p1', why: 'resumed' },
      { kind: 'start-upload', buildId: 'd2', diskimage: 'debian', provider: 'p1' },
    ]);
    store.close();
  });

  test('image-build-delete: the build is deleted on its builder and its uploads in the clouds; nothing is rebuilt while a newer build is ready', () => {
    const store = settledStore();
    store.requestBuildDelete('d1', NOW);
    const actions = planOf(store);
    expect(only(actions, 'delete-build', 'delete-upload').sort((a, b) => a.kind.localeCompare(b.kind))).toEqual([
      { kind: 'delete-build', buildId: 'd1', diskimage: 'debian', why: 'resumed' },
      { kind: 'delete-upload', uploadId: 'd1-p1', diskimage: 'debian', provider: 'p1', externalId: 'ext-d1-p1', why: 'resumed' },
      { kind: 'delete-upload', uploadId: 'd1-p2', diskimage: 'debian', provider: 'p2', externalId: 'ext-d1-p2', why: 'resumed' },
    ]);
    expect(only(actions, 'start-build', 'start-upload')).toEqual([]);
    store.close();
  });
});
