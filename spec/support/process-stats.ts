import { readFileSync, readdirSync } from 'node:fs';

/** A size field of /proc/<pid>/status (VmRSS, VmHWM, ...) in bytes. */
function statusBytes(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** Resident set size of a process in bytes (VmRSS). */
export const rss = (pid: number): number => statusBytes(pid, 'VmRSS');

/** The highest resident set size the process has had, in bytes (VmHWM). */
export const peakRss = (pid: number): number => statusBytes(pid, 'VmHWM');

/** Open file descriptors of a process, from /proc/<pid>/fd. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}
