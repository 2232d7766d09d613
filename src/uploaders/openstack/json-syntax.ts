/**
 * Where JSON text stops being JSON (RFC 8259), as a character offset; undefined when it is valid.
 * The runtime's JSON.parse message quotes the offending token, which in a secure file is a
 * secret, and Bun's gives no position: this says where without saying what.
 */
export function jsonSyntaxErrorOffset(text: string): number | undefined {
  let at = 0;
  const fail = (): never => {
    throw new JsonStop(at);
  };
  const space = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at]!)) at++;
  };
  const literal = (word: string) => {
    for (const char of word) {
      if (text[at] !== char) fail();
      at++;
    }
  };
  const string = () => {
    at++; // the opening quote
    for (;;) {
      if (at >= text.length) fail();
      const char = text.charCodeAt(at);
      if (char === 0x22) {
        at++;
        return;
      }
      if (char < 0x20) fail();
      if (char === 0x5c) {
        at++;
        const escape = text[at];
        if (escape === 'u') {
          at++;
          for (let i = 0; i < 4; i++, at++) if (!/[0-9a-fA-F]/.test(text[at] ?? '')) fail();
        } else if (escape !== undefined && '"\\/bfnrt'.includes(escape)) at++;
        else fail();
      } else at++;
    }
  };
  const digits = () => {
    const start = at;
    while (/[0-9]/.test(text[at] ?? '')) at++;
    if (at === start) fail();
  };
  const number = () => {
    if (text[at] === '-') at++;
    if (text[at] === '0') at++;
    else digits();
    if (text[at] === '.') {
      at++;
      digits();
    }
    if (text[at] === 'e' || text[at] === 'E') {
      at++;
      if (text[at] === '+' || text[at] === '-') at++;
      digits();
    }
  };
  const value = (): void => {
    space();
    const char = text[at];
    if (char === '{') {
      at++;
      space();
      if (text[at] === '}') return void at++;
      for (;;) {
        space();
        if (text[at] !== '"') fail();
        string();
        space();
        if (text[at] !== ':') fail();
        at++;
        value();
        space();
        if (text[at] === ',') at++;
        else if (text[at] === '}') return void at++;
        else fail();
      }
    }
    if (char === '[') {
      at++;
      space();
      if (text[at] === ']') return void at++;
      for (;;) {
        value();
        space();
        if (text[at] === ',') at++;
        else if (text[at] === ']') return void at++;
        else fail();
      }
    }
    if (char === '"') return string();
    if (char === 't') return literal('true');
    if (char === 'f') return literal('false');
    if (char === 'n') return literal('null');
    if (char === '-' || (char !== undefined && char >= '0' && char <= '9')) return number();
    fail();
  };
  try {
    value();
    space();
    return at < text.length ? at : undefined;
  } catch (err) {
    if (err instanceof JsonStop) return err.offset;
    throw err;
  }
}

/** 1-based line and column of a character offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: offset - lineStart + 1 };
}

class JsonStop {
  constructor(readonly offset: number) {}
}
