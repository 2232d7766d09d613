/**
 * The scheduler's records, as the state store keeps them and the planner reads them. Times are
 * milliseconds since the epoch.
 */

export const BUILD_STATES = ['building', 'ready', 'deleting', 'gone', 'failed', 'missing'] as const;
export type BuildState = (typeof BUILD_STATES)[number];

export const UPLOAD_STATES = ['uploading', 'ready', 'deleting', 'gone', 'failed'] as const;
export type UploadState = (typeof UPLOAD_STATES)[number];

/** One build of a diskimage; its id is the image id on the builder and the gearman unique. */
export interface BuildRecord {
  readonly id: string;
  readonly diskimage: string;
  readonly state: BuildState;
  /** The builder holding the image (from its worker's client id), once known. */
  readonly builder: string | undefined;
  readonly formats: readonly string[];
  /** When the build was decided (or adopted). */
  readonly createdAt: number;
  readonly stateAt: number;
  /** When it became ready: the age rebuild-age is measured from. */
  readonly readyAt: number | undefined;
  /** Why it failed, went missing or was deleted. */
  readonly reason: string | undefined;
}

/** One upload of a build to a provider; its id is the gearman unique and a tag on the cloud image. */
export interface UploadRecord {
  readonly id: string;
  readonly buildId: string;
  readonly provider: string;
  readonly state: UploadState;
  /** The cloud's image id, chosen by the scheduler before the job goes out. */
  readonly externalId: string | undefined;
  readonly externalName: string | undefined;
  readonly createdAt: number;
  readonly stateAt: number;
  readonly readyAt: number | undefined;
  readonly reason: string | undefined;
}

/** A runtime pause (image-pause): of a diskimage's builds, or of its uploads to one provider. */
export interface PauseRecord {
  readonly diskimage: string;
  /** undefined: the diskimage's builds. */
  readonly provider: string | undefined;
  readonly pausedAt: number;
}

/** Failures in a row of a diskimage's builds (provider undefined) or of its uploads to a provider. */
export interface BackoffRecord {
  readonly diskimage: string;
  readonly provider: string | undefined;
  readonly failures: number;
  readonly failedAt: number;
  /** Nothing new is tried before this time. */
  readonly retryAt: number;
  readonly reason: string;
}

/** An operator asked for a build (image-build through the API); met by any build decided after it. */
export interface BuildRequestRecord {
  readonly diskimage: string;
  readonly requestedAt: number;
}

/** Everything the store holds, as one value: what the planner plans from. */
export interface SchedulerState {
  readonly builds: readonly BuildRecord[];
  readonly uploads: readonly UploadRecord[];
  readonly pauses: readonly PauseRecord[];
  readonly backoffs: readonly BackoffRecord[];
  readonly buildRequests: readonly BuildRequestRecord[];
}

export interface BackoffPolicy {
  readonly baseMs: number;
  readonly capMs: number;
}

/** The wait after the n-th failure in a row: base, 2 × base, 4 × base, … up to the cap. */
export function backoffDelay(failures: number, policy: BackoffPolicy): number {
  const doublings = Math.min(Math.max(failures - 1, 0), 52);
  return Math.min(policy.capMs, policy.baseMs * 2 ** doublings);
}
