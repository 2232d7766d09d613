import { expect } from 'bun:test';

/**
 * Fails when any secret (password, application-credential secret, token, shared key) appears
 * in `logs`. Secrets shorter than 8 characters are refused: they would match by accident and
 * make the check meaningless.
 */
export function expectNoSecrets(logs: string, secrets: readonly string[]): void {
  expect(secrets.length).toBeGreaterThan(0);
  for (const secret of secrets) {
    if (secret.length < 8) throw new Error(`expectNoSecrets: "${secret.slice(0, 2)}…" is too short to look for`);
    const at = logs.indexOf(secret);
    // The message names the secret by its start only, so a failing test does not print it whole.
    if (at !== -1) throw new Error(`a secret starting "${secret.slice(0, 4)}" appears in the logs at offset ${at}: …${logs.slice(Math.max(0, at - 80), at)}[secret]…`);
  }
  expect(logs.length).toBeGreaterThan(0);
}

/** captureLogs() lines as one text, for expectNoSecrets. */
export function capturedText(lines: ReadonlyArray<{ readonly level: string; readonly message: string }>): string {
  return lines.map((l) => `${l.level} ${l.message}`).join('\n');
}
