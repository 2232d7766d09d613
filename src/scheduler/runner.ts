import { randomUUID } from 'node:crypto';
import type { BuilderConfig } from '../config/schema.ts';
import type { SchedulerConfig } from '../config/scheduler-schema.ts';
import { expandImageNameFormat } from '../config/image-name-format.ts';
import { parseFailureText } from '../errors/job-failure.ts';
import { oneLine } from '../errors/thrown.ts';
import { type Logger, silentLogger } from '../util/log.ts';
import type { Action, Wait } from './actions.ts';
import { BuilderListings } from './builder-listings.ts';
import { buildFunction, buildRequest, deleteBuildFunction, deleteImageFunction, deleteImageRequest, parseBuildResult, parseUploadResult, uploadFunction, uploadRequest } from './job-messages.ts';
import { AbsenceClock, type FunctionsSeen, observeFunctions } from './observe.ts';
import { LISTING_WAIT_MS, ProviderSweep } from './provider-sweep.ts';
import { plan } from './planner.ts';
import { planConfig } from './plan-config.ts';
import { type IdMint, recordDecision } from './record-decision.ts';
import { type JobKind, type JobStart, type RunnerEvents, emit } from './runner-events.ts';
import { type Clock, type FleetPort, type JobOutcome, type JobPort, systemClock } from './runner-ports.ts';
import type { BackoffPolicy, BuildRecord, UploadRecord } from './state.ts';
import type { StateStore } from './state-store.ts';
import type { World } from './world.ts';

/** How often history-retention is applied: old history needs no hurry, and a prune scans every record. */
const PRUNE_EVERY_MS = 3_600_000;
/** How a builder's WORK_FAIL starts when the Glance image id the job carries exists or existed (README, image-upload). */
const EXTERNAL_ID_TAKEN = 'EXTERNAL_ID_TAKEN:';
/** A build job of a diskimage the config no longer names: nodepool's build-timeout. */
const DEFAULT_BUILD_TIMEOUT_MS = 8 * 3_600_000;

export interface RunnerOptions {
  readonly store: StateStore;
  /** The whole file: its diskimages and providers, and its `[scheduler]` table. */
  readonly config: BuilderConfig;
  readonly scheduler: SchedulerConfig;
  readonly jobs: JobPort;
  readonly fleet: FleetPort;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Runs the pass every cleanup-interval (start()); tests drive passes themselves. */
  readonly timers?: boolean;
  /** Observers of jobs and passes (the dashboard, the metrics). */
  readonly events?: readonly RunnerEvents[];
  /** How long a pass waits for a provider's listing (default LISTING_WAIT_MS). */
  readonly listingWaitMs?: number;
}

/** What the last pass decided to wait for, and whether one has completed (the API's /ready). */
export interface RunnerStatus {
  readonly reconciled: boolean;
  readonly lastPassAt: number | undefined;
  readonly waits: readonly Wait[];
  readonly jobsRunning: number;
}

/**
 * The scheduler daemon's loop (DESIGN §10): one pass observes the job servers' `workers`
 * listings and sweeps each provider's tagged images through a builder, plans from the state
 * file, and for each action commits the decision first (invariant 3), then submits its job
 * with the record's id as the gearman unique. Results are committed as they come; a job
 * ending asks for another pass. Passes never overlap: a pass asked for while one runs follows
 * it. Jobs run concurrently, each on its own, so one provider's failures never hold up another
 * (invariant 5).
 */
export class SchedulerRunner {
  private config: BuilderConfig;
  private scheduler: SchedulerConfig;
  private readonly store: StateStore;
  private readonly jobs: JobPort;
  private readonly fleet: FleetPort;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly events: readonly RunnerEvents[];
  private readonly absence: AbsenceClock;
  /** Jobs running now, by the id the planner knows them by (build, upload, or leaked image id). */
  private readonly running = new Map<string, { readonly done: Promise<void>; readonly start: JobStart }>();
  /**
   * Ids whose last job failed without a record to keep the failure (a delete) or ended with no
   * result: left alone until the time given, so a job ending does not resubmit it at once.
   */
  private readonly holds = new Map<string, number>();
  private loop: Promise<void> | undefined;
  private readonly providerSweep: ProviderSweep;
  private readonly builderListings: BuilderListings;
  private again = false;
  private stopped = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private timerInterval = 0;
  private storedSystemId: string | undefined;
  private lastPassAt: number | undefined;
  private lastPruneAt: number | undefined;
  /** The build ids of the last pass's snapshot: only ids beyond them are looked up in the state file. */
  private knownBuildIds: ReadonlySet<string> = new Set();
  private waits: readonly Wait[] = [];
  /** The last pass's observation: a build of a diskimage only one builder registers runs there. */
  private lastSeen: FunctionsSeen | undefined;

