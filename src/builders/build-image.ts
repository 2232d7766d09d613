import { errorCode, oneLine, toError } from '../errors/thrown.ts';
import { statfs } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { DiskImageConfig } from '../config/schema.ts';
import { JobFailure } from '../errors/job-failure.ts';
import type { Logger } from '../util/log.ts';
import { redactSecrets } from '../util/log-text.ts';
import type { ImageFile, ImageRecord } from '../images/image-record.ts';
import type { ImageRepository } from '../images/repository.ts';
import { BuildLog } from './build-log.ts';
import { type HostSettings, type ImageBuilder, outputFile } from './builder.ts';
import { BUILDERS } from './registry.ts';
import { runProcess } from './run-process.ts';
import { verifyOutput } from './verify-output.ts';

export interface BuildEnvironment {
  readonly repository: ImageRepository;
  readonly logDir: string;
  readonly minFreeSpace: number;
  readonly host: HostSettings;
  readonly logger: Logger;
  readonly builders?: Readonly<Record<string, ImageBuilder>>;
}

export interface BuildOptions {
  /** Aborting kills the build's process group and discards its staging directory. */
  readonly signal?: AbortSignal;
  /** Every line of build output, as it comes. */
  readonly onLine?: (line: string) => void;
}

export function buildLogPath(logDir: string, imageName: string, id: string): string {
  return join(logDir, imageName, `${id}.log`);
}

/**
 * Builds one image: everything but the image creation itself, which the diskimage's builder
 * does. The image appears in the repository only after the builder succeeded and every
 * output checked out; on any failure its staging directory is removed.
 */
export async function buildImage(env: BuildEnvironment, image: DiskImageConfig, id: string, options: BuildOptions = {}): Promise<ImageRecord> {
  const builder = (env.builders ?? BUILDERS)[image.builder];
  if (!builder) throw new JobFailure('CONFIG', `no builder named ${image.builder}`);
  await checkFreeSpace(env.repository.imagesDir, env.minFreeSpace);
  const staging = await env.repository.stage(id);
  const log = await BuildLog.open(buildLogPath(env.logDir, image.name, id));
  if (options.onLine) log.onLine(options.onLine);
  log.onLine((line) => env.logger.debug(`[${image.name} ${id}] ${line}`));
  const started = new Date();
  const deadline = started.getTime() + image.buildTimeoutMs;
  // Asked while the build runs, so it adds nothing to the build's time.
  const version = builder.version(image).catch(() => undefined);
  let commandMs = 0;
  try {
    await builder.build({
      image,
      id,
      outputDir: staging.dir,
      host: env.host,
      run: async (argv, processEnv) => {
        log.line(`nodepool-builder: running ${argv.join(' ')}`);
        const commandStarted = Date.now();
        // A build that dies of a full disk only says so in its output; the job's reason must too.
        let noSpaceLine: string | undefined;
        let forgetGroup: (() => void) | undefined;
        const outcome = await runProcess(argv, {
          env: processEnv,
          cwd: staging.dir,
          timeoutMs: Math.max(1, deadline - Date.now()),
          onLine: (line) => {
            if (noSpaceLine === undefined && NO_SPACE_OUTPUT.test(line)) noSpaceLine = line.trim();
            log.line(line);
          },
          ...(options.signal ? { signal: options.signal } : {}),
          // Recorded so that a restart after a crash stops this group, and only this one.
          onSpawn: (pgid) => (forgetGroup = env.repository.recordProcessGroup(staging, pgid)),
        })
          .catch((err: unknown) => {
            throw new JobFailure('BUILD_FAILED', `cannot run ${argv[0]}: ${oneLine(err)}`);
          })
          .finally(() => {
            forgetGroup?.();
            commandMs += Date.now() - commandStarted;
          });
        if (outcome.timedOut) throw new JobFailure('BUILD_TIMEOUT', `the build timed out after ${image.buildTimeoutMs} ms`);
        if (outcome.aborted) throw new JobFailure('BUILD_ABORTED', 'the build was aborted (the builder is stopping)');
        if (outcome.code !== 0 && noSpaceLine !== undefined) {
          throw new JobFailure('NO_SPACE', `the disk is full: ${argv[0]} exited with ${outcome.code ?? `signal ${outcome.signal}`}: ${noSpaceLine.slice(0, 300)}`);
        }
        if (outcome.code !== 0) {
          throw new JobFailure('BUILD_FAILED', `${argv[0]} exited with ${outcome.code ?? `signal ${outcome.signal}`}`);
        }
      },
    });
    const formats: Record<string, ImageFile> = {};
    for (const format of image.formats) formats[format] = await verifyOutput(staging.dir, outputFile(image, format), format);
    const record: ImageRecord = {
      id,
      name: image.name,
      formats,
      build: {
        builder: builder.kind,
        builderVersion: await version,
        host: hostname(),
        started: started.toISOString(),
        finished: new Date().toISOString(),
        log: log.path,
      },
    };
    await env.repository.commit(staging, record);
    const totalMs = Date.now() - started.getTime();
    log.line(`nodepool-builder: image ${id} is ready: ${totalMs} ms, ${commandMs} ms of them in the build command`);
    return record;
  } catch (err) {
    await env.repository.discard(staging);
    const failure = asFailure(err);
    // The scheduler keeps the reason and the dashboard shows these lines: secrets stay here.
    const logTail = redactSecrets(log.tail(), image.envVars);
    log.line(`nodepool-builder: build failed: ${failure.message}`);
    env.logger.warn(`build ${image.name} ${id} failed: ${failure.message}; log ${log.path}; last lines:\n${log.tail().join('\n')}`);
    throw failure instanceof JobFailure ? new JobFailure(failure.code, failure.message, { cause: failure, logTail }) : failure;
  } finally {
    await log.close();
    if (log.writeError) env.logger.warn(`build log ${log.path} is incomplete: ${log.writeError.message}`);
  }
}

const NO_SPACE_OUTPUT = /No space left on device|ENOSPC/;

/** A full disk is an expected failure (WORK_FAIL), not an exception. */
function asFailure(err: unknown): Error {
  if (errorCode(err) === 'ENOSPC') return new JobFailure('NO_SPACE', `the disk is full: ${oneLine(err)}`);
  return toError(err);
}

async function checkFreeSpace(dir: string, minimum: number): Promise<void> {
  if (minimum <= 0) return;
  const stats = await statfs(dir);
  const free = stats.bavail * stats.bsize;
  if (free < minimum) {
    throw new JobFailure('NO_SPACE', `only ${free} bytes free in ${dir}; min-free-space is ${minimum}`);
  }
}
