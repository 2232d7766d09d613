import { JobFailure } from '../../errors/job-failure.ts';
import { HttpStatusError } from '../openstack/errors.ts';
import type { ProviderConfig } from '../../config/schema.ts';
import type { Logger } from '../../util/log.ts';
import type { ImageService } from '../openstack/cloud-session.ts';
import type { RetryPolicy } from '../openstack/retry.ts';
import type { CloudImages, TaggedImage, TaggedImageFilter } from '../cloud-images.ts';
import { BUILD_ID_PROPERTY, BUILDER_PROPERTY, PROVIDER_PROPERTY, SYSTEM_ID_PROPERTY, UPLOAD_ID_PROPERTY } from './glance-uploader.ts';
import { GlanceClient, type GlanceImage } from './images-api.ts';
import { toUploadFailure } from './upload-failure.ts';

/** Glance's own default page size is 25 and its cap (api_limit_max) 1000 by default. */
export const DEFAULT_PAGE_SIZE = 100;

/** Every image nodepool-builder uploads carries the build id it came from. */
export function isTagged(image: GlanceImage): boolean {
  return typeof image.fields[BUILD_ID_PROPERTY] === 'string';
}

/**
 * Every image of GET /v2/images matching `filters` (Glance filters on any property by value),
 * page by page with `limit` and the `next` link's marker.
 */
export async function* listAllImages(
  glance: GlanceClient,
  filters: Readonly<Record<string, string>>,
  pageSize: number,
  signal: AbortSignal,
): AsyncGenerator<GlanceImage> {
  let query: string | undefined = new URLSearchParams({ ...filters, limit: String(pageSize) }).toString();
  const seen = new Set<string>();
  while (query !== undefined) {
    const page = await glance.listPage(query, signal);
    let fresh = 0;
    for (const image of page.images) {
      if (seen.has(image.id)) continue;
      seen.add(image.id);
      fresh++;
      yield image;
    }
    // A page without new ids would mean Glance is going round in circles.
    query = fresh > 0 ? page.next : undefined;
  }
}

const tag = (image: GlanceImage, key: string): string | null => {
  const value = image.fields[key];
  return typeof value === 'string' ? value : null;
};

export function toTaggedImage(image: GlanceImage): TaggedImage {
  return {
    externalId: image.id,
    name: image.name ?? null,
    status: image.status,
    uploadId: tag(image, UPLOAD_ID_PROPERTY),
    buildId: tag(image, BUILD_ID_PROPERTY),
    systemId: tag(image, SYSTEM_ID_PROPERTY),
    builder: tag(image, BUILDER_PROPERTY),
    provider: tag(image, PROVIDER_PROPERTY),
    createdAt: tag(image, 'created_at'),
  };
}

export interface GlanceCloudImagesOptions {
  /** The provider's cloud session (shared with its uploads). */
  readonly service: (provider: ProviderConfig) => Promise<ImageService>;
  readonly logger: Logger;
  readonly pageSize?: number;
  readonly retry?: RetryPolicy;
}

/** CloudImages over Glance v2: the images tagged with nodepool_build_id are ours. */
export class GlanceCloudImages implements CloudImages {
  constructor(private readonly options: GlanceCloudImagesOptions) {}

  async list(provider: ProviderConfig, filter: TaggedImageFilter, signal: AbortSignal): Promise<TaggedImage[]> {
    return this.withGlance(provider, 'listing the tagged images', signal, async (glance) => {
      // Glance cannot filter on "has a property": without a system id, every page is read and sorted out here.
      const filters = filter.systemId === undefined ? {} : { [SYSTEM_ID_PROPERTY]: filter.systemId };
      const found: TaggedImage[] = [];
      for await (const image of listAllImages(glance, filters, this.options.pageSize ?? DEFAULT_PAGE_SIZE, signal)) {
        if (!isTagged(image)) continue;
        if (filter.systemId !== undefined && image.fields[SYSTEM_ID_PROPERTY] !== filter.systemId) continue;
        // Another provider's image in a Glance both use is not this provider's (uploads older than the tag are kept).
        const uploadedFor = image.fields[PROVIDER_PROPERTY];
        if (typeof uploadedFor === 'string' && uploadedFor !== provider.name) continue;
        found.push(toTaggedImage(image));
      }
      return found;
    });
  }

  async delete(provider: ProviderConfig, externalId: string, signal: AbortSignal): Promise<'deleted' | 'already-gone'> {
    return this.withGlance(provider, `deleting image ${externalId}`, signal, async (glance) => {
      let image: GlanceImage;
      try {
        image = await glance.get(externalId, signal);
      } catch (err) {
        if (err instanceof HttpStatusError && err.status === 404) return 'already-gone';
        throw err;
      }
      // A scheduler's mistake must not cost an image someone else made.
      if (!isTagged(image)) {
        throw new JobFailure('IMAGE_NOT_OURS', `IMAGE_NOT_OURS: image ${externalId} in cloud "${glance.cloudName}" has no ${BUILD_ID_PROPERTY} tag: nodepool-builder did not upload it, so it is not deleted`);
      }
      return (await glance.delete(externalId, signal)) ? 'deleted' : 'already-gone';
    });
  }

  private async withGlance<T>(provider: ProviderConfig, what: string, signal: AbortSignal, work: (glance: GlanceClient) => Promise<T>): Promise<T> {
    const context = { what, cloud: provider.cloud ?? '(OS_CLOUD)', signal, timeoutMs: 0 };
    try {
      const service = await this.options.service(provider);
      context.cloud = service.cloud.name;
      return await work(new GlanceClient(service, this.options.logger, this.options.retry));
    } catch (err) {
      throw toUploadFailure(err, context);
    }
  }
}
