import { homedir } from 'node:os';
import type { ProviderConfig } from '../../config/schema.ts';
import type { Logger } from '../../util/log.ts';
import { JobFailure } from '../../errors/job-failure.ts';
import { type CloudFileLocations, type CloudFiles, type Env, loadCloudFiles } from '../openstack/cloud-files.ts';
import { type CloudSessionOptions, CloudSession, type ImageService } from '../openstack/cloud-session.ts';
import { resolveCloud } from '../openstack/clouds.ts';
import { GlanceUploader, type GlanceUploaderOptions } from './glance-uploader.ts';
import type { Uploader } from '../uploader.ts';

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
}

/** uploaderFor for BuilderWorker: one Glance uploader per provider, one session (token, pool) per cloud and region. */
export interface GlanceUploaders {
  (provider: ProviderConfig): Uploader;
  /** The provider's cloud session (shared with its uploads): for the startup janitor. */
  service(provider: ProviderConfig): Promise<ImageService>;
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
  const problems: string[] = [];
  for (const provider of providers) {
    try {
      resolveCloud(files, where.env, { cloud: provider.cloud, region: provider.region });
    } catch (err) {
      if (!(err instanceof JobFailure)) throw err;
      problems.push(`provider "${provider.name}": ${err.message}`);
    }
  }
  return problems;
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

  return Object.assign(uploaderFor, {
    service: (provider: ProviderConfig): Promise<ImageService> => sessionFor(provider.cloud, provider.region),
    async close(): Promise<void> {
      const opened = await Promise.allSettled(sessions.values());
      sessions.clear();
      await Promise.all(opened.map((s) => (s.status === 'fulfilled' ? s.value.close() : undefined)));
    },
  });
}
