import type { Ability } from './job.ts';

/**
 * A connection's registered functions by name, in registration order. Their `workers`
 * listing is built once and kept until they change: a fleet's builders register hundreds
 * each, and monitoring asks for `workers` far more often than builders re-register.
 */
export class Abilities extends Map<string, Ability> {
  private listed: string | undefined;

  override set(name: string, ability: Ability): this {
    this.listed = undefined;
    return super.set(name, ability);
  }

  override delete(name: string): boolean {
    this.listed = undefined;
    return super.delete(name);
  }

  override clear(): void {
    this.listed = undefined;
    super.clear();
  }

  /** The names as `workers` lists them: newest first (gearmand's order), separated by spaces. */
  get listing(): string {
    return (this.listed ??= [...this.keys()].reverse().join(' '));
  }
}
