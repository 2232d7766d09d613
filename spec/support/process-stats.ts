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

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

/**
 * CPU seconds (user + system) a process has used, from /proc/<pid>/stat. Unlike wall-clock
 * rates, it hardly moves when other processes compete for the cores.
 */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), from field 3 on: utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}
