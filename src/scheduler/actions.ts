/**
 * What the planner decides, as plain data. A new build or upload carries no id: the runner mints
 * the ids, commits the record, and only then submits the job (invariant 3). Every other action
 * names the records it acts on.
 */

export type BuildWhy = 'no-ready-build' | 'too-old' | 'requested' | 'missing';

/** Why a ready upload or build is to go. */
export type DeleteWhy =
  /** Beyond keep-uploads / keep-builds. */
  | 'superseded'
  /** The provider no longer lists the diskimage (or the provider is gone from the file). */
  | 'unconfigured'
  /** The diskimage is gone from the file. */
  | 'diskimage-removed'
  /** A delete decided before (the record says deleting) with no job running: submitted again. */
  | 'resumed';

export type Action =
  /** Record a new build of the diskimage as building, then submit image-build:<diskimage>. */
  | { readonly kind: 'start-build'; readonly diskimage: string; readonly why: BuildWhy }
  /** A build recorded as building with no job running here: submit it again with its id as the unique. */
  | { readonly kind: 'resume-build'; readonly buildId: string; readonly diskimage: string }
  /** A build found on a builder: record it ready (it was building, failed, missing, or never known). */
  | { readonly kind: 'adopt-build'; readonly buildId: string; readonly diskimage: string; readonly builder: string | undefined; readonly formats: readonly string[]; readonly builtAt?: number }
  /** A ready build whose image-upload:<id> has been gone from every job server past the grace. */
  | { readonly kind: 'mark-build-missing'; readonly buildId: string; readonly diskimage: string; readonly absentSince: number }
  /** Record the build deleting (unless it is), then submit image-delete:<id>. */
  | { readonly kind: 'delete-build'; readonly buildId: string; readonly diskimage: string; readonly why: DeleteWhy }
  /** Record the build gone without a job: its host is gone, or its delete ended unseen. */
  | { readonly kind: 'forget-build'; readonly buildId: string; readonly diskimage: string; readonly why: 'missing-unused' | 'delete-ended-unseen' }
  /** A build the state says is gone is on a builder again: image-delete:<id>, without a record. */
  | { readonly kind: 'delete-stray-build'; readonly buildId: string }
  /** Record a new upload of the build to the provider as uploading, then submit image-upload:<buildId>. */
  | { readonly kind: 'start-upload'; readonly buildId: string; readonly diskimage: string; readonly provider: string }
  /** An upload recorded as uploading with no job running here: submit it again with its id as the unique. */
  | { readonly kind: 'resume-upload'; readonly uploadId: string; readonly buildId: string; readonly diskimage: string; readonly provider: string }
  /** An upload recorded as uploading (or failed) whose image the cloud lists as active: record it ready. */
  | { readonly kind: 'adopt-upload'; readonly uploadId: string; readonly provider: string; readonly externalId: string }
  /**
   * An upload recorded as uploading, with no job running here, that is not to be submitted again:
   * its build is on no builder any more, the cloud killed its image (the image id cannot be used
   * again), or the config no longer asks for it. Also one whose job runs, when its build is
   * missing: the job waits for a builder that is gone, and the runner stops waiting for it.
   * Recorded failed; an image it left is a leak.
   */
  | { readonly kind: 'abandon-upload'; readonly uploadId: string; readonly provider: string; readonly why: 'build-unavailable' | 'image-killed' | 'unconfigured' }
  /** Record the upload deleting (unless it is), then submit provider-image-delete:<provider>. */
  | { readonly kind: 'delete-upload'; readonly uploadId: string; readonly diskimage: string; readonly provider: string; readonly externalId: string; readonly why: DeleteWhy }
  /** An upload recorded as deleting whose image the cloud no longer lists: record it gone. */
  | { readonly kind: 'forget-upload'; readonly uploadId: string; readonly provider: string }
  /** An image tagged by this system that the state does not account for, seen in enough sweeps in a row. */
  | { readonly kind: 'delete-leak'; readonly provider: string; readonly externalId: string; readonly uploadId: string | undefined; readonly passes: number };

export type ActionKind = Action['kind'];

/** Why something due does not happen now; shown by image-status. */
export type WaitWhy =
  | 'paused'
  | 'backoff'
  /** No builder registers image-build:<diskimage>. */
  | 'no-builder'
  /** The build to upload is not registered by any builder now. */
  | 'build-offline'
  /** No builder registers provider-image-*:<provider> (none holds its credentials), or none that also holds the build. */
  | 'no-cloud-worker'
  /** The provider has not been listed since the scheduler started: resuming waits for the listing. */
  | 'not-listed-yet';

export interface Wait {
  readonly diskimage: string;
  readonly provider: string | undefined;
  readonly why: WaitWhy;
  /** For backoff: the time of the next try. */
  readonly until: number | undefined;
}

export interface Plan {
  readonly actions: readonly Action[];
  readonly waits: readonly Wait[];
}
