import { latin1 } from '../codec/text.ts';

const PROBE_PREFIX = 'nodepool-builder-liveness:';

/**
 * Sends ECHO_REQ after a quiet interval. A server that has answered a probe before and stops
 * answering is declared dead; one that never answered (gear's geard ignores ECHO_REQ) just
 * turns the probe off, so it is tolerated.
 */
export class LivenessProbe {
  private timer: ReturnType<typeof setTimeout>;
  private pending: string | undefined;
  private supported = false;
  private quiet = true;
  private counter = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
    private readonly sendProbe: (token: string) => void,
    private readonly dead: (reason: string) => void,
    private readonly unsupported: () => void,
  ) {
    this.timer = setTimeout(() => this.tick(), intervalMs);
  }

  heard(): void {
    this.quiet = false;
  }

  answers(data: Uint8Array): boolean {
    const text = latin1(data);
    if (!text.startsWith(PROBE_PREFIX)) return false;
    if (text === this.pending) {
      this.pending = undefined;
      this.supported = true;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.tick(), this.intervalMs);
    }
    return true;
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private tick(): void {
    if (this.pending !== undefined) {
      if (this.supported) this.dead(`no answer to ECHO_REQ within ${this.timeoutMs} ms`);
      else this.unsupported();
      return;
    }
    if (!this.quiet) {
      this.quiet = true;
      this.timer = setTimeout(() => this.tick(), this.intervalMs);
      return;
    }
    this.pending = `${PROBE_PREFIX}${++this.counter}`;
    this.sendProbe(this.pending);
    this.timer = setTimeout(() => this.tick(), this.timeoutMs);
  }
}
