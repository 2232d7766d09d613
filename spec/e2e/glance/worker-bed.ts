import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuilderConfig, ProviderConfig } from '../../../src/config/schema.ts';
import { ImageRepository } from '../../../src/images/repository.ts';
import { Client } from '../../../src/protocol/client/client.ts';
import { createFormatConverter } from '../../../src/uploaders/convert/format-converter.ts';
import { type GlanceUploaders, type GlanceUploadersOptions, createGlanceUploaders } from '../../../src/uploaders/glance/uploaders-by-provider.ts';
import { BuilderWorker } from '../../../src/worker/builder-worker.ts';
import { testBuilderConfig } from '../../support/builder-config.ts';
import { type Gearmand, startGearmand } from '../../support/gearmand.ts';
import { captureLogs } from '../../support/log-capture.ts';
import { type OpenStackPeers, startOpenStack } from '../../support/openstack/openstack-peers.ts';

export interface GlanceWorkerBedOptions {
  /** mkdtemp prefix of the bed's root (the images live in <root>/images). */
  readonly tempPrefix: string;
  readonly clientId: string;
  /** The providers of the builder's config (all on the noauth Glance). */
  readonly providers: readonly ProviderConfig[];
  /** Puts the images a build left earlier into the repository, before the worker opens it. */
  readonly seed: (repository: ImageRepository, root: string) => Promise<unknown>;
  /** Give the worker the qemu-img format converter (prepareFormat). */
  readonly convertFormats?: boolean;
  /** Tag uploads with the builder id (nodepool_builder = clientId). */
  readonly tagBuilder?: boolean;
  readonly listPageSize?: GlanceUploadersOptions['listPageSize'];
  /** Register provider-image-list/-delete for the providers whose clouds resolve. */
  readonly serveClouds?: boolean;
}

/** gearmand, a real noauth Glance, a seeded repository and a started BuilderWorker, with a Client on gearmand. */
export interface GlanceWorkerBed {
  readonly gearmand: Gearmand;
  readonly peers: OpenStackPeers;
  readonly root: string;
  readonly config: BuilderConfig;
  readonly uploaders: GlanceUploaders;
  readonly worker: BuilderWorker;
  readonly client: Client;
  close(): Promise<void>;
}

export async function startGlanceWorkerBed(options: GlanceWorkerBedOptions): Promise<GlanceWorkerBed> {
  const logs = captureLogs();
  const root = await mkdtemp(join(tmpdir(), options.tempPrefix));
  let gearmand: Gearmand | undefined;
  let peers: OpenStackPeers | undefined;
  let uploaders: GlanceUploaders | undefined;
  let worker: BuilderWorker | undefined;
  let client: Client | undefined;
  const close = async (): Promise<void> => {
    await client?.close();
    await worker?.stop(5_000);
    await uploaders?.close();
    await Promise.all([peers?.stop(), gearmand?.kill()]);
    await rm(root, { recursive: true, force: true });
  };
  try {
    const started = await Promise.allSettled([startGearmand(), startOpenStack({ keystone: false })]);
    if (started[0].status === 'fulfilled') gearmand = started[0].value;
    if (started[1].status === 'fulfilled') peers = started[1].value;
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    if (!gearmand || !peers) throw new Error('the bed did not start');
    const imagesDir = join(root, 'images');
    const seeding = new ImageRepository(imagesDir, logs);
    await seeding.recover();
    await options.seed(seeding, root);

    const config = testBuilderConfig(root, {
      imagesDir,
      clientId: options.clientId,
      cloudsFile: peers.cloudsFile,
      gearmanServers: [{ host: gearmand.host, port: gearmand.port }],
      providers: [...options.providers],
    });
    uploaders = createGlanceUploaders({
      logger: logs,
      cloudsFile: config.cloudsFile,
      env: {},
      ...(options.tagBuilder ? { uploader: { builderId: config.clientId } } : {}),
      ...(options.listPageSize !== undefined ? { listPageSize: options.listPageSize } : {}),
    });
    const repository = new ImageRepository(imagesDir, logs);
    worker = new BuilderWorker(config, {
      logger: logs,
      repository,
      uploaderFor: uploaders,
      ...(options.convertFormats ? { prepareFormat: createFormatConverter({ repository, logger: logs }) } : {}),
      ...(options.serveClouds ? { cloudImages: uploaders.images } : {}),
    });
    if (options.serveClouds) worker.serveClouds((await uploaders.resolveClouds(config.providers)).providers);
    await worker.start();
    client = new Client({ servers: config.gearmanServers });
    return { gearmand, peers, root, config, uploaders, worker, client, close };
  } catch (err) {
    await close();
    throw err;
  }
}
