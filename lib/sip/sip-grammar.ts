/**
 * sip.js's SIP grammar without its per-parse setup.
 *
 * Why this exists: sip.js 0.21.2's generated PEG parser (lib/grammar/pegjs/dist/grammar.js) decodes
 * its whole bytecode table (`const peg$bytecode = [peg$decode("..."), ...]`, one entry per grammar
 * rule) INSIDE `peg$parse`, so every header it parses rebuilds the table first. The SIP load
 * benchmark (bench/sip-load.ts, docs/benchmarks.md) found it at 28 % of the process at 200
 * concurrent calls and 53 % of the busy time at 20 calls/s; one header parse took 490–820 µs, and
 * 160–170 µs once the table is built once (bench/sip-parse.ts measures both). sip.js is pinned and
 * unmaintained (design §5) and we cannot patch node_modules for our users, so at load this module:
 *
 * 1. reads the grammar's own source text (through sip.js's package folder);
 * 2. moves `peg$bytecode` and `peg$decode` (which it calls, nothing else) from inside `peg$parse` to
 *    the top of the file, a text transformation checked by exact anchors: the table is data, read
 *    only by `peg$parseRule` (`bc[ip]`), never written, so one shared copy is the same as a fresh one
 *    per call. Everything else (the constants with their actions, the state) stays per call;
 * 3. turns its two imports into parameters (the very `NameAddrHeader` and `URI` classes sip.js
 *    exports, so `instanceof` in sip.js still holds) and its exports into a `return`, compiles it
 *    once with `vm.compileFunction` in this realm, in strict mode as the ES module was;
 * 4. checks the compiled parser against sip.js's own on a few inputs, then installs it as
 *    `Grammar.parse`, with sip.js's contract (`options.data`, or -1 when the input does not parse).
 *    Every caller in sip.js goes through that one property of the `Grammar` object: the message
 *    parser (core/messages/parser.js, incoming-message.js `parseHeader`), `nameAddrHeaderParse`
 *    and `URIParse` (grammar/grammar.js calls `Grammar.parse`, not its local function), the user
 *    agent, inviter, registerer and the web transport. Nothing else imports the generated parser.
 *
 * If any anchor is missing (another sip.js version) or any step fails, nothing is installed and
 * sip.js's own parser stays: slower, never wrong. {@link installFastGrammar} says why, for a debug log.
 * test/unit/sip-grammar.test.ts compares the two parsers on every start rule sip.js uses.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { compileFunction } from 'node:vm';
import { Grammar, NameAddrHeader, URI } from 'sip.js';

/** The generated parser's entry: the result is written to `options.data`; throws when the input does not match. */
export type PegParse = (input: string, options: { startRule?: string; data?: unknown }) => unknown;

/** sip.js's `Grammar.parse`: `options.data` of the parse, or -1. */
export type GrammarParse = (input: string, startRule: string) => unknown;

/** What {@link installFastGrammar} did: `installed`, or why not (words for a debug log). */
export interface FastGrammarOutcome {
  installed: boolean;
  reason: string;
}

// The anchors: exact text of sip.js 0.21.2's grammar.js. Any of them missing: leave sip.js alone.
const IMPORTS = 'import { NameAddrHeader } from "../../name-addr-header.js";\nimport { URI } from "../../uri.js";\n';
const EXPORT_CLASS = '\nexport class SyntaxError extends Error {\n';
const EXPORT_PARSE = '\nexport const parse = peg$parse;';
const PARSE_START = '\nfunction peg$parse(input, options) {\n';
const BYTECODE_START = '\n    const peg$bytecode = [\n';
const BYTECODE_END = '\n    ];\n';
const DECODE = '\n    function peg$decode(s) {\n        return s.split("").map((ch) => ch.charCodeAt(0) - 32);\n    }\n';
/** One entry of the table: a call of peg$decode on a string literal, nothing else. */
const BYTECODE_LINE = /^ {8}peg\$decode\("(?:[^"\\\r\n]|\\.)*"\),?$/;

/** Where sip.js keeps its generated parser. */
export function grammarSourcePath(): string {
  return path.join(path.dirname(require.resolve('sip.js/package.json')), 'lib', 'grammar', 'pegjs', 'dist', 'grammar.js');
}

/** `text` with its only occurrence of `anchor` replaced; throws when it occurs zero or several times. */
function replaceOnce(text: string, anchor: string, by: string): string {
  const at = text.indexOf(anchor);
  if (at < 0 || text.indexOf(anchor, at + 1) >= 0) throw new Error(`anchor ${JSON.stringify(anchor.trim().slice(0, 40))} ${at < 0 ? 'not found' : 'found twice'}`);
  return text.slice(0, at) + by + text.slice(at + anchor.length);
}

/**
 * The transformation alone: sip.js's grammar.js text in, the body of a function of
 * `(NameAddrHeader, URI)` that returns `peg$parse` out, its table decoded once. Throws (naming the
 * anchor) when the text is not the one this was written for.
 */
