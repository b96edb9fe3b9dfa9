/**
 * How a Dockerfile instruction's text splits into words, flags and JSON arrays: ported from the
 * parser buildah uses (openshift/imagebuilder, a copy of Docker's classic parser), because where
 * Cubby and the builder split differently, what Cubby checked is not what runs.
 */

/** Go's unicode.IsSpace, which the builder's word splitting uses. */
export const isSpace = (c: string): boolean => /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/.test(c);
/** The whitespace between a keyword and its arguments, and between ADD/COPY arguments (Go's `[\t\v\f\r ]+`). */
export const ARG_SPACE = /[\t\v\f\r ]+/;

/**
 * Words split on whitespace outside quotes, each kept raw (quotes and escapes left in): the
 * builder's parseWords, used for ENV, ARG and heredoc markers. Expansion comes later, per word.
 */
export function splitRaw(text: string, escape = '\\'): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote = '';
  const chars = [...text];
  for (let i = 0; i < chars.length; i++) {
    let c = chars[i] as string;
    if (quote) {
      if (c === quote) quote = '';
      else if (c === escape && quote !== "'") {
        if (i + 1 === chars.length) {
          quote = '';
          continue;
        }
        word += c;
        c = chars[++i] as string;
      }
      word += c;
      continue;
    }
    if (isSpace(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === '"' || c === "'") quote = c;
    else if (c === escape) {
      if (i + 1 === chars.length) continue;
      word += c;
      c = chars[++i] as string;
    }
    word += c;
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * The `--name=value` words before an instruction's arguments, quotes removed (the builder's
 * extractBuilderFlags, which always escapes with a backslash), and the text after them.
 */
export function extractFlags(text: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let i = 0;
  for (;;) {
    while (i < text.length && isSpace(text[i] as string)) i++;
    if (!text.startsWith('--', i)) return { flags, rest: text.slice(i) };
    let word = '';
    let quote = '';
    for (; i < text.length; i++) {
      let c = text[i] as string;
      if (!quote && isSpace(c)) break;
      if (!quote && (c === '"' || c === "'")) {
        quote = c;
        continue;
      }
      if (quote && c === quote) {
        quote = '';
        continue;
      }
      if (c === '\\') {
        if (i + 1 === text.length) {
          quote = '';
          continue;
        }
        c = text[++i] as string;
      }
      word += c;
    }
    if (word === '--') return { flags, rest: text.slice(i) };
    flags.push(word);
  }
}

export type JsonArgs = { form: 'json'; values: string[]; trailing: string } | { form: 'not-strings' } | { form: 'shell' };

/**
 * The exec (JSON array) form, read as the builder reads it: Go's json.Decoder takes the first
 * JSON value and ignores what follows (reported here as `trailing`); an array of anything but
 * strings is an error there; any other text is the shell form.
 */
export function jsonArgs(text: string): JsonArgs {
  const t = text.replace(/^\s+/, '');
  if (!t.startsWith('[')) return { form: 'shell' };
  const end = jsonEnd(t);
  if (end === undefined) return { form: 'shell' };
  let v: unknown;
  try {
    v = JSON.parse(t.slice(0, end));
  } catch {
    return { form: 'shell' };
  }
  if (!Array.isArray(v)) return { form: 'shell' };
  if (!v.every((x) => typeof x === 'string')) return { form: 'not-strings' };
  return { form: 'json', values: v as string[], trailing: t.slice(end).trim() };
}

/** Where the bracketed JSON value at the start of `t` ends, or undefined when it does not. */
function jsonEnd(t: string): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') {
      if (--depth === 0) return i + 1;
    }
  }
  return undefined;
}
