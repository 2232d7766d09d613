/** CPU time used by processes (user + system), from /proc; 0 when unknown. */
import { readFileSync, readdirSync } from 'node:fs';

/** Linux reports utime/stime in clock ticks; USER_HZ is 100 on every mainstream kernel. */
const TICK_MS = 10;

interface Stat {
  readonly name: string;
  readonly userMs: number;
  readonly sysMs: number;
  readonly ms: number;
}

function readStat(path: string): Stat | undefined {
  try {
    const stat = readFileSync(path, 'latin1');
    const close = stat.lastIndexOf(')');
    // Fields after the ")" that closes the name: state is field 3, utime 14, stime 15.
    const fields = stat.slice(close + 2).split(' ');
    const userMs = Number(fields[11]) * TICK_MS;
    const sysMs = Number(fields[12]) * TICK_MS;
    return { name: stat.slice(stat.indexOf('(') + 1, close), userMs, sysMs, ms: userMs + sysMs };
  } catch {
    return undefined;
  }
}

/** All threads of the process together. */
export function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  return readStat(`/proc/${pid}/stat`)?.ms ?? 0;
}

/**
 * Per thread name (threads of one name summed): where a runtime spends its CPU. The main
 * thread is split into "main user" and "main sys" (kernel time: syscalls, page faults).
 */
export function threadCpuMs(pid: number | undefined): Map<string, number> {
  const byName = new Map<string, number>();
  if (pid === undefined) return byName;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byName;
  }
  for (const tid of tids) {
    const stat = readStat(`/proc/${pid}/task/${tid}/stat`);
    if (!stat) continue;
    if (tid === String(pid)) {
      byName.set('main user', stat.userMs);
      byName.set('main sys', stat.sysMs);
      continue;
    }
    byName.set(stat.name, (byName.get(stat.name) ?? 0) + stat.ms);
  }
  return byName;
}

/** after − before, per thread name, summed over processes. */
export function threadDelta(before: readonly Map<string, number>[], after: readonly Map<string, number>[]): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [maps, sign] of [[after, 1], [before, -1]] as const) {
    for (const map of maps) for (const [name, ms] of map) delta.set(name, (delta.get(name) ?? 0) + sign * ms);
  }
  return delta;
}
