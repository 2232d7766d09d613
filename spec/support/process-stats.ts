import { readFileSync, readdirSync } from 'node:fs';

/** Resident set size of a process in bytes, from /proc/<pid>/status (VmRSS). */
export function rss(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** Open file descriptors of a process, from /proc/<pid>/fd. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}
