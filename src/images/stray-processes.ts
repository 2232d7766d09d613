import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../util/log.ts';

/**
 * The process groups of builds, recorded beside their staging directories as
 * `.<id>.<pgid>.pgroup` (an image id never starts with a dot, so no build can claim the name).
 * A builder that was SIGKILLed leaves its build commands running in their own groups, still
 * writing into staging; the next start stops exactly those groups and nothing else.
 */
const RECORD = /^\.([A-Za-z0-9][A-Za-z0-9._-]{0,127})\.(\d+)\.pgroup$/;

interface GroupRecord {
  readonly pgid: number;
  /** The leader's start time (clock ticks after boot, /proc/<pid>/stat field 22). */
  readonly started: number;
  readonly bootId: string;
}

export interface ProcessFacts {
  readonly pgrp: number;
  readonly started: number;
}

/** pgrp and start time of a live process, from /proc (Linux only; undefined elsewhere or when gone). */
export function processFacts(pid: number): ProcessFacts | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the ")" that ends the command name: state is field 3, pgrp 5, starttime 22.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const pgrp = Number(fields[2]);
  const started = Number(fields[19]);
  return Number.isInteger(pgrp) && Number.isInteger(started) ? { pgrp, started } : undefined;
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * Records the process group a build command leads (it was spawned detached, so its pid is its
 * group's id); the returned function forgets it once the group is gone. Written synchronously:
 * the record must exist before the builder could die with the command running.
 */
export function recordProcessGroup(stagingDir: string, id: string, pgid: number): () => void {
  const facts = processFacts(pgid);
  if (!facts) return () => {};
  const path = join(stagingDir, `.${id}.${pgid}.pgroup`);
  const record: GroupRecord = { pgid, started: facts.started, bootId: bootId() };
  writeFileSync(path, JSON.stringify(record), { mode: 0o644 });
  return () => {
    try {
      unlinkSync(path);
    } catch {
      // Already gone (the staging directory was removed).
    }
  };
}

/** Staging entries that are process records, not builds. */
export function isProcessRecord(name: string): boolean {
  return RECORD.test(name);
}

/**
 * Stops the process groups recorded in `stagingDir` by builds of an earlier life of this
 * builder, and removes the records. A group is killed only if it is still the one recorded
 * (same boot, and its leader has the recorded start time, or, the leader gone, its members all
 * started after it); never this process's own group. Every kill is logged.
 */
export async function stopRecordedBuilds(stagingDir: string, logger: Logger): Promise<number[]> {
  const names = (await readdir(stagingDir).catch(() => [] as string[])).filter(isProcessRecord);
  if (names.length === 0) return [];
  const own = processFacts(process.pid)?.pgrp;
  const boot = bootId();
  const killed: number[] = [];
  for (const name of names) {
    const path = join(stagingDir, name);
    const id = RECORD.exec(name)![1]!;
    const record = parseRecord(await readFile(path, 'utf8').catch(() => ''));
    if (record && record.bootId === boot && record.pgid > 1 && record.pgid !== own && record.pgid !== process.pid) {
      const members = await groupMembers(record.pgid);
      const leader = processFacts(record.pgid);
      const ours = leader ? leader.pgrp === record.pgid && leader.started === record.started : members.every((m) => m.started >= record.started);
      if (ours && members.length > 0) {
        try {
          process.kill(-record.pgid, 'SIGKILL');
          killed.push(record.pgid);
          logger.warn(`killed process group ${record.pgid} (${members.length} process(es)) left running by the unfinished build ${id}`);
        } catch {
          // Gone meanwhile.
        }
      }
    }
    await rm(path, { force: true });
  }
  return killed;
}

function parseRecord(text: string): GroupRecord | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { pgid, started, bootId: boot } = value as Record<string, unknown>;
    if (!Number.isInteger(pgid) || !Number.isInteger(started) || typeof boot !== 'string') return undefined;
    return { pgid: pgid as number, started: started as number, bootId: boot };
  } catch {
    return undefined;
  }
}

/** Live processes in process group `pgid`, with their start times. */
async function groupMembers(pgid: number): Promise<Array<{ pid: number; started: number }>> {
  const members: Array<{ pid: number; started: number }> = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const facts = processFacts(pid);
    if (facts?.pgrp === pgid) members.push({ pid, started: facts.started });
  }
  return members;
}
