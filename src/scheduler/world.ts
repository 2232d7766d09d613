/**
 * What the scheduler observed of the world outside its state file, as the planner reads it:
 * the job servers' admin status (which functions the builders register) and each provider's
 * listing of the images this system tagged. The reconciler gathers it; the planner only reads it.
 */

/** A build whose image-upload:<id> some builder registers: it is on that builder's disk. */
export interface ObservedBuild {
  /** The builders (client ids) registering image-upload:<id>. */
  readonly builders: readonly string[];
  /** Its diskimage, when the reconciler could tell; needed to adopt a build the state never knew. */
  readonly diskimage: string | undefined;
  readonly formats: readonly string[];
  /** When its builder finished it, when the reconciler could tell (a build the state never knew). */
  readonly builtAt?: number | undefined;
}

/** One image of this system found in a provider's listing. */
export interface ListedImage {
  /** The cloud's image id (Glance's uuid). */
  readonly externalId: string;
  /** The upload id the image is tagged with, if any. */
  readonly uploadId: string | undefined;
  /** Glance's status: active, queued, saving, importing, killed, deleted, pending_delete, … */
  readonly status: string;
  /** Listings in a row, this one included, that have shown this image. */
  readonly passes: number;
}

export interface ProviderView {
  /** The builders registering provider-image-list:<p> and provider-image-delete:<p> (they hold its credentials). */
  readonly builders: readonly string[];
  /** The complete listing of the last sweep; undefined until a listing succeeded since the scheduler started. */
  readonly images: readonly ListedImage[] | undefined;
}

export interface World {
  /** image-upload:<id> registrations, by build id. */
  readonly builds: ReadonlyMap<string, ObservedBuild>;
  /**
   * For build ids of the state that no job server lists now: since when they have been absent
   * without a break. The reconciler never dates it before its own start, so a restart gives
   * every build the full grace again.
   */
  readonly absentSince: ReadonlyMap<string, number>;
  /** Who registers image-build:<name>, by diskimage. */
  readonly buildersByDiskimage: ReadonlyMap<string, readonly string[]>;
  readonly providers: ReadonlyMap<string, ProviderView>;
  /** Jobs this scheduler has running now: build ids, upload ids, and external ids of leak deletes. */
  readonly inFlight: ReadonlySet<string>;
}