  constructor(private readonly options: RunnerOptions) {
    this.store = options.store;
    this.config = options.config;
    this.scheduler = options.scheduler;
    this.jobs = options.jobs;
    this.fleet = options.fleet;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.events = options.events ?? [];
    this.absence = new AbsenceClock(this.clock.now());
    this.providerSweep = new ProviderSweep({
      jobs: this.jobs,
      logger: this.logger,
      listingWaitMs: options.listingWaitMs ?? LISTING_WAIT_MS,
      onLateListing: () => void this.kick(),
    });
    this.builderListings = new BuilderListings({ jobs: this.jobs, logger: this.logger, events: this.events, timeoutMs: () => this.scheduler.cloudJobTimeoutMs });
  }

  get systemId(): string {
    // Made (and kept in the state file) only when the config sets none.
    return this.scheduler.systemId ?? (this.storedSystemId ??= this.store.systemId());
  }

  status(): RunnerStatus {
    return { reconciled: this.lastPassAt !== undefined, lastPassAt: this.lastPassAt, waits: this.waits, jobsRunning: this.running.size };
  }

  /** Passes at once and every cleanup-interval. */
  start(): void {
    void this.kick();
    this.armTimer();
  }

  /** A new configuration (SIGHUP): the next pass plans with it; running jobs go on. */
  reload(config: BuilderConfig, scheduler: SchedulerConfig): void {
    this.config = config;
    this.scheduler = scheduler;
    if (this.timer !== undefined && this.timerInterval !== scheduler.cleanupIntervalMs) this.armTimer();
    void this.kick();
  }

