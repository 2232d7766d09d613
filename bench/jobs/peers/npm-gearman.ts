/** The slice of the npm `gearman` package (2.x, CommonJS, untyped) the bench uses. */
import type { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';

export interface AssignedJob {
  readonly handle: string;
  readonly func_name: string;
  readonly payload: Buffer;
}

export interface GearmanConnection {
  connect(callback: () => void): void;
  close(): void;
  on(event: 'JOB_CREATED', listener: (handle: string) => void): void;
  on(event: 'WORK_COMPLETE', listener: (job: { handle: string; payload: Buffer }) => void): void;
  on(event: 'WORK_FAIL', listener: (job: { handle: string }) => void): void;
  on(event: 'JOB_ASSIGN', listener: (job: AssignedJob) => void): void;
  on(event: 'NOOP' | 'NO_JOB', listener: () => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  on(event: 'ERROR', listener: (code: string, text: string) => void): void;
  submitJob(name: string, data: Buffer): void;
  addFunction(name: string): void;
  preSleep(): void;
  grabJob(): void;
  sendWorkComplete(handle: string, data: Buffer): void;
}

const require = createRequire(import.meta.url);
export const gearman = require('gearman') as (host: string, port: number, options?: object) => GearmanConnection;
