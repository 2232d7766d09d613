import type { ProviderConfig } from '../config/schema.ts';

/** An image in a provider's cloud that nodepool-builder uploaded (it carries our tags). */
export interface TaggedImage {
  readonly externalId: string;
  readonly name: string | null;
  readonly status: string;
  readonly uploadId: string | null;
  readonly buildId: string | null;
  readonly systemId: string | null;
  /** The client-id of the builder that uploaded it. */
  readonly builder: string | null;
  /** The provider it was uploaded for (null on uploads older than that tag). */
  readonly provider: string | null;
  /** ISO-8601, as the cloud reports it. */
  readonly createdAt: string | null;
}

export interface TaggedImageFilter {
  /** Only images tagged with this system id. */
  readonly systemId?: string;
}

/**
 * The cloud side of the scheduler's sweep: what this system left in a provider's cloud, and
 * deleting one of those images. Failures the operator should see are JobFailures.
 */
export interface CloudImages {
  /**
   * Every image in the provider's cloud that carries our tags (all pages of the listing), but
   * not those tagged as another provider's: providers may share one cloud.
   */
  list(provider: ProviderConfig, filter: TaggedImageFilter, signal: AbortSignal): Promise<TaggedImage[]>;
  /** Deletes one of our images; 'already-gone' when the cloud has no such image. */
  delete(provider: ProviderConfig, externalId: string, signal: AbortSignal): Promise<'deleted' | 'already-gone'>;
}
