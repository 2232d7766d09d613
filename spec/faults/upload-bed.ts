import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProviderConfig } from '../../src/config/schema.ts';
import { Client } from '../../src/protocol/client/client.ts';
import { JobFailedError } from '../../src/protocol/client/client-errors.ts';
import { createFormatConverter } from '../../src/uploaders/convert/format-converter.ts';
import { type GlanceUploaders, type GlanceUploadersOptions, createGlanceUploaders } from '../../src/uploaders/glance/uploaders-by-provider.ts';
import type { ImageRecord } from '../../src/images/image-record.ts';
import { BuilderWorker } from '../../src/worker/builder-worker.ts';
import { ImageRepository } from '../../src/images/repository.ts';
import { testBuilderConfig } from '../support/builder-config.ts';
import { type Gearmand, startGearmand } from '../support/gearmand.ts';
import { captureLogs } from '../support/log-capture.ts';
import { seedQcow2Image } from '../support/openstack/seeded-image.ts';

export type UploadOutcome = { readonly ok: true; readonly externalId: string } | { readonly ok: false; readonly reason: string };

/** A real gearmand, a BuilderWorker with one image on disk and the given providers, and a client submitting image-upload jobs. */
export interface UploadBed {
  readonly imageId: string;
  readonly logs: ReturnType<typeof captureLogs>;
  /** The image as the repository holds it (its qcow2's size and md5). */
  image(): ImageRecord;
  /** Submits image-upload:<imageId> and waits for WORK_COMPLETE or WORK_FAIL. */
  upload(provider: string, imageName: string): Promise<UploadOutcome>;
  stop(): Promise<void>;
}

export interface UploadBedOptions {
  readonly clientId: string;
  /** clouds.yaml text; written next to the images. */
  readonly clouds: string;
  readonly providers: readonly ProviderConfig[];
  /** Random bytes on the seeded image's disk: sets how long an upload takes through a throttle. */
  readonly imageBytes: number;
  readonly uploaders?: Pick<GlanceUploadersOptions, 'uploader' | 'session'>;
}

export async function startUploadBed(options: UploadBedOptions): Promise<UploadBed> {
  const imageId = 'seed-fault-0001';
  const root = await mkdtemp(join(tmpdir(), 'upload-fault-bed-'));
  const logs = captureLogs();
  let gearmand: Gearmand | undefined;
  let worker: BuilderWorker | undefined;
  let uploaders: GlanceUploaders | undefined;
  let client: Client | undefined;
  const stop = async () => {
    await client?.close();
    await worker?.stop(5_000);
    await uploaders?.close();
    await gearmand?.kill();
    await rm(root, { recursive: true, force: true });
  };
  try {
    const cloudsFile = join(root, 'clouds.yaml');
    await writeFile(cloudsFile, options.clouds, { mode: 0o600 });
    const imagesDir = join(root, 'images');
    const seeding = new ImageRepository(imagesDir, logs);
    await seeding.recover();
    await seedQcow2Image(seeding, imageId, { randomBytes: options.imageBytes });
    gearmand = await startGearmand();

    const config = testBuilderConfig(root, {
      imagesDir,
      clientId: options.clientId,
      cloudsFile,
      gearmanServers: [{ host: gearmand.host, port: gearmand.port }],
      providers: [...options.providers],
    });
    uploaders = createGlanceUploaders({
      logger: logs,
      cloudsFile,
      env: {},
      uploader: { builderId: options.clientId },
      ...options.uploaders,
    });
    const repository = new ImageRepository(imagesDir, logs);
    const started = new BuilderWorker(config, {
      logger: logs,
      repository,
      uploaderFor: uploaders,
      prepareFormat: createFormatConverter({ repository, logger: logs }),
    });
    worker = started;
    await started.start();
    const submitter = new Client({ servers: config.gearmanServers });
    client = submitter;
    return {
      imageId,
      logs,
      image: () => repository.get(imageId)!,
      async upload(provider, imageName) {
        try {
          const result = await submitter.submit(`image-upload:${imageId}`, JSON.stringify({ provider, 'image-name': imageName }), {
            timeoutMs: 400_000,
          });
          return { ok: true, externalId: String(JSON.parse(Buffer.from(result.data).toString())['external-id']) };
        } catch (err) {
          if (err instanceof JobFailedError) return { ok: false, reason: err.reason ?? '' };
          throw err;
        }
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

