import type { DiskImageConfig } from '../config/schema.ts';

/** Settings every build on this host shares. */
export interface HostSettings {
  readonly elementsPath: readonly string[];
  readonly dibImageCache: string | undefined;
}

export interface BuildContext {
  readonly image: DiskImageConfig;
  readonly id: string;
  /** Write `${outputDir}/${image.name}.${format}` for every format the image lists. */
  readonly outputDir: string;
  readonly host: HostSettings;
  /**
   * Runs a command as part of the build: argv, never a shell; output into the build log; the
   * whole process group killed on the build timeout. Throws JobFailure on a non-zero exit.
   */
  run(argv: readonly string[], env: Readonly<Record<string, string>>): Promise<void>;
}

/**
 * How one kind of image gets made. Everything else (staging, logs, timeouts, free-space
 * checks, verifying outputs, checksums, metadata and the atomic commit) is done by
 * buildImage() for every builder, so a new builder is one small file.
 */
export interface ImageBuilder {
  readonly kind: string;
  build(context: BuildContext): Promise<void>;
  /** Recorded in the image metadata, e.g. the DIB version. */
  version(image: DiskImageConfig): Promise<string | undefined>;
}

/** The file a build must leave for one format. */
export function outputFile(image: DiskImageConfig, format: string): string {
  return `${image.name}.${format}`;
}
