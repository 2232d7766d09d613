/**
 * What the runner learns from builders' own listings (builder-image-list:<client-id>): the
 * builds the state never knew (a direct image-build), and which builder runs each build job.
 * It only holds what was learned and asks the builders; the runner decides what to do with it.
 */
import { randomUUID } from 'node:crypto';
import { oneLine } from '../errors/thrown.ts';
import type { Logger } from '../util/log.ts';
import { type BuilderImage, buildFunction, builderListFunction, parseBuilderBuilding, parseBuilderListResult } from './job-messages.ts';
import type { FunctionsSeen } from './observe.ts';
import { type JobStart, type RunnerEvents, emit } from './runner-events.ts';
import type { JobPort } from './runner-ports.ts';
import type { ObservedBuild } from './world.ts';

export interface BuilderListingsOptions {
  readonly jobs: JobPort;
  readonly logger: Logger;
  /** Told which builder runs a build job (jobBuilder), once per job. */
  readonly events: readonly RunnerEvents[];
  /** The listing job's timeout, read at each ask (a reload may change it). */
  readonly timeoutMs: () => number;
}

export class BuilderListings {
  /** Builds the state never knew (a direct image-build), as their builders' listings describe them. */
  private readonly foreignBuilds = new Map<string, BuilderImage>();
  /** Running builds whose builder is known (told to the observers once). */
  private readonly buildBuilders = new Map<string, string>();

  constructor(private readonly options: BuilderListingsOptions) {}

  /** The observed builds, with what their builders' listings said of those the state never knew. */
  observedBuilds(seen: FunctionsSeen): Map<string, ObservedBuild> {
    return new Map(
      [...seen.builds].map(([id, builders]) => {
        const foreign = this.foreignBuilds.get(id);
        return [id, { builders, diskimage: foreign?.diskimage, formats: foreign?.formats ?? [], builtAt: foreign?.builtAt }];
      }),
    );
  }

  /**
   * A build some builder registers (image-upload:<id>) that the state does not hold (`recorded`
   * says no) was made by a direct image-build: its registration does not say its diskimage, so
   * the builder's own listing is asked, once per build. Builders that do not serve the listing
   * (older ones) leave such builds alone.
   */
  async learnForeignBuilds(seen: FunctionsSeen, recorded: (buildId: string) => boolean): Promise<void> {
    for (const id of this.foreignBuilds.keys()) if (!seen.builds.has(id)) this.foreignBuilds.delete(id);
    const ask = new Set<string>();
    for (const [id, builders] of seen.builds) {
      if (this.foreignBuilds.has(id) || recorded(id)) continue;
      for (const builder of builders) if (seen.listingBuilders.has(builder)) ask.add(builder);
    }
    await Promise.all(
      [...ask].map(async (builder) => {
        const images = await this.ask(builder, `listing builder ${builder}'s images`, parseBuilderListResult);
        for (const image of images ?? []) if (seen.builds.has(image.id)) this.foreignBuilds.set(image.id, image);
      }),
    );
  }

  /**
   * Which builder runs each build job of `running` whose builder is not known yet: gearman does
   * not say who took a job, so the builders that register its image-build:<diskimage> are asked
   * (once per pass, only while such builds run) for the builds they are running ("building").
   */
  async learnBuildBuilders(seen: FunctionsSeen, running: ReadonlyMap<string, { readonly start: JobStart }>): Promise<void> {
    const ask = new Set<string>();
    for (const { start } of running.values()) {
      if (start.kind !== 'build' || this.buildBuilders.has(start.id) || this.knowLoneBuilder(start, seen)) continue;
      for (const builder of buildersOf(start, seen)) if (seen.listingBuilders.has(builder)) ask.add(builder);
    }
    await Promise.all(
      [...ask].map(async (builder) => {
        const building = await this.ask(builder, `asking builder ${builder} for its running builds`, parseBuilderBuilding);
        for (const id of building ?? []) {
          const job = running.get(id);
          if (job?.start.kind === 'build') this.knowBuilder(job.start, builder);
        }
      }),
    );
  }

  /** A build of a diskimage only one builder registers runs there, with no need to ask; true if so. */
  knowLoneBuilder(start: JobStart, seen: FunctionsSeen): boolean {
    const [lone, ...others] = buildersOf(start, seen);
    if (lone === undefined || others.length > 0) return false;
    this.knowBuilder(start, lone);
    return true;
  }

  /** The job ended or is no longer waited for. */
  forgetJob(id: string): void {
    this.buildBuilders.delete(id);
  }

  private knowBuilder(start: JobStart, builder: string): void {
    if (this.buildBuilders.get(start.id) === builder) return;
    this.buildBuilders.set(start.id, builder);
    emit(this.options.events, 'jobBuilder', { id: start.id, kind: start.kind, builder });
  }

  /** The builder's listing, parsed; undefined (and a warning naming `what`) if it failed or did not parse. */
  private async ask<T>(builder: string, what: string, parse: (data: string, builder: string) => T): Promise<T | undefined> {
    const { jobs, logger, timeoutMs } = this.options;
    const outcome = await jobs.run(builderListFunction(builder), '{}', randomUUID(), timeoutMs());
    if (outcome.kind !== 'complete') {
      logger.warn(`scheduler: ${what} failed: ${outcome.reason}`);
      return undefined;
    }
    try {
      return parse(outcome.data, builder);
    } catch (err) {
      logger.warn(`scheduler: ${what}: ${oneLine(err)}`);
      return undefined;
    }
  }
}

/** The builders that register the build job's image-build:<diskimage>. */
function buildersOf(start: JobStart, seen: FunctionsSeen): readonly string[] {
  return seen.buildersByDiskimage.get(diskimageOf(start.functionName)) ?? [];
}

/** The diskimage of an image-build:<diskimage> function. */
function diskimageOf(functionName: string): string {
  return functionName.slice(buildFunction('').length);
}
