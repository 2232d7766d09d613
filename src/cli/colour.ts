/** ANSI SGR sequences (colours, bold, underline), as citty writes them. */
const SGR = /\u001b\[[0-9;]*m/g;

/** Colour only on a terminal, and never with NO_COLOR set to anything (https://no-color.org). */
export function colourAllowed(stream: NodeJS.WriteStream): boolean {
  const noColor = process.env.NO_COLOR;
  return stream.isTTY === true && (noColor === undefined || noColor === '');
}

export function withoutColour(text: string): string {
  return text.replace(SGR, '');
}
