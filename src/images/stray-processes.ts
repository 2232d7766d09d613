import { readFile, readdir } from 'node:fs/promises';

/**
 * Finds processes whose command line mentions `path` (a build's staging directory) and kills
 * their process groups. A builder that was SIGKILLed leaves its disk-image-create running in
 * its own group; without this it would keep writing into staging after the restart.
 * Linux only: elsewhere (no /proc) it finds nothing.
 */
export async function killStrayProcesses(path: string): Promise<number[]> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const killed: number[] = [];
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.split('\0').some((arg) => arg.includes(path))) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // Fields after the ")" that ends the command name: state, ppid, pgrp.
    const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    try {
      process.kill(pgrp > 1 ? -pgrp : pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // Gone already.
    }
  }
  return killed;
}
