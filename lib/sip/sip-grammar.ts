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
 * 2. moves everything `peg$parse` declares (the bytecode table, decoded from strings; the ~800
 *    constants, with ~120 regular expressions and ~120 action closures; the helper functions) out of
 *    it, to be declared once over module-level `input`, `options` and parser state, which each call
 *    then sets first exactly as peg$parse's own first lines did (a text transformation checked by
 *    exact anchors: see {@link transformGrammarSource}). Declaring all that on every header parse
 *    was most of what a parse cost, and most of its garbage (bench/setup-cost.ts, docs/benchmarks.md
 *    "Call set-up cost"; the first version moved the bytecode table only);
 * 2b. replaces the bytecode table and its interpreter (`peg$parseRule`, checked by its SHA-256) by one
 *    function per rule compiled from that bytecode (lib/sip/sip-grammar-rules.ts): the interpreter
 *    made three arrays for every rule it entered and was the largest single function left per call;
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
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { compileFunction } from 'node:vm';
import { Grammar, NameAddrHeader, URI } from 'sip.js';
import { compileRules, CONST_PREFIX, RULE_PREFIX } from './sip-grammar-rules';
import { patchOnce, replaceOnce, sipJsFile, SipJsPatchOutcome, splitOnce } from './sipjs-source';

/** The generated parser's entry: the result is written to `options.data`; throws when the input does not match. */
export type PegParse = (input: string, options: { startRule?: string; data?: unknown }) => unknown;

/** sip.js's `Grammar.parse`: `options.data` of the parse, or -1. */
export type GrammarParse = (input: string, startRule: string) => unknown;

/** What {@link installFastGrammar} did: `installed`, or why not (words for a debug log). */
export type FastGrammarOutcome = SipJsPatchOutcome;

// The anchors: exact text of sip.js 0.21.2's grammar.js. Any of them missing: leave sip.js alone.
const IMPORTS = 'import { NameAddrHeader } from "../../name-addr-header.js";\nimport { URI } from "../../uri.js";\n';
const EXPORT_CLASS = '\nexport class SyntaxError extends Error {\n';
const EXPORT_PARSE = '\nexport const parse = peg$parse;';
const PARSE_START = '\nfunction peg$parse(input, options) {\n';
/** peg$parse's first lines, up to its table of start rules. */
const PARSE_HEAD = '    options = options !== undefined ? options : {};\n    const peg$FAILED = {};\n    const peg$source = options.grammarSource;\n';
/** The start rules and the default one. */
const START_RULES = /^ {4}const peg\$startRuleIndices = \{[^}\n]*\};\n {4}let peg\$startRuleIndex = (\d+);\n/;
const CONSTS_START = '    const peg$consts = [\n';
/** The per-parse state, after the tables (peg$consts, peg$bytecode), and the choice of the start rule. */
const STATE = `    let peg$currPos = 0;
    let peg$savedPos = 0;
    const peg$posDetailsCache = [{ line: 1, column: 1 }];
    let peg$maxFailPos = 0;
    let peg$maxFailExpected = [];
    let peg$silentFails = 0;
    let peg$result;
    if (options.startRule !== undefined) {
        if (!(options.startRule in peg$startRuleIndices)) {
            throw new Error("Can't start parsing from rule \\"" + options.startRule + "\\".");
        }
        peg$startRuleIndex = peg$startRuleIndices[options.startRule];
    }
`;
/** Between the helper functions and the grammar's initializer (which declares `list`). */
const DATA_INIT = '    options.data = {}; // Object to which header attributes will be assigned during parsing\n';
/** The parse proper, after the initializer: the start rule run, the result or the error. */
const RUN = '    peg$result = peg$parseRule(peg$startRuleIndex);\n';
/** The bytecode table's literal, inside the tables. */
const BYTECODE_START = '    const peg$bytecode = [\n';
const BYTECODE_END = '\n    ];\n';
/** The bytecode's decoder and the interpreter, the last helpers. */
const DECODE = '    function peg$decode(s) {\n        return s.split("").map((ch) => ch.charCodeAt(0) - 32);\n    }\n';
const PARSE_RULE_START = '    function peg$parseRule(index) {\n';
/**
 * SHA-256 of sip.js 0.21.2's interpreter, `function peg$parseRule(index) {` to its closing brace: the
 * instruction set lib/sip/sip-grammar-rules.ts compiles is the one this text runs (an anchor too long
 * to keep as text here: 215 lines).
 */
const PARSE_RULE_SHA256 = '99f728251f7624641c2093d0ea4b0670ead39145f266c326003cc30bee73d786';

export function grammarSourcePath(): string {
  return sipJsFile('lib', 'grammar', 'pegjs', 'dist', 'grammar.js');
}

/**
 * The transformation alone: sip.js's grammar.js text in, the body of a function of
 * `(NameAddrHeader, URI)` that returns `peg$parse` out, its tables built once and its rules compiled. Throws (naming the
 * anchor) when the text is not the one this was written for.
 *
 * peg$parse declares, on every call, its whole grammar: the bytecode table (decoded from strings),
 * the ~800 constants (regular expressions, expectation objects, the ~120 action functions), and the
 * helper functions, all closures over the call's `input`, `options` and position. Here they are
 * declared once, at the top, over variables of the same names that each call of peg$parse sets
 * first (what peg$parse's own first lines set them to). The tables are read, never written, while
 * parsing; a parse is synchronous and no action parses again (they build URI and NameAddrHeader
 * objects, whose constructors do not parse), so one parse never sees another's state.
 */
