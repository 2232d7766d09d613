import { readFileSync } from 'node:fs';

const DEFAULT_MAX_CONNECTIONS = 10_000;

/** This process's soft limit on open files, from Linux's /proc; undefined where it cannot be read. */
export function openFileLimit(limitsText: string | undefined = readLimits()): number | undefined {
  const match = /^Max open files\s+(\d+|unlimited)\s/m.exec(limitsText ?? '');
  if (!match) return undefined;
  return match[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(match[1]);
}

/**
 * 10,000 connections, or fewer when descriptors would run out first. Past the descriptor limit,
 * accept() fails and new clients wait in the kernel's backlog for as long as an attacker holds
 * the rest; under the limit the server refuses the excess at once and keeps a reserve for its
 * own files, listeners and outgoing connections.
 */
export function defaultMaxConnections(limit: number | undefined = openFileLimit()): number {
  if (limit === undefined || limit === Number.POSITIVE_INFINITY) return DEFAULT_MAX_CONNECTIONS;
  const reserve = Math.max(32, Math.floor(limit / 10));
  return Math.max(1, Math.min(DEFAULT_MAX_CONNECTIONS, limit - reserve));
}

function readLimits(): string | undefined {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
}
