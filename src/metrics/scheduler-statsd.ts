import type { StatsdConfig } from '../config/schema.ts';
import type { JobEnd, RunnerEvents } from '../scheduler/runner-events.ts';
import { BUILD_STATES, UPLOAD_STATES } from '../scheduler/state.ts';
import type { StateStore, StateTallies } from '../scheduler/state-store.ts';
import { finishedJob } from './scheduler-job-metrics.ts';
import { type StatsdSocket, statsdKeyPart as part, statsdSocket } from './statsd-socket.ts';

const BUILD_GAUGE_STATES = BUILD_STATES.filter((s) => s !== 'gone');
const UPLOAD_GAUGE_STATES = UPLOAD_STATES.filter((s) => s !== 'gone');

/**
 * The state gauges after a pass, in nodepool's pattern for nodes (`nodes.<state>`,
 * `provider.<p>.nodes.<state>`, `label.<l>.nodes.<state>`):
 *   <prefix>.builds.<state>                          every build
 *   <prefix>.image.<image>.builds.<state>
 *   <prefix>.uploads.<state>                         every upload
 *   <prefix>.provider.<provider>.uploads.<state>
 *   <prefix>.image.<image>.uploads.<state>
 * Every state but gone is sent, 0 included, for each image and provider with a record.
 */
export function stateGaugeLines(prefix: string, tallies: StateTallies): string[] {
  const sums = new Map<string, number>();
  const add = (key: string, n: number): void => void sums.set(key, (sums.get(key) ?? 0) + n);
  for (const state of BUILD_GAUGE_STATES) add(`${prefix}.builds.${state}`, 0);
  for (const state of UPLOAD_GAUGE_STATES) add(`${prefix}.uploads.${state}`, 0);
  for (const image of new Set(tallies.builds.map((r) => r.diskimage))) for (const state of BUILD_GAUGE_STATES) add(`${prefix}.image.${part(image)}.builds.${state}`, 0);
  for (const row of tallies.uploads) {
    for (const state of UPLOAD_GAUGE_STATES) {
      add(`${prefix}.provider.${part(row.provider)}.uploads.${state}`, 0);
      add(`${prefix}.image.${part(row.diskimage)}.uploads.${state}`, 0);
    }
  }
  for (const row of tallies.builds) {
    add(`${prefix}.builds.${row.state}`, row.count);
    add(`${prefix}.image.${part(row.diskimage)}.builds.${row.state}`, row.count);
  }
  for (const row of tallies.uploads) {
    add(`${prefix}.uploads.${row.state}`, row.count);
    add(`${prefix}.provider.${part(row.provider)}.uploads.${row.state}`, row.count);
    add(`${prefix}.image.${part(row.diskimage)}.uploads.${row.state}`, row.count);
  }
  return [...sums].map(([key, n]) => `${key}:${n}|g`);
}

/**
 * The scheduler's statsd, when its file has `[statsd]` (a function: it follows reloads):
 *   <prefix>.image_update.<image>.<provider>   timer, ms from submitting an upload to its success
 *   and the state gauges of stateGaugeLines after every pass.
 */
export function schedulerStatsd(store: StateStore, config: () => StatsdConfig | undefined): RunnerEvents & { close(): void } {
  let current: { config: StatsdConfig; socket: StatsdSocket } | undefined;
  const socketFor = (): { config: StatsdConfig; socket: StatsdSocket } | undefined => {
    const wanted = config();
    const same = current && wanted && current.config.host === wanted.host && current.config.port === wanted.port;
    if (!same) {
      current?.socket.close();
      current = wanted ? { config: wanted, socket: statsdSocket(wanted) } : undefined;
    } else if (current && wanted) current = { config: wanted, socket: current.socket };
    return current;
  };
  return {
    passEnded(): void {
      const target = socketFor();
      if (target) target.socket.send(stateGaugeLines(target.config.prefix, store.tallies()));
    },
    jobEnded(job: JobEnd): void {
      if (job.kind !== 'upload') return;
      const target = socketFor();
      if (!target) return;
      const finished = finishedJob(store, job);
      if (finished?.result !== 'success' || finished.provider === undefined) return;
      target.socket.send([`${target.config.prefix}.image_update.${part(finished.image)}.${part(finished.provider)}:${Math.round(finished.seconds * 1000)}|ms`]);
    },
    close(): void {
      current?.socket.close();
      current = undefined;
    },
  };
}
