/**
 * The scheduler runner's ports on gearman: jobs go through one Client over every job server;
 * the fleet is read from each server's admin `workers` listing.
 */
import { oneLine } from '../errors/thrown.ts';
import { AdminClient } from '../protocol/client/admin-client.ts';
import type { Client } from '../protocol/client/client.ts';
import { ClientError, JobExceptionError, JobFailedError } from '../protocol/client/client-errors.ts';
import { utf8 } from '../protocol/codec/text.ts';
import { type ServerAddress, describeServer } from '../protocol/transport/connect-address.ts';
import type { FleetListings, FleetPort, JobOutcome, JobPort } from '../scheduler/runner-ports.ts';

const ADMIN_TIMEOUT_MS = 10_000;

/** Errors after which the job ran and failed; any other leaves it unknown (lost). */
function failureOf(err: unknown): JobOutcome {
  if (err instanceof JobFailedError) return { kind: 'failed', reason: err.reason ?? 'the job failed (WORK_FAIL, no reason given)' };
  if (err instanceof JobExceptionError) return { kind: 'failed', reason: err.detail };
  // The server refuses the job itself (access rules, an ERROR packet): submitting it again will not help soon.
  if (err instanceof ClientError && (err.code === 'ACCESS_DENIED' || err.code === 'SERVER_ERROR')) return { kind: 'failed', reason: err.message };
  return { kind: 'lost', reason: oneLine(err) };
}

export function gearmanJobs(client: Client): JobPort {
  return {
    run: (functionName, data, unique, timeoutMs, onProgress) =>
      client.submit(functionName, data, { unique, timeoutMs, ...(onProgress && { onStatus: onProgress }) }).then(
        (result): JobOutcome => ({ kind: 'complete', data: utf8(result.data) }),
        failureOf,
      ),
  };
}

export interface GearmanFleet extends FleetPort {
  close(): void;
}

export function gearmanFleet(servers: readonly ServerAddress[]): GearmanFleet {
  const admins = servers.map((server) => new AdminClient(server, { connectTimeoutMs: ADMIN_TIMEOUT_MS, replyTimeoutMs: ADMIN_TIMEOUT_MS }));
  return {
    async workers(): Promise<FleetListings> {
      const replies = await Promise.allSettled(admins.map((admin) => admin.workers()));
      const listings = replies.flatMap((reply) => (reply.status === 'fulfilled' ? [reply.value.map(({ clientId, functions }) => ({ clientId, functions }))] : []));
      const failures = replies.flatMap((reply, i) => (reply.status === 'rejected' ? [`${describeServer(servers[i]!)}: ${oneLine(reply.reason)}`] : []));
      return { listings, failures };
    },
    close(): void {
      for (const admin of admins) admin.close();
    },
  };
}
