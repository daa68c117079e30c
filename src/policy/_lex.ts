/**
 * The tokenizer of policy rules: identifiers (dotted), quoted strings, numbers, operators and
 * punctuation, each with its position for error messages.
 *
 * @module
 */
import { skipSpace } from "../../connectors/sdk/lexing.ts";

/** One token of a rule. */
export interface Token {
  kind: "word" | "string" | "number" | "op" | "punct" | "end";
  text: string;
  /** 1-based column in the rule text. */
  at: number;
}

const WORD = /[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/y;
const NUMBER = /-?\d+(\.\d+)?/y;
const PATTERNS = [["word", WORD], ["number", NUMBER]] as const;

/** The word or number that starts at `i`, if one does. */
function matchAt(text: string, i: number): Pick<Token, "kind" | "text"> | undefined {
  for (const [kind, pattern] of PATTERNS) {
    pattern.lastIndex = i;
    const found = pattern.exec(text);
    if (found) return { kind, text: found[0] };
  }
  return undefined;
}
const OPS = ["<=", ">=", "!=", "<>", "=", "<", ">"];

/** Splits a rule into tokens; throws a message naming the column of an unexpected character. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  for (let i = skipSpace(text, 0); i < text.length; i = skipSpace(text, i)) {
    const ch = text[i];
    if (ch === "'" || ch === '"') {
      let j = i + 1;
      let value = "";
      for (;;) {
        if (j >= text.length) throw new Error(`unterminated string at column ${i + 1}`);
        if (text[j] === ch && text[j + 1] === ch) {
          value += ch;
          j += 2;
        } else if (text[j] === ch) break;
        else value += text[j++];
      }
      tokens.push({ kind: "string", text: value, at: i + 1 });
      i = j + 1;
      continue;
    }
    const matched = matchAt(text, i);
    if (matched) {
      tokens.push({ ...matched, at: i + 1 });
      i += matched.text.length;
      continue;
    }
    const op = OPS.find((o) => text.startsWith(o, i));
    if (op) {
      tokens.push({ kind: "op", text: op, at: i + 1 });
      i += op.length;
      continue;
    }
    if ("(),*:[]+".includes(ch)) {
      tokens.push({ kind: "punct", text: ch, at: i + 1 });
      i++;
      continue;
    }
    throw new Error(`unexpected character ${JSON.stringify(ch)} at column ${i + 1}`);
  }
  tokens.push({ kind: "end", text: "", at: text.length + 1 });
  return tokens;
}

/** A cursor over tokens with keyword helpers (keywords are case-insensitive). */
export class Cursor {
  readonly #tokens: Token[];
  #i = 0;

  constructor(tokens: Token[]) {
    this.#tokens = tokens;
  }

  peek(offset = 0): Token {
    return this.#tokens[Math.min(this.#i + offset, this.#tokens.length - 1)];
  }

  next(): Token {
    const t = this.peek();
    if (t.kind !== "end") this.#i++;
    return t;
  }

  /** Whether the next token is this keyword (a word, any case). */
  isKeyword(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === "word" && t.text.toUpperCase() === word;
  }

  /** Consumes the keyword if it is next. */
  acceptKeyword(word: string): boolean {
    if (!this.isKeyword(word)) return false;
    this.next();
    return true;
  }

  expectKeyword(word: string): void {
    if (!this.acceptKeyword(word)) this.fail(`expected ${word}`);
  }

  /** Consumes the punctuation or operator if it is next. */
  accept(text: string): boolean {
    const t = this.peek();
    if ((t.kind === "punct" || t.kind === "op") && t.text === text) {
      this.next();
      return true;
    }
    return false;
  }

  expect(text: string): void {
    if (!this.accept(text)) this.fail(`expected ${text}`);
  }

  /** Throws a message naming what was found and where. */
  fail(message: string): never {
    const t = this.peek();
    const found = t.kind === "end" ? "the end of the rule" : JSON.stringify(t.text);
    throw new Error(`${message} at column ${t.at}, found ${found}`);
  }
}
