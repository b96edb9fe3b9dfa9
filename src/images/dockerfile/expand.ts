/**
 * Variable expansion of one Dockerfile word, as the builder does it (Docker's shell-word rules:
 * quotes removed, the escape character taking the next character literally, $VAR, ${VAR},
 * ${VAR:-word}, ${VAR:+word}), with a verdict on certainty: a variable whose value cannot be
 * known here (never declared, declared without a value, or in syntax Cubby does not interpret)
 * makes the word unsure, and it keeps the reference as written in its place.
 */

/** A variable's value, or undefined when it cannot be known before the build runs. */
export type Lookup = (name: string) => string | undefined;

export interface Expanded {
  value: string;
  /** The references whose values are not certain, as written; empty when the value is certain. */
  unsure: string[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** What the builder's name scanner (Go's unicode.IsLetter/IsDigit) would read on with. */
const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

/** Expands one word; throws an Error (without a line) on syntax the builder also rejects. */
export function expandWord(raw: string, lookup: Lookup, escape = '\\'): Expanded {
  const w = new Word([...raw], lookup, escape);
  const value = w.until(undefined);
  return { value, unsure: w.unsure };
}

class Word {
  i = 0;
  unsure: string[] = [];

  constructor(
    private readonly s: string[],
    private readonly lookup: Lookup,
    private readonly escape: string,
  ) {}

  private get done(): boolean {
    return this.i >= this.s.length;
  }
  private peek(): string | undefined {
    return this.s[this.i];
  }
  private text(from: number): string {
    return this.s.slice(from, this.i).join('');
  }

  /** Reads to the end, or to `stop` (consumed) for the word inside ${VAR:-word}. */
  until(stop: string | undefined): string {
    let out = '';
    while (!this.done) {
      const c = this.peek() as string;
      if (stop !== undefined && c === stop) {
        this.i++;
        return out;
      }
      if (c === "'") out += this.single();
      else if (c === '"') out += this.double();
      else if (c === '$') out += this.dollar();
      else {
        this.i++;
        if (c === this.escape) {
          if (this.done) break;
          out += this.s[this.i++];
        } else out += c;
      }
    }
    if (stop !== undefined) throw new Error(`missing "${stop}" in a variable substitution`);
    return out;
  }

  private single(): string {
    this.i++;
    let out = '';
    for (;;) {
      if (this.done) throw new Error("unterminated ' quote");
      const c = this.s[this.i++] as string;
      if (c === "'") return out;
      out += c;
    }
  }

  private double(): string {
    this.i++;
    let out = '';
    for (;;) {
      if (this.done) throw new Error('unterminated " quote');
      const c = this.peek() as string;
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c === '$') {
        out += this.dollar();
        continue;
      }
      this.i++;
      if (c === this.escape) {
        const next = this.peek();
        if (next === undefined) continue;
        if (next === '"' || next === '$' || next === this.escape) {
          out += next;
          this.i++;
          continue;
        }
      }
      out += c;
    }
  }

  private dollar(): string {
    const start = this.i++;
    if (this.peek() === '{') return this.braced(start);
    let name = '';
    while (!this.done && /[A-Za-z0-9_]/.test(this.peek() as string)) name += this.s[this.i++];
    // A lone $, $1, $$, $@ or a name running on into other letters: the builder reads these its own way.
    if (!NAME.test(name) || (!this.done && NAME_CHAR.test(this.peek() as string))) return this.odd(start);
    return this.value(name, this.text(start));
  }

  private braced(start: number): string {
    this.i++;
    let name = '';
    while (!this.done && /[A-Za-z0-9_]/.test(this.peek() as string)) name += this.s[this.i++];
    const c = this.peek();
    if (NAME.test(name) && c === '}') {
      this.i++;
      return this.value(name, this.text(start));
    }
    const op = this.s[this.i + 1];
    if (NAME.test(name) && c === ':' && (op === '-' || op === '+')) {
      this.i += 2;
      // The alternative word is read either way, but its own unsure references count only if it is used.
      const outer = this.unsure;
      this.unsure = [];
      const word = this.until('}');
      const inner = this.unsure;
      this.unsure = outer;
      const v = this.lookup(name);
      if (v === undefined) return this.odd(start);
      const useWord = op === '-' ? v === '' : v !== '';
      if (!useWord) return op === '-' ? v : '';
      this.unsure.push(...inner);
      return word;
    }
    // ${VAR:?msg}, ${VAR#pattern}, ${VAR/a/b}, ${1}, ${}, nesting...: read past it, but unsure.
    let depth = 1;
    while (!this.done && depth > 0) {
      const x = this.s[this.i++];
      if (x === '{') depth++;
      else if (x === '}') depth--;
    }
    if (depth > 0) throw new Error('missing "}" in a variable substitution');
    return this.odd(start);
  }

  private value(name: string, ref: string): string {
    const v = this.lookup(name);
    if (v === undefined) {
      this.unsure.push(ref);
      return ref;
    }
    return v;
  }

  private odd(start: number): string {
    const ref = this.text(start);
    this.unsure.push(ref);
    return ref;
  }
}
