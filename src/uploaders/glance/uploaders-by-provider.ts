import { homedir } from 'node:os';
import type { ProviderConfig } from '../../config/schema.ts';
import type { Logger } from '../../util/log.ts';
import { JobFailure } from '../../errors/job-failure.ts';
import { type CloudFileLocations, type CloudFiles, type Env, loadCloudFiles } from '../openstack/cloud-files.ts';
import { type CloudSessionOptions, CloudSession, type ImageService } from '../openstack/cloud-session.ts';
import { resolveCloud } from '../openstack/clouds.ts';
import { GlanceUploader, type GlanceUploaderOptions } from './glance-uploader.ts';
import type { Uploader } from '../uploader.ts';
import type { CloudImages } from '../cloud-images.ts';
import { GlanceCloudImages } from './tagged-images.ts';

export interface CloudLookupOptions {
  readonly logger: Logger;
  /** BuilderConfig.cloudsFile: read before the standard clouds.yaml locations. */
  readonly cloudsFile?: string | undefined;
  /** OS_* variables (and OS_CLIENT_CONFIG_FILE, OS_CLOUD…); process.env by default. */
  readonly env?: Env;
  readonly cwd?: string;
  readonly home?: string;
}

export interface GlanceUploadersOptions extends CloudLookupOptions {
  readonly uploader?: GlanceUploaderOptions;
  readonly session?: CloudSessionOptions;
  /** Images per page when listing a cloud's tagged images (default DEFAULT_PAGE_SIZE). */
  readonly listPageSize?: number;
}

/** Which providers' clouds resolve from the clouds files (nothing contacted). */
export interface ResolvedClouds {
  readonly providers: readonly string[];
  /** One line per provider that does not resolve (or one for a clouds file that cannot be read). */
  readonly problems: readonly string[];
}

/** uploaderFor for BuilderWorker: one Glance uploader per provider, one session (token, pool) per cloud and region. */
export interface GlanceUploaders {
  (provider: ProviderConfig): Uploader;
  /** The provider's cloud session (shared with its uploads): for the startup janitor. */
  service(provider: ProviderConfig): Promise<ImageService>;
  /** Listing and deleting the tagged images of a provider's cloud, over the same sessions. */
  readonly images: CloudImages;
  /** The providers whose clouds resolve from the clouds files as uploads would read them. */
  resolveClouds(providers: readonly ProviderConfig[]): Promise<ResolvedClouds>;
  /** Reads the clouds files again at the next use (a reload); sessions already open stay. */
  forgetCloudFiles(): void;
  /** Closes every cloud's connections. */
  close(): Promise<void>;
}

function locations(options: CloudLookupOptions): CloudFileLocations {
  const env = options.env ?? process.env;
  return { cloudsFile: options.cloudsFile, env, cwd: options.cwd ?? process.cwd(), home: options.home ?? env.HOME ?? homedir() };
}

/**
 * Reads the clouds files the way uploads will, and resolves every provider's cloud without
 * contacting it: what is wrong, one line per problem (none when all is well).
 */
export async function checkProviderClouds(providers: readonly ProviderConfig[], options: CloudLookupOptions): Promise<string[]> {
  if (providers.length === 0) return [];
  const where = locations(options);
  let files: CloudFiles;
  try {
    files = await loadCloudFiles(where, options.logger);
  } catch (err) {
    if (err instanceof JobFailure) return [err.message];
    throw err;
  }
  return [...resolveEach(providers, files, where.env).problems];
}

function resolveEach(providers: readonly ProviderConfig[], files: CloudFiles, env: Env): ResolvedClouds {
  const resolved: string[] = [];
  const problems: string[] = [];
  for (const provider of providers) {
    try {
      resolveCloud(files, env, { cloud: provider.cloud, region: provider.region });
      resolved.push(provider.name);
    } catch (err) {
      if (!(err instanceof JobFailure)) throw err;
      problems.push(`provider "${provider.name}": ${err.message}`);
    }
  }
  return { providers: resolved, problems };
}

export function createGlanceUploaders(options: GlanceUploadersOptions): GlanceUploaders {
  const env = options.env ?? process.env;
  const { logger } = options;
  let files: Promise<CloudFiles> | undefined;
  const sessions = new Map<string, Promise<CloudSession>>();
  const uploaders = new Map<string, Uploader>();

  const readFiles = (): Promise<CloudFiles> => {
    files ??= loadCloudFiles(locations(options), logger).catch((err: unknown) => {
      files = undefined; // a fixed file is read again on the next upload
      throw err;
    });
    return files;
  };

  const sessionFor = (cloud: string | undefined, region: string | undefined): Promise<CloudSession> => {
    const key = `${cloud ?? ''}\0${region ?? ''}`;
    let session = sessions.get(key);
    if (!session) {
      session = readFiles().then((loaded) => CloudSession.open(resolveCloud(loaded, env, { cloud, region }), logger, options.session));
      session.catch(() => sessions.delete(key));
      sessions.set(key, session);
    }
    return session;
  };

  const uploaderFor = (provider: ProviderConfig): Uploader => {
    const key = `${provider.name}\0${provider.cloud ?? ''}\0${provider.region ?? ''}`;
    let uploader = uploaders.get(key);
    if (!uploader) {
      uploader = new GlanceUploader(() => sessionFor(provider.cloud, provider.region), logger, options.uploader);
      uploaders.set(key, uploader);
    }
    return uploader;
  };

  const service = (provider: ProviderConfig): Promise<ImageService> => sessionFor(provider.cloud, provider.region);
  return Object.assign(uploaderFor, {
    service,
    images: new GlanceCloudImages({ service, logger, ...(options.listPageSize ? { pageSize: options.listPageSize } : {}) }),
    async resolveClouds(providers: readonly ProviderConfig[]): Promise<ResolvedClouds> {
      if (providers.length === 0) return { providers: [], problems: [] };
      let loaded: CloudFiles;
      try {
        loaded = await readFiles();
      } catch (err) {
        if (err instanceof JobFailure) return { providers: [], problems: [err.message] };
        throw err;
      }
      return resolveEach(providers, loaded, env);
    },
    forgetCloudFiles(): void {
      files = undefined;
    },
    async close(): Promise<void> {
      const opened = await Promise.allSettled(sessions.values());
      sessions.clear();
      await Promise.all(opened.map((s) => (s.status === 'fulfilled' ? s.value.close() : undefined)));
    },
  });
}
