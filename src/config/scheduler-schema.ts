import type { TableReader } from './table-reader.ts';
import { formatDuration } from './units.ts';

/** Where the scheduler's HTTP API listens. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** The `[scheduler]` table: read by every host, used only by `nodepool-builder scheduler`. */
export interface SchedulerConfig {
  readonly stateFile: string;
  readonly listen: ListenAddress;
  /** Bearer token for the API's writes; without it every write is refused. */
  readonly apiTokenFile: string | undefined;
  /** How often provider listings and the job servers' status are reconciled (nodepool: 60 s). */
  readonly cleanupIntervalMs: number;
  /** Ready builds kept per diskimage (nodepool: 2). */
  readonly keepBuilds: number;
  /** Ready uploads kept per (diskimage, provider) (nodepool: 2). */
  readonly keepUploads: number;
  /** Tags this system's images in the clouds; unset: an id made once and kept in the state file. */
  readonly systemId: string | undefined;
  /** Passes in a row an unknown tagged image must be seen in before it is deleted (Zuul: 2). */
  readonly leakPasses: number;
  /** The first wait after a failure of a (diskimage, provider); doubled on each failure in a row. */
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
  /** How long a ready build's image-upload:<id> may be absent from every job server before it is missing. */
  readonly missingBuildGraceMs: number;
  /** How long a provider listing or delete, a builder listing or an image-delete may take before it is counted lost. */
  readonly cloudJobTimeoutMs: number;
  /** Added to a build's build-timeout and an upload's upload-timeout (the builder's own, which fires first) for the queue and the way back. */
  readonly jobTimeoutMarginMs: number;
  /** Gone and superseded failed records older than this are dropped from the state file. */
  readonly historyRetentionMs: number;
}

/** What the scheduler needs from the schema's path rules (relative to the file, no "~"). */
export interface PathKeys {
  required(reader: TableReader, key: string, fallback: string): string;
  optional(reader: TableReader, key: string): string | undefined;
}

const DAY_MS = 86_400_000;

export const DEFAULT_LISTEN: ListenAddress = { host: '127.0.0.1', port: 8005 };

/** A Glance property value and a statsd-safe word: short, no spaces, no separators. */
const SYSTEM_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** "host:port", or "[v6]:port"; the port is required (an API on a guessed port is no help). */
const LISTEN = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]/]+)):(\d{1,5})$/;

/** A `listen` key: "host:port" or "[v6]:port", the fallback's when absent, or required. */
export function readListen(reader: TableReader, fallback: ListenAddress | 'required' = DEFAULT_LISTEN): ListenAddress {
  const text =
    fallback === 'required'
      ? reader.string('listen', undefined, undefined, '"host:port" or "[v6-address]:port" (required)')
      : reader.string('listen', `${fallback.host}:${fallback.port}`);
  const match = LISTEN.exec(text);
  const port = Number(match?.[3]);
  const host = match?.[1] ?? match?.[2];
  if (!host || !(port >= 1 && port <= 65535)) throw reader.error('listen', '"host:port" or "[v6-address]:port", port 1 to 65535', text);
  return { host, port };
}

export function readScheduler(reader: TableReader, paths: PathKeys): SchedulerConfig {
  const backoffBaseMs = reader.duration('backoff-base', 60_000);
  const backoffCapMs = reader.duration('backoff-cap', 3_600_000);
  if (backoffCapMs < backoffBaseMs) throw reader.error('backoff-cap', `a duration at least as long as backoff-base (${formatDuration(backoffBaseMs)})`, formatDuration(backoffCapMs));
  return {
    stateFile: paths.required(reader, 'state-file', '/var/lib/nodepool-builder/scheduler.sqlite'),
    listen: readListen(reader),
    apiTokenFile: paths.optional(reader, 'api-token-file'),
    cleanupIntervalMs: reader.duration('cleanup-interval', 60_000),
    keepBuilds: reader.integer('keep-builds', 2, 1, 1000),
    keepUploads: reader.integer('keep-uploads', 2, 1, 1000),
    systemId: reader.optionalString('system-id', SYSTEM_ID, 'an id of letters, digits, ".", "_" and "-" (at most 64, starting with a letter or digit)'),
    leakPasses: reader.integer('leak-passes', 2, 1, 100),
    backoffBaseMs,
    backoffCapMs,
    missingBuildGraceMs: reader.duration('missing-build-grace', 600_000),
    cloudJobTimeoutMs: reader.duration('cloud-job-timeout', 600_000),
    jobTimeoutMarginMs: reader.duration('job-timeout-margin', 600_000),
    // Compared with record ages only, never put in a timer: longer than a timer may hold.
    historyRetentionMs: reader.duration('history-retention', 7 * DAY_MS, { ms: 3_650 * DAY_MS, why: 'ten years' }),
  };
}