  /**
   * Asks for a pass; resolves once a pass that began after the call has ended. While a pass
   * runs, the request is kept and the next pass follows it.
   */
  kick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.again = true;
    this.loop ??= this.drain();
    return this.loop;
  }

  /** Resolves once no pass runs and no job is running (jobs' ends ask for passes, which may start jobs). */
  async idle(): Promise<void> {
    while (this.loop !== undefined || this.running.size > 0) {
      await Promise.all([this.loop, ...[...this.running.values()].map((job) => job.done)]);
    }
  }

  /**
   * Stops passing and waits for a pass under way. Running jobs are left to run on the builders:
   * their results are not recorded by this process, and the next start's reconciliation finds them.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.loop;
  }

  private armTimer(): void {
    if (this.options.timers === false) return;
    clearInterval(this.timer);
    this.timerInterval = this.scheduler.cleanupIntervalMs;
    this.timer = setInterval(() => void this.kick(), this.timerInterval);
    this.timer.unref?.();
  }

  private async drain(): Promise<void> {
    try {
      while (this.again && !this.stopped) {
        this.again = false;
        try {
          await this.pass();
        } catch (err) {
          this.logger.error(`scheduler pass failed: ${oneLine(err)}`);
        }
      }
    } finally {
      this.loop = undefined;
    }
  }

  private async pass(): Promise<void> {
    const startedAt = this.clock.now();
    const fleet = await this.fleet.workers();
    for (const failure of fleet.failures) this.logger.warn(`scheduler: a job server's workers listing failed: ${failure}`);
    if (fleet.listings.length === 0) {
      this.logger.warn('scheduler: no job server answered; nothing is planned this pass');
      return;
    }
    const seen = observeFunctions(fleet.listings);
    // Every provider some builder holds credentials for, or that the file names.
    const providerNames = new Set<string>([...this.config.providers.map((p) => p.name), ...seen.cloudBuilders.keys()]);
    const sweep = this.providerSweep.sweep(providerNames, seen.cloudBuilders, this.systemId, this.scheduler.cloudJobTimeoutMs);
    const recorded = (id: string) => this.knownBuildIds.has(id) || this.store.build(id) !== undefined;
    const [providers] = await Promise.all([sweep, this.builderListings.learnForeignBuilds(seen, recorded), this.builderListings.learnBuildBuilders(seen, this.running)]);
    if (this.stopped) return;
    this.lastSeen = seen;

    // From here to the last decision nothing awaits: the state, the jobs running and the plan are one moment.
    const now = this.clock.now();
    const state = this.store.snapshot();
    this.knownBuildIds = new Set(state.builds.map((b) => b.id));
    const watched = state.builds.filter((b) => b.state === 'ready' || b.state === 'deleting').map((b) => b.id);
    const world: World = {
      builds: this.builderListings.observedBuilds(seen),
      absentSince: this.absence.observe(watched, seen.builds, now),
      buildersByDiskimage: seen.buildersByDiskimage,
      providers,
      inFlight: this.inFlight(now),
    };
    const decided = plan(state, planConfig(this.config, this.scheduler), world, now);
    for (const action of decided.actions) this.act(action, now);
    this.waits = decided.waits;
    this.lastPassAt = now;
    this.pruneHistory(now);
    emit(this.events, 'passEnded', { startedAt, endedAt: this.clock.now(), actions: decided.actions });
  }

  /** Drops gone and superseded failed records older than history-retention, at most every PRUNE_EVERY_MS. */
  private pruneHistory(now: number): void {
    if (this.lastPruneAt !== undefined && now - this.lastPruneAt < PRUNE_EVERY_MS) return;
    this.lastPruneAt = now;
    try {
      const pruned = this.store.prune(now - this.scheduler.historyRetentionMs);
      if (pruned.builds + pruned.uploads > 0) this.logger.info(`scheduler: pruned ${pruned.builds} build and ${pruned.uploads} upload record(s) older than history-retention`);
    } catch (err) {
      this.logger.warn(`scheduler: pruning the state file failed: ${oneLine(err)}`);
    }
  }

  private inFlight(now: number): Set<string> {
    for (const [id, until] of this.holds) if (until <= now) this.holds.delete(id);
    return new Set([...this.running.keys(), ...this.holds.keys()]);
  }

  private get policy(): BackoffPolicy {
    return { baseMs: this.scheduler.backoffBaseMs, capMs: this.scheduler.backoffCapMs };
  }

  private readonly mint: IdMint = {
    buildId: () => randomUUID().replaceAll('-', ''),
    upload: (build: BuildRecord, provider: string) => {
      const format = this.config.providers.find((p) => p.name === provider)?.imageNameFormat;
      const imageName = format === undefined ? undefined : expandImageNameFormat(format, { imageName: build.diskimage, imageId: build.id, provider, timestamp: this.clock.now() });
      return { id: randomUUID().replaceAll('-', ''), externalId: randomUUID(), externalName: imageName ?? `${build.diskimage}-${build.id}` };
    },
  };

  /** Commits one action's decision, then submits its job (if it has one). */
  private act(action: Action, now: number): void {
    let record: BuildRecord | UploadRecord | undefined;
    try {
      record = recordDecision(this.store, action, now, this.mint, this.policy);
    } catch (err) {
      this.logger.warn(`scheduler: ${action.kind} not recorded: ${oneLine(err)}`);
      return;
    }
    this.logger.info(`scheduler: ${describe(action)}`);
    switch (action.kind) {
      case 'start-build':
        if (record) this.submitBuild(record.id, action.diskimage);
        return;
      case 'resume-build':
        this.submitBuild(action.buildId, action.diskimage);
        return;
      case 'delete-build':
      case 'delete-stray-build':
        this.submitBuildDelete(action.buildId, action.kind === 'delete-build');
        return;
      case 'start-upload':
        if (record) this.submitUpload(record.id);
        return;
      case 'resume-upload':
        this.submitUpload(action.uploadId);
        return;
      case 'delete-upload':
        this.submitImageDelete(action.uploadId, action.provider, action.externalId, true);
        return;
      case 'delete-leak':
        this.submitImageDelete(action.externalId, action.provider, action.externalId, false);
        return;
      case 'abandon-upload':
        this.stopWaiting(action.uploadId, now, 'given up: its build is on no builder any more');
        return;
      default:
        return;
    }
  }

  private submitBuild(buildId: string, diskimage: string): void {
    const timeout = (this.config.diskimages.find((d) => d.name === diskimage)?.buildTimeoutMs ?? DEFAULT_BUILD_TIMEOUT_MS) + this.scheduler.jobTimeoutMarginMs;
    const launched = this.launch(buildId, 'build', buildFunction(diskimage), buildRequest(buildId), timeout, (outcome, now) => {
      if (outcome.kind === 'failed') {
        this.store.recordBuildFailed(buildId, outcome.reason, now, this.policy);
        return;
      }
      if (outcome.kind !== 'complete') return this.hold(buildId, outcome, now);
      let result = { formats: [] as readonly string[], builder: undefined as string | undefined };
      try {
        result = parseBuildResult(outcome.data);
      } catch (err) {
        this.logger.warn(`scheduler: build ${buildId}: ${oneLine(err)}; recorded ready without formats`);
      }
      this.store.recordBuildReady(buildId, result, now);
    });
    if (launched && this.lastSeen) this.builderListings.knowLoneBuilder(launched, this.lastSeen);
  }

  private submitBuildDelete(buildId: string, recorded: boolean): void {
    this.launch(buildId, 'build-delete', deleteBuildFunction(buildId), '{}', this.scheduler.cloudJobTimeoutMs, (outcome, now) => {
      if (outcome.kind !== 'complete') return this.hold(buildId, outcome, now);
      // The builder's CANT_DO for the image may reach a job server after its WORK_COMPLETE reached
      // us (another connection): a listing soon after could still show it, and look like a stray.
      this.holds.set(buildId, now + this.scheduler.cleanupIntervalMs);
      if (recorded) this.store.recordBuildGone(buildId, now);
    });
  }

  private submitUpload(uploadId: string): void {
    const upload = this.store.upload(uploadId);
    if (!upload) return;
    const provider = this.config.providers.find((p) => p.name === upload.provider);
    const timeout = (provider?.uploadTimeoutMs ?? 3_600_000) + this.scheduler.jobTimeoutMarginMs;
    const data = uploadRequest({ provider: upload.provider, imageName: upload.externalName, uploadId, systemId: this.systemId, externalId: upload.externalId });
    this.launch(uploadId, 'upload', uploadFunction(upload.buildId), data, timeout, (outcome, now) => {
      if (outcome.kind === 'lost') return this.hold(uploadId, outcome, now);
      if (outcome.kind === 'failed') {
        // A rerun of a job whose first run died with its builder (gearman hands it out again):
        // the image id it carries is spent, and the provider did nothing wrong (D3).
        const spentId = outcome.reason.startsWith(EXTERNAL_ID_TAKEN);
        this.store.recordUploadFailed(uploadId, outcome.reason, now, spentId ? undefined : this.policy);
        return;
      }
      let externalId: string;
      try {
        externalId = parseUploadResult(outcome.data);
      } catch (err) {
        this.store.recordUploadFailed(uploadId, oneLine(err), now, this.policy);
        return;
      }
      this.store.recordUploadReady(uploadId, externalId, now);
    });
  }

  private submitImageDelete(key: string, provider: string, externalId: string, recorded: boolean): void {
    this.launch(key, 'image-delete', deleteImageFunction(provider), deleteImageRequest(externalId), this.scheduler.cloudJobTimeoutMs, (outcome, now) => {
      if (outcome.kind !== 'complete') return this.hold(key, outcome, now);
      if (recorded) this.store.recordUploadGone(key, now);
    });
  }

  private hold(id: string, outcome: Exclude<JobOutcome, { kind: 'complete' }>, now: number): void {
    this.logger.warn(`scheduler: job for ${id} ${outcome.kind}: ${outcome.reason}; tried again after cleanup-interval`);
    this.holds.set(id, now + this.scheduler.cleanupIntervalMs);
  }

  /** Submits a job; its end is recorded (unless the runner stopped) and asks for a pass. */
  private launch(id: string, kind: JobKind, functionName: string, data: string, timeoutMs: number, recordOutcome: (outcome: JobOutcome, now: number) => void): JobStart | undefined {
    if (this.running.has(id)) return undefined;
    const start: JobStart = { id, kind, functionName, startedAt: this.clock.now() };
    emit(this.events, 'jobStarted', start);
    const onProgress = (numerator: number, denominator: number) => emit(this.events, 'jobProgress', { id, kind, numerator, denominator, at: this.clock.now() });
    const waitedFor = () => this.running.get(id)?.start === start;
    const done = this.jobs
      .run(functionName, data, id, timeoutMs, onProgress)
      .then((outcome) => {
        if (this.stopped || !waitedFor()) return;
        // A failed build's log tail is kept with its record (the dashboard shows it), not logged again.
        this.logger.info(`scheduler: ${functionName} (${id}) ${outcome.kind}${outcome.kind === 'complete' ? '' : `: ${parseFailureText(outcome.reason).reason}`}`);
        const endedAt = this.clock.now();
        try {
          recordOutcome(outcome, endedAt);
        } catch (err) {
          this.logger.warn(`scheduler: the result of ${functionName} (${id}) not recorded: ${oneLine(err)}`);
        }
        // After the record: an observer reading the state sees the job's result.
        emit(this.events, 'jobEnded', { ...start, outcome, endedAt });
      })
      .finally(() => {
        if (!waitedFor()) return;
        this.running.delete(id);
        this.builderListings.forgetJob(id);
        void this.kick();
      });
    this.running.set(id, { done, start });
    return start;
  }

  /**
   * Stops waiting for a job whose record was settled without it (an upload given up): its
   * outcome, whenever gearman delivers it, is not recorded, and idle() no longer waits for it.
   */
  private stopWaiting(id: string, now: number, reason: string): void {
    const job = this.running.get(id);
    if (!job) return;
    this.running.delete(id);
    this.builderListings.forgetJob(id);
    emit(this.events, 'jobEnded', { ...job.start, outcome: { kind: 'lost', reason }, endedAt: now });
  }
}

function describe(action: Action): string {
  const { kind, ...rest } = action;
  return `${kind} ${Object.entries(rest)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
    .join(' ')}`;
}
