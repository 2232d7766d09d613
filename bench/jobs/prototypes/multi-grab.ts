/**
 * Prototype patch of Worker.pump and WorkerLink (src/protocol/worker.ts, worker-link.ts),
 * installMultiGrab(cap): a link may have up to `cap` GRAB_JOB_UNIQ outstanding instead of one.
 * Every GRAB still reserves a slot, so no job ever arrives without one.
 *
 * The patch keeps a per-link count next to src's `grabPending` flag and lets src's own
 * receive()/disconnected() do the rest: before each answer it sets `grabPending` so that src
 * settles exactly one reservation per answer.
 */
import type { Packet } from '../../../src/protocol/decoder.ts';
import { Type } from '../../../src/protocol/packets.ts';
import { WorkerLink } from '../../../src/protocol/worker-link.ts';
import { Worker } from '../../../src/protocol/worker.ts';

interface LinkInternals {
  awake: boolean;
  grabPending: boolean;
  grabsOut?: number;
  readonly connection: { readonly connected: boolean };
  send(type: number, args: readonly never[]): boolean;
  grab(): void;
  receive(packet: Packet): void;
  disconnected(reason: Error): void;
}
interface ClassState {
  readonly links: LinkInternals[];
  readonly slots: number;
  active: number;
  reserved: number;
  cursor: number;
}
interface WorkerInternals {
  readonly stopping: boolean;
  pump(jobClass: ClassState): void;
}

const link = WorkerLink.prototype as unknown as LinkInternals;
const worker = Worker.prototype as unknown as WorkerInternals;

/** Installs the patch with `cap` GRABs per link; returns the undo. */
export function installMultiGrab(cap: number): () => void {
  const { receive, disconnected } = link;
  const { pump } = worker;
  patch(cap, receive, disconnected);
  return () => {
    Object.assign(link, { receive, disconnected });
    worker.pump = pump;
  };
}

function patch(CAP: number, receive: LinkInternals['receive'], disconnected: LinkInternals['disconnected']): void {
  link.receive = function (this: LinkInternals, packet: Packet): void {
    switch (packet.type) {
      case Type.NO_JOB:
      case Type.JOB_ASSIGN_UNIQ:
      case Type.JOB_ASSIGN_ALL:
      case Type.JOB_ASSIGN:
        // One outstanding GRAB is answered: src settles it because grabPending is set.
        this.grabsOut = (this.grabsOut ?? 1) - 1;
        this.grabPending = true;
    }
    receive.call(this, packet);
  };

  link.disconnected = function (this: LinkInternals, reason: Error): void {
    // src settles one reservation for a pending GRAB; the patch owns the others.
    const out = this.grabsOut ?? 0;
    const extra = Math.max(0, out - 1);
    this.grabsOut = 0;
    this.grabPending = out > 0;
    const owner = (this as unknown as { owner: { grabSettled(l: unknown): void } }).owner;
    for (let i = 0; i < extra; i++) owner.grabSettled(this);
    disconnected.call(this, reason);
  };

  worker.pump = function (this: WorkerInternals, jobClass: ClassState): void {
    const { links } = jobClass;
    while (!this.stopping && jobClass.active + jobClass.reserved < jobClass.slots) {
      let picked: LinkInternals | undefined;
      for (let i = 0; i < links.length && !picked; i++) {
        const l = links[(jobClass.cursor + i) % links.length]!;
        if (l.awake && (l.grabsOut ?? 0) < CAP && l.connection.connected) picked = l;
      }
      if (!picked) return;
      jobClass.cursor = (links.indexOf(picked) + 1) % links.length;
      if (!picked.send(Type.GRAB_JOB_UNIQ, [])) return;
      picked.grabsOut = (picked.grabsOut ?? 0) + 1;
      picked.grabPending = true;
      jobClass.reserved++;
    }
  };
}
