import { Counter, Histogram, type Registry } from 'prom-client';
import type { JobEnd, PassEnd, RunnerEvents } from '../scheduler/runner-events.ts';
import type { StateStore } from '../scheduler/state-store.ts';
import { UPLOAD_SECONDS_BUCKETS } from './buckets.ts';

/** How a build or upload job ended, as the metrics label it. */
export type JobResult = 'success' | 'failure' | 'lost';

/** What a build or upload job was about, read from its record once its result is recorded. */
export interface FinishedJob {
  readonly kind: 'build' | 'upload';
  readonly image: string;
  /** Uploads only. */
  readonly provider: string | undefined;
  readonly result: JobResult;
  readonly seconds: number;
}

/**
 * A build's or upload's end, with its record's labels: success when the record became ready,
 * lost when the job gave no result, failure otherwise (WORK_FAIL, or a result that could not be
 * recorded). Undefined for other jobs and for records no longer in the file.
 */
export function finishedJob(store: StateStore, job: JobEnd): FinishedJob | undefined {
  const seconds = Math.max(0, (job.endedAt - job.startedAt) / 1000);
  if (job.kind === 'build') {
    const build = store.build(job.id);
    if (!build) return undefined;
    return { kind: 'build', image: build.diskimage, provider: undefined, result: resultOf(job, build.state === 'ready'), seconds };
  }
  if (job.kind === 'upload') {
    const upload = store.upload(job.id);
    if (!upload) return undefined;
    const image = store.build(upload.buildId)?.diskimage ?? '';
    return { kind: 'upload', image, provider: upload.provider, result: resultOf(job, upload.state === 'ready'), seconds };
  }
  return undefined;
}

function resultOf(job: JobEnd, ready: boolean): JobResult {
  if (job.outcome.kind === 'lost') return 'lost';
  return job.outcome.kind === 'complete' && ready ? 'success' : 'failure';
}

/**
 * Counters and the upload histogram fed by the runner's events: builds and uploads finished by
 * result, upload durations, passes, and leaked images deleted (a 'delete-leak' decision whose
 * image-delete job completed).
 */
export function registerSchedulerJobMetrics(registry: Registry, store: StateStore): RunnerEvents {
  const builds = new Counter({
    name: 'nodepool_scheduler_builds_finished_total',
    help: 'Build jobs the scheduler submitted that ended, by image and result (success, failure, lost: no result came back).',
    labelNames: ['image', 'result'] as const,
    registers: [registry],
  });
  const uploads = new Counter({
    name: 'nodepool_scheduler_uploads_finished_total',
    help: 'Upload jobs the scheduler submitted that ended, by image, provider and result (success, failure, lost: no result came back).',
    labelNames: ['image', 'provider', 'result'] as const,
    registers: [registry],
  });
  const uploadSeconds = new Histogram({
    name: 'nodepool_scheduler_upload_duration_seconds',
    help: 'Seconds from submitting an upload job to its successful result, by provider.',
    labelNames: ['provider'] as const,
    buckets: UPLOAD_SECONDS_BUCKETS,
    registers: [registry],
  });
  const passes = new Counter({
    name: 'nodepool_scheduler_passes_total',
    help: 'Reconciliation passes the scheduler completed (each lists the fleet and the clouds, then plans).',
    registers: [registry],
  });
  const leaks = new Counter({
    name: 'nodepool_scheduler_leaked_images_deleted_total',
    help: 'Images tagged by this system but unknown to the state file (leaks) that the scheduler deleted from the cloud, by provider.',
    labelNames: ['provider'] as const,
    registers: [registry],
  });
  // Leaks whose delete job runs: the job's id is the image's external id.
  const leaksDeleting = new Map<string, string>();

  return {
    passEnded(pass: PassEnd): void {
      passes.inc();
      for (const action of pass.actions) if (action.kind === 'delete-leak') leaksDeleting.set(action.externalId, action.provider);
    },
    jobEnded(job: JobEnd): void {
      if (job.kind === 'image-delete') {
        const provider = leaksDeleting.get(job.id);
        if (provider === undefined) return;
        leaksDeleting.delete(job.id);
        if (job.outcome.kind === 'complete') leaks.inc({ provider });
        return;
      }
      const finished = finishedJob(store, job);
      if (!finished) return;
      if (finished.kind === 'build') {
        builds.inc({ image: finished.image, result: finished.result });
        return;
      }
      const provider = finished.provider ?? '';
      uploads.inc({ image: finished.image, provider, result: finished.result });
      if (finished.result === 'success') uploadSeconds.observe({ provider }, finished.seconds);
    },
  };
}
