import { spawn } from 'node:child_process';
import { JobFailure } from '../../errors/job-failure.ts';

/** How qemu-img writes each upload format. */
export interface QemuTarget {
  readonly format: string;
  readonly options: readonly string[];
}

/**
 * vhd is qemu's "vpc". Its default dynamic subformat starts with the footer copy ("conectix")
 * that Glance's format inspector reads; force_size keeps the virtual size exact instead of
 * rounding it to a CHS geometry (nodepool did the same). A fixed VHD has its footer only at
 * the end, which Glance's inspector cannot see.
 */
export const QEMU_TARGETS: Readonly<Record<string, QemuTarget>> = {
  qcow2: { format: 'qcow2', options: [] },
  raw: { format: 'raw', options: [] },
  vhd: { format: 'vpc', options: ['-o', 'force_size=on'] },
  vhdx: { format: 'vhdx', options: [] },
  vmdk: { format: 'vmdk', options: [] },
};

export interface ConvertRequest {
  readonly qemuImg: string;
  readonly input: string;
  readonly inputFormat: string;
  readonly output: string;
  readonly target: QemuTarget;
  readonly signal: AbortSignal;
}

const KILL_GRACE_MS = 5_000;

/**
 * Runs `qemu-img convert` in its own process group. When the signal aborts, the group gets
 * SIGTERM (then SIGKILL) and the promise rejects with the signal's reason once it has exited;
 * the caller removes the half-written output.
 */
export function qemuImgConvert(request: ConvertRequest): Promise<void> {
  const { input, output, target, signal } = request;
  if (signal.aborted) return Promise.reject(signal.reason);
  const args = ['convert', '-f', request.inputFormat, '-O', target.format, ...target.options, input, output];
  return new Promise((resolve, reject) => {
    const child = spawn(request.qemuImg, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2_000);
    });
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const kill = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        // already gone
      }
    };
    const onAbort = () => {
      kill('SIGTERM');
      killTimer = setTimeout(() => kill('SIGKILL'), KILL_GRACE_MS);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    child.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(new JobFailure('CONVERT_FAILED', `cannot run ${request.qemuImg}: ${err.message}`, { cause: err }));
    });
    child.once('close', (code, sig) => {
      signal.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      if (signal.aborted) reject(signal.reason);
      else if (code === 0) resolve();
      else {
        const reason = stderr.trim().split('\n').pop() ?? '';
        const how = code === null ? `killed by ${sig}` : `exit ${code}`;
        reject(new JobFailure('CONVERT_FAILED', `qemu-img convert ${input} to ${target.format} failed (${how})${reason ? `: ${reason}` : ''}`));
      }
    });
  });
}
