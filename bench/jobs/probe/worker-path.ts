/**
 * The worker's per-job CPU path in memory: a JOB_ASSIGN_UNIQ chunk in, WORK_COMPLETE + GRAB
 * out, one job at a time (one GRAB outstanding, as on one connection). Variants: our Worker,
 * our Worker with the sync-settle patch, and the raw worker's logic.
 */
import { Buffer } from 'node:buffer';
import { encodePacketBuffer } from '../../../src/protocol/codec/encoder.ts';
import { Type } from '../../../src/protocol/codec/packets.ts';
import type { WorkerLink } from '../../../src/protocol/worker/worker-link.ts';
import { Worker } from '../../../src/protocol/worker/worker.ts';
import { payload } from '../payload.ts';
import { rawWorkerSession } from '../peers/raw-worker-core.ts';
import { installSyncSettle } from '../prototypes/sync-settle.ts';
import { attach } from './fake-line.ts';

export const WORKER_VARIANTS = ['ours', 'ours+sync-settle', 'raw'] as const;
export type WorkerVariant = (typeof WORKER_VARIANTS)[number];

const FN = 'probe-echo';
/** Distinct assignments cycled through (handles like gearmand's, uuid-length uniques). */
const MIX = 1024;

const assignments = Array.from({ length: MIX }, (_, i) =>
  Buffer.from(encodePacketBuffer('RES', Type.JOB_ASSIGN_UNIQ, [`H:probe:${i + 1}`, FN, `0f8fad5b-d9cb-469f-a165-${String(i).padStart(12, '0')}`, payload(1, i)])),
);

/** A step: hand over one job; resolves once the worker has written its answer. */
type Step = (i: number) => Promise<void>;

/** Bytes of WORK_COMPLETE + GRAB_JOB_UNIQ for each assignment: what every variant must write per job. */
const answerSizes = Array.from({ length: MIX }, (_, i) => 12 + `H:probe:${i + 1}`.length + 1 + payload(1, i).length + 12);
const answerBytes = (i: number): number => answerSizes[i % MIX]!;

async function oursStep(): Promise<Step> {
  const worker = new Worker({ servers: [{ host: 'probe', port: 1 }], slots: { echo: 16 } });
  worker.register(FN, (job) => job.payload);
  const link = (worker as unknown as { classes: Map<string, { links: WorkerLink[] }> }).classes.get('echo')!.links[0]!;
  let bytes = 0;
  const line = attach(link.connection, (chunk) => (bytes += chunk.length));
  while (line.writes === 0) await null; // CAN_DO and the first GRAB
  // The first job tops the connection up to its cap of GRABs in flight (one more per job after).
  const primed = bytes;
  line.push(assignments[MIX - 1]!);
  while (bytes === primed) await null;
  return async (i) => {
    const before = bytes;
    line.push(assignments[i % MIX]!);
    while (bytes === before) await null;
    if (bytes - before !== answerBytes(i)) throw new Error(`ours wrote ${bytes - before} bytes for job ${i}`);
  };
}

function rawStep(): Step {
  let bytes = 0;
  const session = rawWorkerSession(FN, (chunk) => (bytes += chunk.length), { jobs: 0 });
  return async (i) => {
    const before = bytes;
    session.onData(assignments[i % MIX]!);
    while (bytes === before) await null;
    if (bytes - before !== answerBytes(i)) throw new Error(`raw wrote ${bytes - before} bytes for job ${i}`);
  };
}

export async function workerStep(variant: WorkerVariant): Promise<Step> {
  if (variant === 'raw') return rawStep();
  if (variant === 'ours+sync-settle') installSyncSettle();
  return oursStep();
}
