import { hostname } from 'node:os';
import { DEFAULT_MAX_PACKET_SIZE } from '../codec/packets.ts';
import { type Logger, silentLogger } from '../../util/log.ts';
import type { AccessRules } from './acl/rules.ts';
import { defaultMaxConnections } from './descriptor-limit.ts';

export interface TlsListenOptions {
  /** PEM certificate chain and key of the server. */
  readonly cert: string | Uint8Array;
  readonly key: string | Uint8Array;
  /**
   * PEM CA bundle that client certificates must chain to; the only roots trusted for them. With
   * it, clients are asked for a certificate: one that is shown must verify (or the handshake is
   * refused), and its CN is what access rules match.
   */
  readonly ca?: string | Uint8Array;
  /** Refuse clients without a certificate from `ca` (which is then required: public roots never let a client in). */
  readonly requireClientCert?: boolean;
}

export interface ListenOptions {
  /** Address to bind; 127.0.0.1 by default. */
  readonly host?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** Serve TLS on this listener instead of plain TCP. */
  readonly tls?: TlsListenOptions;
}

export interface GearmanServerOptions extends ListenOptions {
  /** Largest packet body accepted, checked from the header before buffering. Default 64 MiB. */
  readonly maxPacketSize?: number;
  /** Longest admin text line. Default 64 KiB. */
  readonly maxLineLength?: number;
  /** A connection whose unsent output grows past this is dropped (a peer that never reads). Default 128 MiB. */
  readonly maxOutboundBytes?: number;
  /** A packet or line that has started must be complete within this time (slowloris). Default 30 s. */
  readonly partialPacketTimeoutMs?: number;
  /** A TLS connection must finish its handshake within this time, or it is closed. Default 30 s. */
  readonly handshakeTimeoutMs?: number;
  /** Jobs held at once; beyond it SUBMITs get ERROR QUEUE_ERROR, as with gearmand's maxqueue. Default 1,000,000; 0 unlimited. */
  readonly maxQueuedJobs?: number;
  /** Payload bytes held at once for jobs. Default 1 GiB; 0 unlimited. */
  readonly maxQueuedBytes?: number;
  /** Connections at once, TLS handshakes in progress included; more are closed on accept. Default 10,000, less under a low open-files limit (descriptor-limit.ts). */
  readonly maxConnections?: number;
  /** Fail a job (WORK_FAIL to its clients) once its worker was lost this many times; 0 (default) retries forever, as gearmand. */
  readonly jobRetries?: number;
  /** Host part of job handles "H:<host>:<n>". Default os.hostname(). */
  readonly handleHost?: string;
  /** A worker sent NOOP that does not grab within this time is passed over. Default 1 s. */
  readonly wakeTimeoutMs?: number;
  /** Who may register, submit and run admin commands, by client certificate CN (see acl/parse.ts). Default: no rules, all allowed. */
  readonly acl?: AccessRules;
  readonly logger?: Logger;
}

export interface ResolvedOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: TlsListenOptions | undefined;
  readonly maxPacketSize: number;
  readonly maxLineLength: number;
  readonly maxOutboundBytes: number;
  readonly partialPacketTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly maxQueuedJobs: number;
  readonly maxQueuedBytes: number;
  readonly maxConnections: number;
  readonly jobRetries: number;
  readonly handlePrefix: string;
  readonly wakeTimeoutMs: number;
  readonly logger: Logger;
}

/** Longest host that keeps "H:<host>:<4294967295>" within gearmand's 64-byte handle. */
const MAX_HANDLE_HOST = 64 - 'H:'.length - ':4294967295'.length;

function count(value: number | undefined, fallback: number, name: string, min = 0): number {
  const n = value ?? fallback;
  if (!Number.isSafeInteger(n) || n < min) throw new TypeError(`${name} must be an integer >= ${min}, got ${n}`);
  return n;
}

export function resolveOptions(options: GearmanServerOptions): ResolvedOptions {
  const host = (options.handleHost ?? hostname()).replace(/[\s\0:]+/g, '-').slice(0, MAX_HANDLE_HOST) || 'localhost';
  const maxPacketSize = count(options.maxPacketSize, DEFAULT_MAX_PACKET_SIZE, 'maxPacketSize', 1);
  return {
    host: options.host ?? '127.0.0.1',
    port: count(options.port, 0, 'port'),
    tls: options.tls,
    maxPacketSize,
    maxLineLength: count(options.maxLineLength, 64 * 1024, 'maxLineLength', 1),
    maxOutboundBytes: count(options.maxOutboundBytes, Math.max(128 * 1024 * 1024, 2 * maxPacketSize), 'maxOutboundBytes', 1),
    partialPacketTimeoutMs: count(options.partialPacketTimeoutMs, 30_000, 'partialPacketTimeoutMs', 1),
    handshakeTimeoutMs: count(options.handshakeTimeoutMs, 30_000, 'handshakeTimeoutMs', 1),
    maxQueuedJobs: count(options.maxQueuedJobs, 1_000_000, 'maxQueuedJobs'),
    maxQueuedBytes: count(options.maxQueuedBytes, 1024 * 1024 * 1024, 'maxQueuedBytes'),
    maxConnections: count(options.maxConnections, defaultMaxConnections(), 'maxConnections', 1),
    jobRetries: count(options.jobRetries, 0, 'jobRetries'),
    handlePrefix: `H:${host}`,
    wakeTimeoutMs: count(options.wakeTimeoutMs, 1000, 'wakeTimeoutMs', 1),
    logger: options.logger ?? silentLogger,
  };
}
