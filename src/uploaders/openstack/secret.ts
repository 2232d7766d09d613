const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/**
 * A credential (password, application-credential secret, token) that never prints itself:
 * string conversion, JSON and util.inspect all show "***". Only reveal() gives the value, and
 * only the code that puts it on the wire calls it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '***';
  }

  toJSON(): string {
    return '***';
  }

  [INSPECT](): string {
    return 'Secret(***)';
  }
}
