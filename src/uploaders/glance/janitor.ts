import type { ProviderConfig } from '../../config/schema.ts';
import { toError } from '../../errors/thrown.ts';
import type { Logger } from '../../util/log.ts';
import type { ImageService } from '../openstack/cloud-session.ts';
import { GlanceClient, type GlanceImage } from './images-api.ts';
import { BUILD_ID_PROPERTY, BUILDER_PROPERTY } from './glance-uploader.ts';
import type { RetryPolicy } from '../openstack/retry.ts';
import { isTagged, listAllImages } from './tagged-images.ts';

/**
 * Statuses of an image whose upload never finished: created but no data (queued), data or an
 * import under way (saving, uploading, importing), or refused by Glance mid-way (killed). A
 * builder that died during an upload leaves its image in one of these, and nobody else will
 * ever finish or delete it.
 */
export const UNFINISHED_STATUSES: ReadonlySet<string> = new Set(['queued', 'saving', 'uploading', 'importing', 'killed']);

export interface GlanceJanitorOptions {
  /** This builder's client-id: only images tagged with it (BUILDER_PROPERTY) are touched. */
  readonly builderId: string;
  readonly providers: readonly ProviderConfig[];
  /** The provider's cloud session. */
  readonly service: (provider: ProviderConfig) => Promise<ImageService>;
  readonly logger: Logger;
  /** Bounds the whole sweep; when it aborts the janitor stops where it is and the builder starts anyway. */
  readonly signal: AbortSignal;
  readonly pageSize?: number;
  readonly retry?: RetryPolicy;
}

export interface JanitorReport {
  /** Glance ids deleted, per cloud. */
  readonly deleted: ReadonlyArray<{ readonly cloud: string; readonly id: string; readonly buildId: string; readonly status: string }>;
  /** Clouds that could not be swept, with the reason. */
  readonly failed: ReadonlyArray<{ readonly cloud: string; readonly reason: string }>;
}

const QUIET_RETRY: RetryPolicy = { attempts: 2, baseDelayMs: 500, maxDelayMs: 2_000 };

/**
 * Deletes the images an earlier run of this builder created and never finished uploading.
 * It must run before the builder takes upload jobs: an upload of this process in flight looks
 * exactly like a leftover. Never throws: a cloud that cannot be swept is a warning, and its
 * leftovers wait for the next start.
 */
export async function removeUnfinishedUploads(options: GlanceJanitorOptions): Promise<JanitorReport> {
  const { logger, signal } = options;
  const deleted: Array<JanitorReport['deleted'][number]> = [];
  const failed: Array<JanitorReport['failed'][number]> = [];
  // Providers sharing a cloud and region share its images: sweep each once.
  const clouds = new Map<string, ProviderConfig>();
  for (const provider of options.providers) clouds.set(`${provider.cloud ?? ''}\0${provider.region ?? ''}`, provider);

  for (const provider of clouds.values()) {
    let cloud = provider.cloud ?? '(OS_CLOUD)';
    try {
      const service = await options.service(provider);
      cloud = service.cloud.name;
      const glance = new GlanceClient(service, logger, options.retry ?? QUIET_RETRY);
      for (const image of await leftovers(glance, options)) {
        const buildId = String(image.fields[BUILD_ID_PROPERTY]);
        if (await glance.delete(image.id, signal)) {
          logger.info(`deleted image ${image.id} (build ${buildId}, ${image.status}) that an earlier run left unfinished in cloud "${cloud}"`);
          deleted.push({ cloud, id: image.id, buildId, status: image.status });
        }
      }
    } catch (err) {
      const reason = signal.aborted ? `gave up: ${toError(signal.reason).message}` : toError(err).message;
      logger.warn(`could not look for unfinished uploads in cloud "${cloud}" (${reason}); they stay until the next start`);
      failed.push({ cloud, reason });
    }
  }
  return { deleted, failed };
}

async function leftovers(glance: GlanceClient, options: GlanceJanitorOptions): Promise<GlanceImage[]> {
  const found: GlanceImage[] = [];
  // Glance filters on any image property; the checks below do not trust that it did.
  for await (const image of listAllImages(glance, { [BUILDER_PROPERTY]: options.builderId }, options.pageSize ?? 100, options.signal)) {
    const mine = image.fields[BUILDER_PROPERTY] === options.builderId && isTagged(image);
    if (mine && UNFINISHED_STATUSES.has(image.status)) found.push(image);
  }
  return found;
}