export function transformGrammarSource(source: string): string {
  if (!source.startsWith(IMPORTS)) throw new Error('anchor "import { NameAddrHeader }..." not found');
  let text = source.slice(IMPORTS.length);
  text = replaceOnce(text, EXPORT_CLASS, '\nclass SyntaxError extends Error {\n');
  if (!text.trimEnd().endsWith(EXPORT_PARSE)) throw new Error(`anchor ${JSON.stringify(EXPORT_PARSE.trim())} not at the end`);
  text = text.trimEnd().slice(0, -EXPORT_PARSE.length);
  if (!text.endsWith('\n}')) throw new Error('peg$parse is not the last function');

  const [prelude, parse] = splitOnce(text, PARSE_START);
  let body = parse.slice(0, -2); // without the function's closing brace
  if (!body.startsWith(PARSE_HEAD)) throw new Error(`anchor ${JSON.stringify(PARSE_HEAD.trim().slice(0, 40))} not found`);
  body = body.slice(PARSE_HEAD.length);
  const rules = START_RULES.exec(body);
  if (!rules) throw new Error('anchor "const peg$startRuleIndices = {...}" not found');
  const startRules = rules[0].replace(/\blet peg\$startRuleIndex = \d+;/, 'let peg$startRuleIndex;');
  body = body.slice(rules[0].length);
  if (!body.startsWith(CONSTS_START)) throw new Error(`anchor ${JSON.stringify(CONSTS_START.trim())} not found`);
  const [tables, afterTables] = splitOnce(body, STATE);
  const [helpers, afterHelpers] = splitOnce(afterTables, DATA_INIT);
  const [initializer, run] = splitOnce(afterHelpers, RUN);
  const [constTables, bytecodeAndRest] = splitOnce(tables, BYTECODE_START);
  const [bytecodeLiteral, afterBytecode] = splitOnce(bytecodeAndRest, BYTECODE_END);
  const [otherHelpers, interpreter] = splitOnce(helpers, DECODE + PARSE_RULE_START);
  if (createHash('sha256').update(PARSE_RULE_START + interpreter).digest('hex') !== PARSE_RULE_SHA256) {
    throw new Error('peg$parseRule is not the interpreter lib/sip/sip-grammar-rules.ts was written for');
  }
  if (source.includes(RULE_PREFIX) || source.includes(CONST_PREFIX)) throw new Error(`the grammar already uses the names ${RULE_PREFIX} or ${CONST_PREFIX}`);
  // The bytecode decoded by the grammar's own decoder, then compiled to one function per rule.
  const decode = compileFunction(`"use strict";\n${DECODE}return [\n${bytecodeLiteral}\n];`) as () => number[][];
  const compiledHelpers = `${otherHelpers}    function peg$parseRule(index) {\n        return peg$rules[index]();\n    }\n${compileRules(decode())}\n`;

  const hoisted = [
    'let input;',
    'let options;',
    'const peg$FAILED = {};',
    'let peg$source;',
    startRules,
    constTables + afterBytecode,
    'let peg$currPos = 0;',
    'let peg$savedPos = 0;',
    'let peg$posDetailsCache = [{ line: 1, column: 1 }];',
    'let peg$maxFailPos = 0;',
    'let peg$maxFailExpected = [];',
    'let peg$silentFails = 0;',
    'let peg$result;',
    compiledHelpers,
    initializer,
  ].join('\n');
  const perCall = `function peg$parse(input1, options1) {
    input = input1;
    options = options1 !== undefined ? options1 : {};
    peg$source = options.grammarSource;
    peg$startRuleIndex = ${rules[1]};
    peg$currPos = 0;
    peg$savedPos = 0;
    peg$posDetailsCache = [{ line: 1, column: 1 }];
    peg$maxFailPos = 0;
    peg$maxFailExpected = [];
    peg$silentFails = 0;
    peg$result = undefined;
${STATE.slice(STATE.indexOf('    if (options.startRule'))}${DATA_INIT}${RUN}${run}}
`;
  const out = `${prelude}\n${hoisted}\n${perCall}return peg$parse;\n`;
  if (/^\s*(import|export)\b/m.test(out)) throw new Error('an import or export is left');
  // The ES module was strict; so is the function.
  return `"use strict";\n${out}`;
}

/** Compiles the transformed grammar once, with sip.js's own NameAddrHeader and URI. */
export function compileFastGrammar(source: string, filename: string): PegParse {
  const factory = compileFunction(transformGrammarSource(source), ['NameAddrHeader', 'URI'], { filename: `${filename} (tables built once, rules compiled: lib/sip/sip-grammar.ts)` });
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

/**
 * Installs the compiled grammar as sip.js's `Grammar.parse`, once per process (later calls return
 * the first outcome). Never throws: when it cannot, sip.js's parser stays and `reason` says why.
 */
export const installFastGrammar: () => FastGrammarOutcome = patchOnce('sip.js grammar', 'tables built once, rules compiled (lib/sip/sip-grammar.ts)', 'its own parser stays', () => {
  const file = grammarSourcePath();
  const fast = asGrammarParse(compileFastGrammar(readFileSync(file, 'utf8'), file));
  const original = Grammar.parse as GrammarParse;
  for (const [input, rule] of SELF_CHECK) {
    const [mine, theirs] = [JSON.stringify(fast(input, rule)), JSON.stringify(original(input, rule))];
    if (mine !== theirs) throw new Error(`the compiled grammar reads ${JSON.stringify(input)} (${rule}) differently`);
  }
  (Grammar as { parse: GrammarParse }).parse = fast;
});