export function transformGrammarSource(source: string): string {
  if (!source.startsWith(IMPORTS)) throw new Error('anchor "import { NameAddrHeader }..." not found');
  let body = source.slice(IMPORTS.length);
  body = replaceOnce(body, EXPORT_CLASS, '\nclass SyntaxError extends Error {\n');
  if (!body.trimEnd().endsWith(EXPORT_PARSE)) throw new Error(`anchor ${JSON.stringify(EXPORT_PARSE.trim())} not at the end`);
  body = `${body.trimEnd().slice(0, -EXPORT_PARSE.length)}\nreturn peg$parse;\n`;

  // The table: every line a peg$decode of a literal (so it needs nothing of peg$parse's scope).
  const start = body.indexOf(BYTECODE_START);
  if (start < 0 || body.indexOf(BYTECODE_START, start + 1) >= 0) throw new Error('anchor "const peg$bytecode = [" not found once');
  const end = body.indexOf(BYTECODE_END, start);
  if (end < 0) throw new Error('the end of peg$bytecode not found');
  const entries = body.slice(start + BYTECODE_START.length, end).split('\n');
  const odd = entries.find((line) => !BYTECODE_LINE.test(line));
  if (odd !== undefined) throw new Error(`peg$bytecode holds more than peg$decode("...") calls: ${JSON.stringify(odd.slice(0, 60))}`);
  body = `${body.slice(0, start)}\n${body.slice(end + BYTECODE_END.length)}`;
  body = replaceOnce(body, DECODE, '\n');
  if (body.includes('peg$decode') || body.includes('const peg$bytecode')) throw new Error('peg$decode or peg$bytecode used elsewhere');

  const hoisted = `function peg$decode(s) {\n    return s.split("").map((ch) => ch.charCodeAt(0) - 32);\n}\nconst peg$bytecode = [\n${entries.join('\n')}\n];\n`;
  body = replaceOnce(body, PARSE_START, `\n${hoisted}${PARSE_START.slice(1)}`);
  if (/^\s*(import|export)\b/m.test(body)) throw new Error('an import or export is left');
  // The ES module was strict; so is the function.
  return `"use strict";\n${body}`;
}

/** Compiles the transformed grammar once, with sip.js's own NameAddrHeader and URI. */
export function compileFastGrammar(source: string, filename: string): PegParse {
  const factory = compileFunction(transformGrammarSource(source), ['NameAddrHeader', 'URI'], { filename: `${filename} (decoded once: lib/sip/sip-grammar.ts)` });
  const parse = factory(NameAddrHeader, URI) as unknown;
  if (typeof parse !== 'function') throw new Error('the compiled grammar did not return peg$parse');
  return parse as PegParse;
}

/** `PegParse` wrapped in sip.js's `Grammar.parse` contract (grammar/grammar.js). */
export function asGrammarParse(peg: PegParse): GrammarParse {
  return function parse(input: string, startRule: string): unknown {
    const options: { startRule: string; data?: unknown } = { startRule };
    try {
      peg(input, options);
    } catch {
      options.data = -1;
    }
    return options.data;
  };
}

/** Inputs the compiled parser must read exactly as sip.js's own before it replaces it. */
const SELF_CHECK: Array<[string, string]> = [
  ['SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bK776asdhds', 'Via'],
  ['"Alice" <sip:alice@example.com;transport=udp>;tag=1928301774', 'Name_Addr_Header'],
  ['INVITE sip:bob@example.com SIP/2.0', 'Request_Response'],
  ['<<<', 'Contact'],
];

let outcome: FastGrammarOutcome | undefined;

/**
 * Installs the compiled grammar as sip.js's `Grammar.parse`, once per process (later calls return
 * the first outcome). Never throws: when it cannot, sip.js's parser stays and `reason` says why.
 */
export function installFastGrammar(): FastGrammarOutcome {
  if (outcome) return outcome;
  try {
    const file = grammarSourcePath();
    const fast = asGrammarParse(compileFastGrammar(readFileSync(file, 'utf8'), file));
    const original = Grammar.parse as GrammarParse;
    for (const [input, rule] of SELF_CHECK) {
      const [mine, theirs] = [JSON.stringify(fast(input, rule)), JSON.stringify(original(input, rule))];
      if (mine !== theirs) throw new Error(`the compiled grammar reads ${JSON.stringify(input)} (${rule}) differently`);
    }
    (Grammar as { parse: GrammarParse }).parse = fast;
    outcome = { installed: true, reason: 'sip.js grammar: bytecode decoded once (lib/sip/sip-grammar.ts)' };
  } catch (err) {
    outcome = { installed: false, reason: `sip.js grammar: its own parser stays (${err instanceof Error ? err.message : String(err)})` };
  }
  return outcome;
}
