import { startEmbeddedServer } from './embedded-server.ts';
import { startGearmand } from './gearmand.ts';

/** A job server a test can kill and restart on the same port. */
export interface JobServer {
  readonly host: string;
  readonly port: number;
  kill(): Promise<void>;
  restart(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface JobServerKind {
  readonly name: string;
  start(): Promise<JobServer>;
}

/** Every e2e test of the worker and client runs against each of these servers. */
export const JOB_SERVERS: readonly JobServerKind[] = [
  { name: 'gearmand', start: startGearmand },
  { name: 'embedded', start: startEmbeddedServer },
];
