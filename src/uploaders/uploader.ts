import type { ProviderConfig } from '../config/schema.ts';

export interface UploadJob {
  /** The local image (build) id the file belongs to. */
  readonly imageId: string;
  readonly provider: ProviderConfig;
  /** The image's name in the cloud. */
  readonly imageName: string;
  /** The local file to upload, already in the provider's format. */
  readonly path: string;
  readonly format: string;
  readonly size: number;
  readonly md5: string;
  readonly sha256: string;
  /** Tags for the scheduler that asked (image properties nodepool_upload_id, nodepool_system_id). */
  readonly uploadId?: string;
  readonly systemId?: string;
  /** The cloud id to create the image with (chosen by the scheduler); the uploader picks one when absent. */
  readonly externalId?: string;
  /** Aborted when the upload must stop (timeout, shutdown): the uploader cleans up after itself. */
  readonly signal: AbortSignal;
  progress(sent: number, total: number): void;
}

export interface UploadResult {
  /** The cloud's id for the image: WORK_COMPLETE's "external-id". */
  readonly externalId: string;
  /** Extra result keys (checksums, size): welcome by the wire contract. */
  readonly extras?: Readonly<Record<string, unknown>>;
}

/** Puts an image into one cloud. Failures the operator should see are JobFailures. */
export interface Uploader {
  upload(job: UploadJob): Promise<UploadResult>;
}
