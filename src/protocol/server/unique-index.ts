/**
 * Coalescing on the unique id, as gearmand does it: a submission with the function and unique
 * of a job that is queued or running joins that job. An empty unique never coalesces; the
 * unique "-" coalesces on the job's data instead.
 */
import { Buffer } from 'node:buffer';
import type { FunctionEntry, Job } from './job.ts';

/** FNV-1a, to bucket jobs whose unique is "-" by their data. */
function fnv1a(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash >>> 0;
}

export class UniqueIndex {
  private readonly byKey = new Map<string, Job>();
  /** Jobs whose unique is "-": key "function\0hash", compared byte by byte. */
  private readonly byData = new Map<string, Job[]>();
  /** For GET_STATUS_UNIQUE, which names no function. */
  private readonly byUnique = new Map<string, Job[]>();

  /** The coalescing key of a submission, or undefined when it never coalesces. */
  keyOf(fn: FunctionEntry, unique: string, payload: Uint8Array): string | undefined {
    if (unique === '') return undefined;
    if (unique === '-') return payload.length === 0 ? undefined : `${fn.name}\0${fnv1a(payload)}`;
    return `${fn.name}\0${unique}`;
  }

  find(key: string, payload: Uint8Array): Job | undefined {
    const named = this.byKey.get(key);
    if (named !== undefined) return named;
    return this.byData.get(key)?.find((job) => Buffer.compare(job.payload, payload) === 0);
  }

  /** The first job with this unique, whatever its function. */
  findByUnique(unique: string): Job | undefined {
    return this.byUnique.get(unique)?.[0];
  }

  add(job: Job): void {
    if (job.key !== undefined) {
      if (job.unique === '-') push(this.byData, job.key, job);
      else this.byKey.set(job.key, job);
    }
    // gearmand keys a "-" job by its data, so GET_STATUS_UNIQUE "-" finds none.
    if (job.unique !== '' && job.unique !== '-') push(this.byUnique, job.unique, job);
  }

  /** Safe to call for a job already removed. */
  remove(job: Job): void {
    if (job.key !== undefined) {
      if (this.byKey.get(job.key) === job) this.byKey.delete(job.key);
      removeFrom(this.byData, job.key, job);
    }
    removeFrom(this.byUnique, job.unique, job);
  }
}

function push(map: Map<string, Job[]>, key: string, job: Job): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [job]);
  else list.push(job);
}

function removeFrom(map: Map<string, Job[]>, key: string, job: Job): void {
  const list = map.get(key);
  if (list === undefined) return;
  const at = list.indexOf(job);
  if (at < 0) return;
  if (list.length === 1) map.delete(key);
  else list.splice(at, 1);
}
