import { Buffer } from 'node:buffer';
import type { Socket } from 'node:net';

/** What a WriteQueue uses of its socket. */
export type WritableSocket = Pick<Socket, 'write' | 'writableLength'>;

/** Chunks queued in one turn are joined into one write below this size; larger ones go as they are (no copy). */
const JOIN_LIMIT = 64 * 1024;

/**
 * Queues with output this turn. They are flushed together once the turn's I/O has been handled
 * (setImmediate), so a job's result and the next GRAB, or the results that several workers
 * deliver to one client in the same turn, leave in one write: fewer syscalls and packets under
 * load, at most one turn of added latency.
 */
let dirty: WriteQueue[] = [];
let flushQueued = false;

function scheduleFlush(queue: WriteQueue): void {
  dirty.push(queue);
  if (flushQueued) return;
  flushQueued = true;
  setImmediate(flushAll);
}

function flushAll(): void {
  flushQueued = false;
  const queues = dirty;
  dirty = [];
  for (const queue of queues) queue.flush();
}

/**
 * The outgoing side of one socket: chunks are queued and written once per event-loop turn,
 * joined into one write when small. `flushed` runs after every write, so the owner can see
 * whether the socket still holds output (backpressure).
 */
export class WriteQueue {
  private chunks: Uint8Array[] = [];
  private bytes = 0;
  private scheduled = false;
  private discarded = false;

  constructor(
    private readonly socket: WritableSocket,
    private readonly flushed: () => void = () => {},
  ) {}

  /** Bytes queued here and not yet handed to the socket. */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** Output not yet sent: what is queued here plus what the socket still holds. */
  get backlog(): number {
    return this.bytes + this.socket.writableLength;
  }

  push(chunk: Uint8Array): void {
    if (this.discarded) return;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    if (!this.scheduled) {
      this.scheduled = true;
      scheduleFlush(this);
    }
  }

  /** Writes what is queued now (the turn's scheduler calls it too). */
  flush(): void {
    this.scheduled = false;
    const chunks = this.chunks;
    if (chunks.length === 0 || this.discarded) return;
    const total = this.bytes;
    this.chunks = [];
    this.bytes = 0;
    const { socket } = this;
    if (chunks.length === 1) socket.write(chunks[0]!);
    else if (total <= JOIN_LIMIT) socket.write(Buffer.concat(chunks, total));
    else for (const chunk of chunks) socket.write(chunk);
    this.flushed();
  }

  /** Drops what is queued and refuses more: the socket is going away. */
  discard(): void {
    this.discarded = true;
    this.chunks = [];
    this.bytes = 0;
  }
}
