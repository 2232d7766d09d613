import type { BuildState, UploadState } from './state.ts';

/** The states a record may leave for each state it may enter. */
export const BUILD_FROM: Readonly<Record<BuildState, readonly BuildState[]>> = {
  building: [],
  ready: ['building'],
  failed: ['building'],
  missing: ['ready'],
  deleting: ['ready', 'missing'],
  gone: ['deleting', 'missing'],
};

/**
 * Adoption: the build is on a builder after all. Its job ended while the scheduler was away,
 * its host came back, or its result was lost (the image is kept and registered, DESIGN §8).
 */
export const ADOPTABLE_BUILD: readonly BuildState[] = ['building', 'missing', 'failed'];

export const UPLOAD_FROM: Readonly<Record<UploadState, readonly UploadState[]>> = {
  uploading: [],
  ready: ['uploading'],
  failed: ['uploading'],
  deleting: ['ready'],
  gone: ['deleting'],
};

/** Adoption: the cloud lists the upload's image as active, whatever the job's result said. */
export const ADOPTABLE_UPLOAD: readonly UploadState[] = ['uploading', 'failed'];
