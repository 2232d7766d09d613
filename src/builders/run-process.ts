import { spawn } from 'node:child_process';

export interface ProcessOptions {
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Each line of stdout and stderr, in order, without its newline. */
  readonly onLine: (line: string) => void;
  /** How long SIGTERM may take before SIGKILL. */
  readonly killGraceMs?: number;
  /** Called once the command runs, with its pid, which is also its process group's id. */
  readonly onSpawn?: (pid: number) => void;
}

export interface ProcessOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly aborted: boolean;
}

/**
 * Runs argv (never through a shell) in its own process group, so a timeout or an abort kills
 * everything it started: DIB's chroot helpers and qemu-img included, not just the top process.
 */
export function runProcess(argv: readonly string[], options: ProcessOptions): Promise<ProcessOutcome> {
  const [command, ...args] = argv;
  if (command === undefined) throw new TypeError('empty command');
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...options.env },
      ...(options.cwd ? { cwd: options.cwd } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    let timedOut = false;
    let aborted = false;
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const killGroup = (): void => {
      if (child.pid === undefined || child.exitCode !== null) return;
      signalGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), options.killGraceMs ?? 10_000);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, options.timeoutMs);
    const onAbort = (): void => {
      aborted = true;
      killGroup();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();

    const out = lineSplitter(options.onLine);
    const err = lineSplitter(options.onLine);
    child.stdout.on('data', out.push);
    child.stderr.on('data', err.push);
    child.once('error', (failure) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      reject(failure);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      out.flush();
      err.flush();
      // The leader is gone; make sure nothing it left in its group outlives it.
      if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
      resolve({ code, signal, timedOut, aborted });
    });
  });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

function lineSplitter(onLine: (line: string) => void): { push: (chunk: Buffer) => void; flush: () => void } {
  let partial = '';
  return {
    push: (chunk) => {
      const text = partial + chunk.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    },
    flush: () => {
      if (partial) onLine(partial);
      partial = '';
    },
  };
}
