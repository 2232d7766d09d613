/**
 * Investigation hooks, off by default: run one side's processes under a tool, or give its bun
 * extra flags. `%n` in either becomes a file-safe name of the process, e.g.
 *   BENCH_WORKER_WRAP="strace -f -c -o /tmp/st-%n.txt"
 *   BENCH_CLIENT_BUN_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof --cpu-prof-name=%n.cpuprofile"
 * CPU columns are meaningless under a wrapper (they then count the wrapper).
 */
import type { Command } from './children.ts';

export type Side = 'worker' | 'client';

let serial = 0;

const words = (name: string, label: string): string[] => {
  const raw = process.env[name]?.trim();
  if (!raw) return [];
  const tag = `${label.replace(/[^\w.-]+/g, '_')}-${process.pid}-${++serial}`;
  return raw.split(/\s+/).map((w) => w.replaceAll('%n', tag));
};

const envName = (side: Side, what: 'WRAP' | 'BUN_FLAGS'): string => `BENCH_${side.toUpperCase()}_${what}`;

/** The command, with the side's wrapper (if any) in front and its bun flags (for bun commands). */
export function wrapped(side: Side, command: Command, isBun: boolean): Command {
  const prefix = words(envName(side, 'WRAP'), command.label);
  const flags = isBun ? words(envName(side, 'BUN_FLAGS'), command.label) : [];
  const argv = [command.cmd, ...flags, ...command.args];
  const [cmd, ...args] = [...prefix, ...argv];
  return { cmd: cmd!, args, label: command.label };
}
