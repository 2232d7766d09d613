/** A child process the bench talks to by lines: stdout lines up, stdin lines down. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Command {
  readonly cmd: string;
  readonly args: readonly string[];
  /** Names the process in errors. */
  readonly label: string;
}

export class Child {
  readonly label: string;
  readonly exited: Promise<number | null>;
  private readonly proc: ChildProcess;
  private readonly lines: string[] = [];
  private waiter: ((line: string | undefined) => void) | undefined;
  private stderr = '';
  private ended = false;

  constructor(command: Command) {
    this.label = command.label;
    this.proc = spawn(command.cmd, [...command.args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    const reader = createInterface({ input: this.proc.stdout! });
    reader.on('line', (line) => this.deliver(line));
    reader.on('close', () => {
      this.ended = true;
      this.deliver(undefined);
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
  }

  /** The next stdout line, which must start with `word`; returns the rest of it. */
  async expect(word: string, timeoutMs: number): Promise<string> {
    const line = await this.next(timeoutMs);
    if (line === undefined) throw this.failure(`ended before "${word}"`);
    if (line !== word && !line.startsWith(`${word} `)) throw this.failure(`said "${line.slice(0, 200)}" instead of "${word}"`);
    return line.slice(word.length + 1);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** The last few KiB the process wrote to stderr. */
  get stderrTail(): string {
    return this.stderr;
  }

  send(line: string): void {
    this.proc.stdin!.write(`${line}\n`);
  }

  signal(name: NodeJS.Signals): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(name);
  }

  /** Kills it if it is still running and waits for it. */
  async stop(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }

  private next(timeoutMs: number): Promise<string | undefined> {
    const queued = this.lines.shift();
    if (queued !== undefined || this.ended) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(this.failure(`said nothing within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (line) => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(line);
      };
    });
  }

  private deliver(line: string | undefined): void {
    if (this.waiter) this.waiter(line);
    else if (line !== undefined) this.lines.push(line);
  }

  private failure(what: string): Error {
    const tail = this.stderr.trim();
    return new Error(`${this.label} ${what}${tail ? `; stderr:\n${tail}` : ''}`);
  }
}
