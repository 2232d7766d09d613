/**
 * Prototype switch: makes Error.captureStackTrace a no-op, so the client's per-submit
 * callerStack() costs nothing. Measures what capturing the caller's stack on every submit
 * costs (errors then carry no caller stack: not for production). Returns the undo.
 */
export function installNoStack(): () => void {
  const original = Error.captureStackTrace;
  Error.captureStackTrace = (): void => {};
  return () => {
    Error.captureStackTrace = original;
  };
}
