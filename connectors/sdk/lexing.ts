/**
 * What the hand-written lexers share (the JQL and SOQL sandboxes', the policy rules'): the walk
 * over the text that passes white space by.
 *
 * @module
 */

/**
 * Where the next token can start: the first index at or after `i` that is not white space, or
 * `text.length`. A lexer loops `for (let i = skipSpace(text, 0); i < text.length; i =
 * skipSpace(text, i))` and reads one token per turn.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { skipSpace } from "./lexing.ts";
 * assert.equal(skipSpace("a \n\tb", 1), 4);
 * assert.equal(skipSpace("a  ", 1), 3);
 * ```
 */
export function skipSpace(text: string, i: number): number {
  while (i < text.length && /\s/.test(text[i])) i++;
  return i;
}
