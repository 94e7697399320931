/**
 * SIP header parse cost, sip.js's own grammar against the one decoded once (lib/sip/sip-grammar.ts):
 * `node dist/bench/sip-parse.js` after `npm run build` (or a side build).
 *
 * Prints µs per parse for a Via, a name-addr (From), a Contact, and a whole INVITE through sip.js's
 * message parser (which parses the start line and several headers). One process, one core; figures
 * vary with the machine and its load.
 */
import { Core, Grammar } from 'sip.js';
import { asGrammarParse, GrammarParse, installFastGrammar, PegParse } from '../lib/sip/sip-grammar';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const original = asGrammarParse((require('sip.js/lib/grammar/pegjs/dist/grammar.js') as { parse: PegParse }).parse);
const outcome = installFastGrammar();
const fast = Grammar.parse as GrammarParse;

const QUIET = { error: () => undefined, warn: () => undefined, log: () => undefined, debug: () => undefined } as unknown as Parameters<typeof Core.Parser.parseMessage>[1];

const INVITE = [
  'INVITE sip:2002@127.0.0.1:5062;transport=udp SIP/2.0',
  'Via: SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bK-524287-1---77ba0b3b4b5b0d31',
  'Max-Forwards: 70',
  'Contact: <sip:2001@127.0.0.1:5060;transport=udp>',
  'To: <sip:2002@127.0.0.1>',
  'From: "Alice" <sip:2001@127.0.0.1>;tag=8b9c4f00',
  'Call-ID: 8d7f5c3e-2b1a-4c5d-9e8f-0a1b2c3d4e5f',
  'CSeq: 1 INVITE',
  'Content-Type: application/sdp',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

/** µs per call of `fn`, after a warm-up, over about `ms`. */
function measure(fn: () => unknown, ms = 700): number {
  const warmUntil = performance.now() + 150;
  while (performance.now() < warmUntil) fn();
  let n = 0;
  const start = process.hrtime.bigint();
  const until = performance.now() + ms;
  while (performance.now() < until) {
    for (let i = 0; i < 20; i++) fn();
    n += 20;
  }
  return Number(process.hrtime.bigint() - start) / n / 1000;
}

/** Runs `work` with sip.js's Grammar.parse set to `parse`. */
function withGrammar<T>(parse: GrammarParse, work: () => T): T {
  const before = Grammar.parse;
  (Grammar as { parse: GrammarParse }).parse = parse;
  try {
    return work();
  } finally {
    (Grammar as { parse: GrammarParse }).parse = before;
  }
}

const cases: Array<[string, (parse: GrammarParse) => unknown]> = [
  ['Via header', (parse) => parse('SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bK776asdhds', 'Via')],
  ['From (name-addr)', (parse) => parse('"Alice" <sip:alice@example.com;transport=udp>;tag=1928301774', 'Name_Addr_Header')],
  ['Contact header', (parse) => parse('<sip:alice@127.0.0.1:40112;transport=udp>;expires=600', 'Contact')],
  ['whole INVITE (sip.js message parser)', (parse) => withGrammar(parse, () => Core.Parser.parseMessage(INVITE, QUIET))],
];

console.log(outcome.reason);
console.log(`${'SIP parse'.padEnd(40)} ${'sip.js µs'.padStart(10)} ${'decoded once µs'.padStart(16)} ${'speed-up'.padStart(9)}`);
for (const [name, run] of cases) {
  const before = measure(() => run(original));
  const after = measure(() => run(fast));
  console.log(`${name.padEnd(40)} ${before.toFixed(1).padStart(10)} ${after.toFixed(1).padStart(16)} ${`${(before / after).toFixed(1)}×`.padStart(9)}`);
}
