import type { Action } from './actions.ts';
import type { BackoffPolicy, BuildRecord, UploadRecord } from './state.ts';
import type { StateStore } from './state-store.ts';

const ABANDONED = {
  'build-unavailable': 'abandoned: its build is on no builder any more',
  'image-killed': 'abandoned: the cloud killed its image',
  unconfigured: 'abandoned: the config no longer uploads this diskimage there',
} as const;

/** New ids for new records: the runner's choice (uuid4 hex for builds, as nodepool; a uuid for Glance). */
export interface IdMint {
  buildId(diskimage: string): string;
  upload(build: BuildRecord, provider: string): { readonly id: string; readonly externalId: string; readonly externalName: string };
}

/**
 * Commits one planned action to the state file, before anything acts on it (invariant 3): the
 * runner submits a job only for the record this returns, which is on disk by then. Actions that
 * need no record change (resumes, stray and leak deletes) return undefined; so does a delete of a
 * record already deleting.
 */
export function recordDecision(store: StateStore, action: Action, now: number, mint: IdMint, policy: BackoffPolicy): BuildRecord | UploadRecord | undefined {
  switch (action.kind) {
    case 'start-build':
      return store.recordBuildStarted({ id: mint.buildId(action.diskimage), diskimage: action.diskimage }, now);
    case 'adopt-build':
      return store.recordBuildAdopted({ id: action.buildId, diskimage: action.diskimage, builder: action.builder, formats: action.formats, builtAt: action.builtAt }, now);
    case 'mark-build-missing':
      return store.recordBuildMissing(action.buildId, `image-upload:${action.buildId} absent from every job server since ${new Date(action.absentSince).toISOString()}`, now);
    case 'delete-build':
      return store.build(action.buildId)?.state === 'deleting' ? undefined : store.recordBuildDeleting(action.buildId, action.why, now);
    case 'forget-build':
      return store.recordBuildGone(action.buildId, now);
    case 'start-upload': {
      const build = store.build(action.buildId);
      if (!build) return undefined;
      const minted = mint.upload(build, action.provider);
      return store.recordUploadStarted({ id: minted.id, buildId: build.id, provider: action.provider, externalId: minted.externalId, externalName: minted.externalName }, now);
    }
    case 'adopt-upload':
      return store.recordUploadAdopted(action.uploadId, action.externalId, now);
    case 'abandon-upload':
      // Only a killed image is the cloud's doing: the others must not hold back the next upload there.
      return store.recordUploadFailed(action.uploadId, ABANDONED[action.why], now, action.why === 'image-killed' ? policy : undefined);
    case 'delete-upload':
      return store.upload(action.uploadId)?.state === 'deleting' ? undefined : store.recordUploadDeleting(action.uploadId, action.why, now);
    case 'forget-upload':
      return store.recordUploadGone(action.uploadId, now);
    case 'resume-build':
    case 'resume-upload':
    case 'delete-stray-build':
    case 'delete-leak':
      return undefined;
  }
}
