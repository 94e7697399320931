/**
 * lib/sip/sip-grammar.ts: sip.js's grammar compiled once (its tables built once, its rules compiled
 * from bytecode to functions by lib/sip/sip-grammar-rules.ts) must read everything exactly as sip.js's
 * own generated parser does. Both run here side by side: the original is the untouched ES module
 * (sip.js/lib/grammar/pegjs/dist/grammar.js), the other is compiled from its text.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { Core, Grammar, NameAddrHeader, URI } from 'sip.js';
import { asGrammarParse, compileFastGrammar, grammarSourcePath, GrammarParse, installFastGrammar, PegParse, transformGrammarSource } from '../../lib/sip/sip-grammar';
import { compileRules } from '../../lib/sip/sip-grammar-rules';
import { mutate, seededRandom } from '../helpers/sip-fuzz';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const original = asGrammarParse((require('sip.js/lib/grammar/pegjs/dist/grammar.js') as { parse: PegParse }).parse);
const source = readFileSync(grammarSourcePath(), 'utf8');
const fast = asGrammarParse(compileFastGrammar(source, grammarSourcePath()));

/**
 * Every start rule of sip.js's grammar (its peg$startRuleIndices), each with inputs that parse and
 * inputs that must not (→ -1). Values as peers send them.
 */
const CORPUS: Record<string, string[]> = {
  Via: [
    'SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bK776asdhds',
    'SIP/2.0/TCP pc33.atlanta.com;branch=z9hG4bKnashds8;received=192.0.2.1;rport=5070',
    'SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKsipjs;keep',
    'SIP/2.0/UDP [2001:db8::1]:5080;branch=z9hG4bKq;ttl=16;maddr=224.2.0.1',
    'SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK2',
    'SIP/2.0/UDP', 'SIP/3.0/UDP host', 'not a via', '', 'SIP/2.0/UDP host;branch',
  ],
  Contact: [
    '<sip:alice@127.0.0.1:40112;transport=udp>',
    '"Mr. Watson" <sip:watson@worcester.bell-telephone.com>;q=0.7;expires=3600, "Mr. Watson" <mailto:watson@bell-telephone.com>;q=0.1',
    '*', 'sip:bob@192.0.2.4', '<sip:a@b>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=1',
    '<sip:caller@u1.example.com;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>;expires=60',
    '<<<sip:', '<sip:>', '', 'sip:a@b;q=x y',
  ],
  Name_Addr_Header: [
    '"Alice" <sip:alice@example.com;transport=udp>;tag=1928301774',
    '<sip:+15551234567@example.com;user=phone>', 'Bob <sips:bob@biloxi.example.com>',
    'sip:anonymous@anonymous.invalid;tag=abc', '"\\"quoted\\" name" <sip:q@x>', '<tel:+1-555-0100>',
    '<sip:a@b', 'just words', '',
  ],
  From: ['"Alice" <sip:alice@atlanta.com>;tag=88sja8x', 'sip:+12125551212@server.phone2net.com;tag=887s', '<sip:a@b', ''],
  To: ['Bob <sip:bob@biloxi.com>', '<sip:bob@biloxi.com>;tag=a6c85cf', 'Bob <sip:bob@biloxi.com>;tag', ''],
  Record_Route: ['<sip:p1.example.com;lr>', '<sip:p2.domain.com;lr>, <sip:p1.example.com;lr;ftag=1>', 'nonsense<', ''],
  Request_Response: [
    'INVITE sip:bob@example.com SIP/2.0', 'SIP/2.0 200 OK', 'SIP/2.0 180 Ringing', 'SIP/2.0 486 Busy Here',
    'REFER sips:x@[::1]:5061;transport=tls SIP/2.0', 'SIP/2.0 999 Nonsense', 'SIP/2.0 1 Tiny', 'INVITE sip:b SIP/3.0', 'HELLO', '',
  ],
  SIP_URI: [
    'sip:alice@atlanta.com', 'sips:alice:secretword@atlanta.com;transport=tcp', 'sip:+1-212-555-1212:1234@gateway.com;user=phone',
    'sip:alice@192.0.2.4:5060', 'sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com', 'sip:[2001:db8::10]:5070',
    'sip:', 'http://example.com', 'sip:a@b:99999999', '',
  ],
  absoluteURI: ['wss://sip.example.com:8443/ws', 'ws://127.0.0.1/', 'urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6', 'no scheme', ''],
  Call_ID: ['a84b4c76e66710@pc33.atlanta.com', 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6', '3848276298220188511@[::1]', 'two words', ''],
  CSeq: ['314159 INVITE', '1 REGISTER', '4711 BYE', '12 invite', 'INVITE 1', '1', '99999999999 INVITE', ''],
  Content_Type: ['application/sdp', 'multipart/mixed;boundary=unique-boundary-1', 'text/plain; charset=utf-8', 'message/sipfrag;version=2.0', '///', 'application', ''],
  Content_Length: ['0', '349', '-1', 'ten', ''],
  Content_Disposition: ['session', 'render;handling=optional', 'attachment; filename=smime.p7s', ';x', ''],
  Max_Forwards: ['70', '0', '255', 'many', '-1', ''],
  Refer_To: [
    '<sip:carol@cleveland.example.org>', 'sip:3003@127.0.0.1',
    '<sip:dave@denver.example.org?Replaces=12345%40192.168.118.3%3Bto-tag%3D12345%3Bfrom-tag%3D5FFE-3994>',
    '"Carol" <sip:carol@x>;method=INVITE', 'not a uri', '<>', '<sip:>', '\0', '',
  ],
  Replaces: [
    '98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff', '12adf2f34456gs5;to-tag=12345;from-tag=54321;early-only',
    'abc;to-tag=1', 'abc', '', ';to-tag=1;from-tag=2',
  ],
  // This rule takes the whole header line, name included (sip.js's own grammar: RFC 3892).
  Referred_By: [
    'Referred-By: <sip:referrer@atlanta.example.com>', 'b: "Alice" <sip:alice@x>;cid="20398823.2UWQFN309shb3@referrer.example"',
    'Referred-By: sip:a@b', '<sip:referrer@atlanta.example.com>', 'Referred-By: <', '',
  ],
  sipfrag: ['SIP/2.0 200 OK', 'SIP/2.0 100 Trying', 'SIP/2.0 603 Declined', 'SIP/2.0 200 OK\r\n', 'SIP/2.0 oops', 'garbage', ''],
  Subscription_State: ['active;expires=60', 'terminated;reason=noresource', 'pending', 'terminated;retry-after=30', 'active;expires=soon', ''],
  Event: ['refer', 'refer;id=93809824', 'presence', 'dialog;sla', 'refer;', ''],
  Session_Expires: ['1800', '4000;refresher=uac', '90;refresher=uas', '1800;refresher=', 'x', ''],
  Min_SE: ['90', '3600', 'x', ''],
  Supported: ['100rel, timer, replaces', 'path', '', 'a b'],
  Require: ['100rel', 'timer, 100rel', '', ',,'],
  WWW_Authenticate: [
    'Digest realm="atlanta.com", domain="sip:boxesbybob.com", qop="auth", nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=MD5',
    'Digest realm="127.0.0.1", nonce="Zx1y2z", qop="auth,auth-int", algorithm=SHA-256',
    'Digest realm=', 'Basic realm="x"', '',
  ],
  Proxy_Authenticate: ['Digest realm="proxy", nonce="abc", qop="auth"', 'Digest nonce', ''],
  challenge: ['Digest realm="a", nonce="b"', 'Digest', ''],
  uuid: ['f81d4fae-7dec-11d0-a765-00a0c91e6bf6', '00000000-0000-1000-8000-000A95A0E128', 'f81d4fae7dec11d0a76500a0c91e6bf6', 'nope', ''],
  host: ['atlanta.com', '192.0.2.4', '[2001:db8::1]', 'a..b', ''],
  displayName: ['Alice', '"Alice Smith"', 'two words', '<', ''],
  quoted_string: ['"hello"', '"with \\"escapes\\""', 'unquoted', '"open', ''],
  stun_URI: ['stun:stun.example.com', 'stuns:stun.example.com:5349', 'stun:', ''],
  turn_URI: ['turn:turn.example.com?transport=udp', 'turns:turn.example.com:5349?transport=tcp', 'turn:x?transport=sctp', ''],
};

/**
 * Equal results: the same JSON, the same classes at every level (sip.js's own URI and
 * NameAddrHeader, so its `instanceof` checks hold), and for those classes the same text.
 */
function assertSameResult(actual: unknown, expected: unknown, where: string): void {
  assert.equal(JSON.stringify(actual), JSON.stringify(expected), `${where}: JSON`);
  const walk = (a: unknown, e: unknown, at: string): void => {
    if (typeof e !== 'object' || e === null) {
      assert.deepEqual(a, e, at);
      return;
    }
    assert.ok(typeof a === 'object' && a !== null, `${at}: an object`);
    assert.equal(Object.getPrototypeOf(a), Object.getPrototypeOf(e), `${at}: the same class`);
    if (e instanceof URI || e instanceof NameAddrHeader) {
      assert.equal(String(a), String(e), `${at}: toString`);
      assert.deepEqual((a as URI).parameters, (e as URI).parameters, `${at}: parameters`);
    }
    if (e instanceof Map) {
      assert.deepEqual([...(a as Map<unknown, unknown>)], [...e], `${at}: Map`);
      return;
    }
    const keys = Object.keys(e as object).sort();
    assert.deepEqual(Object.keys(a as object).sort(), keys, `${at}: keys`);
    for (const k of keys) walk((a as Record<string, unknown>)[k], (e as Record<string, unknown>)[k], `${at}.${k}`);
  };
  walk(actual, expected, where);
}

/** Real messages as peers send them (Kamailio, baresip, SIPp, sip.js), and broken ones. */
const MESSAGES = [
  [
    'INVITE sip:2002@127.0.0.1:5062;transport=udp SIP/2.0',
    'Via: SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bK-524287-1---77ba0b3b4b5b0d31',
    'Max-Forwards: 70',
    'Contact: <sip:2001@127.0.0.1:5060;transport=udp>',
    'To: <sip:2002@127.0.0.1>',
    'From: "Alice" <sip:2001@127.0.0.1>;tag=8b9c4f00',
    'Call-ID: 8d7f5c3e-2b1a-4c5d-9e8f-0a1b2c3d4e5f',
    'CSeq: 1 INVITE',
    'Allow: INVITE, ACK, CANCEL, BYE, REFER, INFO, NOTIFY, OPTIONS',
    'Supported: replaces, timer',
    'Session-Expires: 1800;refresher=uac',
    'Content-Type: application/sdp',
    'Content-Length: 4',
    '',
    'v=0\n',
  ].join('\r\n'),
  [
    'SIP/2.0 200 OK',
    'v: SIP/2.0/UDP 127.0.0.1:5060;rport=5060;received=127.0.0.1;branch=z9hG4bK-1',
    'f: <sip:2001@127.0.0.1>;tag=8b9c4f00',
    't: <sip:2002@127.0.0.1>;tag=as1234',
    'i: 8d7f5c3e',
    'CSeq: 1 INVITE',
    'm: <sip:2002@127.0.0.1:5062>',
    'Record-Route: <sip:127.0.0.1;lr;ftag=8b9c4f00>, <sip:10.0.0.1;lr>',
    'WWW-Authenticate: Digest realm="127.0.0.1", nonce="Zx1y2z", qop="auth"',
    'l: 0',
    '',
    '',
  ].join('\r\n'),
  [
    'REFER sip:2002@127.0.0.1:5062 SIP/2.0',
    'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKr1',
    'From: <sip:2001@127.0.0.1>;tag=a',
    'To: <sip:2002@127.0.0.1>;tag=b',
    'Call-ID: r1',
    'CSeq: 3 REFER',
    'Refer-To: <sip:3003@127.0.0.1?Replaces=abc%40x%3Bto-tag%3D1%3Bfrom-tag%3D2>',
    'Referred-By: <sip:2001@127.0.0.1>',
    'Event: refer',
    'Subscription-State: active;expires=60',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n'),
  'OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK2\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: o\r\nCSeq: 1 OPTIONS\r\nContact: <<<sip:\r\nContent-Length: 0\r\n\r\n',
  'OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK2\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: o\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: many\r\n\r\n',
  'REFER sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK3\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>;tag=2\r\nCall-ID: r\r\nCSeq: 2 REFER\r\nRefer-To: not a uri\r\n\r\n',
  'SIP/2.0 999 Nonsense\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK4\r\n\r\n',
  'GARBAGE\r\n\r\n',
];

/** A parsed message, in words that show every header sip.js read and how. */
function describeMessage(message: ReturnType<typeof Core.Parser.parseMessage>): unknown {
  if (!message) return message;
  const m = message as unknown as Record<string, unknown> & { headers: Record<string, Array<{ parsed?: unknown; raw: string }>> };
  const headers: Record<string, unknown> = {};
  for (const [name, values] of Object.entries(m.headers)) headers[name] = values.map((v) => ({ raw: v.raw, parsed: v.parsed }));
  return {
    kind: message.constructor.name,
    method: m.method,
    ruri: m.ruri,
    statusCode: m.statusCode,
    reasonPhrase: m.reasonPhrase,
    via: m.via,
    from: m.from,
    to: m.to,
    callId: m.callId,
    cseq: m.cseq,
    fromTag: m.fromTag,
    toTag: m.toTag,
    body: m.body,
    headers,
  };
}

/** Runs `work` with sip.js's `Grammar.parse` set to `parse`, then puts back what was there. */
function withGrammar<T>(parse: GrammarParse, work: () => T): T {
  const before = Grammar.parse;
  (Grammar as { parse: GrammarParse }).parse = parse;
  try {
    return work();
  } finally {
    (Grammar as { parse: GrammarParse }).parse = before;
  }
}

describe('sip.js grammar with its tables built once (lib/sip/sip-grammar.ts)', function () {
  // sip.js's own parser takes about half a millisecond per call: the property tests below run it a
  // few thousand times.
  this.timeout(60_000);

  it('the corpus covers every start rule of sip.js 0.21.2\'s grammar', () => {
    const rules = /const peg\$startRuleIndices = \{([^}]*)\}/.exec(source)?.[1].split(',').map((entry) => entry.split(':')[0].trim());
    assert.ok(rules && rules.length > 30, 'the start rules are readable');
    assert.deepEqual(Object.keys(CORPUS).sort(), [...rules].sort());
  });

  for (const [rule, inputs] of Object.entries(CORPUS)) {
    it(`${rule}: the same result as sip.js's parser for ${inputs.length} inputs, good and bad`, () => {
      let good = 0;
      for (const input of inputs) {
        const expected = original(input, rule);
        assertSameResult(fast(input, rule), expected, `${rule} ${JSON.stringify(input)}`);
        if (expected !== -1) good++;
      }
      // The corpus tests something on both sides: parses and refusals.
      assert.ok(good > 0 && good < inputs.length, `${rule}: ${good} of ${inputs.length} parse`);
    });
  }

  it('an unknown start rule: -1 from both, as sip.js answers', () => {
    assert.equal(original('x', 'No_Such_Rule'), -1);
    assert.equal(fast('x', 'No_Such_Rule'), -1);
  });

  it('random text near SIP syntax: the same result on every start rule sip.js parses messages with', () => {
    const rules = ['Via', 'Contact', 'Name_Addr_Header', 'CSeq', 'Refer_To', 'Content_Type', 'Request_Response', 'SIP_URI', 'Replaces', 'Subscription_State'];
    const piece = fc.constantFrom('sip:', 'sips:', 'SIP/2.0', '/UDP ', '<', '>', '"', ';', '=', '@', ':', ',', ' ', 'a', 'bob', '127.0.0.1', '5060', 'tag', 'branch', 'z9hG4bK', '[::1]', '?', '%40', '\\', 'INVITE', '\t', 'Replaces', 'to-tag=1');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 14 }), fc.constantFrom(...rules), (pieces, rule) => {
        const input = pieces.join('');
        assertSameResult(fast(input, rule), original(input, rule), `${rule} ${JSON.stringify(input)}`);
      }),
      { numRuns: 400 },
    );
  });

  it('whole messages: sip.js\'s message parser reads every header the same with either grammar', () => {
    const pegOriginal = original;
    for (const text of MESSAGES) {
      const expected = withGrammar(pegOriginal, () => describeMessage(Core.Parser.parseMessage(text, QUIET)));
      const actual = withGrammar(fast, () => describeMessage(Core.Parser.parseMessage(text, QUIET)));
      assertSameResult(actual, expected, JSON.stringify(text.slice(0, 30)));
    }
    // The corpus holds messages sip.js parses and messages it drops.
    const parsed = MESSAGES.map((text) => withGrammar(pegOriginal, () => Core.Parser.parseMessage(text, QUIET)));
    assert.ok(parsed.some((m) => m) && parsed.some((m) => !m));
  });

  it('any text on every start rule: the same result (or the same refusal) as sip.js\'s parser', () => {
    const rules = Object.keys(CORPUS);
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom(...Object.values(CORPUS).flat())), fc.constantFrom(...rules), fc.nat(40), (text, rule, cut) => {
        // Whole, cut short, and with a character of another value: near-misses of good inputs too.
        for (const input of [text, text.slice(0, cut), text.slice(0, cut) + '\xff' + text.slice(cut + 1)]) {
          assertSameResult(fast(input, rule), original(input, rule), `${rule} ${JSON.stringify(input)}`);
        }
      }),
      { numRuns: 600 },
    );
  });

  it('the fuzz test\'s mutated messages (test/helpers/sip-fuzz.ts): sip.js\'s message parser reads each the same with either grammar', () => {
    const random = seededRandom(0x5eed12);
    const bases = MESSAGES.filter((text) => /\r\nCSeq: /.test(text));
    assert.ok(bases.length >= 3);
    let parsed = 0;
    let dropped = 0;
    for (let i = 0; i < 900; i++) {
      const fuzz = mutate(bases[i % bases.length], random);
      // sip.js's message parser throws on some (a response whose CSeq does not read): the same throw from both.
      const read = (grammar: GrammarParse): unknown => withGrammar(grammar, () => {
        try {
          return describeMessage(Core.Parser.parseMessage(fuzz.text, QUIET));
        } catch (err) {
          return { threw: String(err) };
        }
      });
      const expected = read(original);
      assertSameResult(read(fast), expected, `${fuzz.mutations.join(', ')}: ${JSON.stringify(fuzz.text.slice(0, 60))}`);
      if (expected && !(expected as { threw?: string }).threw) parsed++;
      else dropped++;
    }
    // Both kinds were compared: messages sip.js reads and messages it drops.
    assert.ok(parsed > 0 && dropped > 0, `${parsed} parsed, ${dropped} dropped`);
  });

  it('the rules run as compiled functions, not through the bytecode interpreter', () => {
    const text = transformGrammarSource(source);
    assert.match(text, /function peg\$rule_0\(\)/);
    assert.doesNotMatch(text, /const peg\$bytecode = /);
    assert.doesNotMatch(text, /switch \(bc\[ip\]\)/);
  });

  it('installs once as sip.js\'s Grammar.parse; sip.js\'s helpers then return its own classes', () => {
    const first = installFastGrammar();
    assert.deepEqual(first, { installed: true, reason: first.reason }, first.reason);
    assert.equal(installFastGrammar(), first, 'once per process');
    const header = Grammar.nameAddrHeaderParse('"Alice" <sip:alice@example.com>;tag=1');
    assert.ok(header instanceof NameAddrHeader);
    assert.ok(header.uri instanceof URI);
    assert.equal(header.toString(), '"Alice" <sip:alice@example.com>;tag=1');
    assert.equal(Grammar.URIParse('not a uri'), undefined);
    assert.ok(Grammar.URIParse('sip:bob@example.com:5070') instanceof URI);
    assert.equal(Grammar.parse('f81d4fae-7dec-11d0-a765-00a0c91e6bf6', 'uuid'), 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6');
  });

  it('another sip.js (an anchor missing): the transformation refuses, naming what it did not find', () => {
    const changed: Array<[string, string]> = [
      ['import { URI } from "../../uri.js";\n', 'import { URI } from "../uri.js";\n'],
      ['    const peg$bytecode = [\n', '    let peg$bytecode = [\n'],
      ['export const parse = peg$parse;', 'export { peg$parse as parse };'],
      ['    let peg$silentFails = 0;\n', '    let peg$silentFails = 1;\n'],
      ['    const peg$source = options.grammarSource;\n', '    const peg$source = options.source;\n'],
      ['    options.data = {}; // Object', '    options.data = []; // Object'],
      ['    peg$result = peg$parseRule(peg$startRuleIndex);\n', '    peg$result = peg$parseRule(peg$startRuleIndex || 0);\n'],
      // The interpreter the compiled rules mirror, changed in one instruction.
      ['                        stack.push(input.substring(stack.pop(), peg$currPos));\n', '                        stack.push(input.slice(stack.pop(), peg$currPos));\n'],
      ['    function peg$decode(s) {\n', '    function peg$decode(t) {\n'],
    ];
    for (const [from, to] of changed) {
      assert.ok(source.includes(from), `the test's anchor ${JSON.stringify(from)} is in sip.js's grammar`);
      assert.throws(() => transformGrammarSource(source.replace(from, to)), Error, `${JSON.stringify(to)} refused`);
    }
    assert.throws(() => transformGrammarSource(''), /not found/);
    assert.doesNotThrow(() => transformGrammarSource(source));
  });
});

describe('sip.js grammar rules compiled from bytecode (lib/sip/sip-grammar-rules.ts)', () => {
  // Opcodes as sip.js's interpreter numbers them: 5 PUSH_CURR_POS, 3 PUSH_FAILED, 6 POP, 15 IF_NOT_ERROR,
  // 16 WHILE_NOT_ERROR, 23 FAIL, 27 RULE.
  it('bytecode a function of locals cannot mirror is refused, naming the rule', () => {
    const refused: Array<[number[][], RegExp]> = [
      [[[5, 15, 1, 0, 3]], /rule 0: the branches of a condition leave the stack at different depths/], // a push in one branch only
      [[[5, 16, 1, 3]], /rule 0: a loop moves the stack/],
      [[[5, 3]], /rule 0: ends with 2 values on the stack, not one/],
      [[[6]], /rule 0: the stack underflows/],
      [[[99]], /rule 0: unknown opcode 99/],
      [[[27, 4]], /rule 0: calls rule 4, which does not exist/],
      [[[23]], /rule 0: an instruction runs past the rule's end/],
    ];
    for (const [bytecode, error] of refused) assert.throws(() => compileRules(bytecode), error, JSON.stringify(bytecode));
  });

  it('a rule is one function whose locals hold the stack, calling the others directly', () => {
    const code = compileRules([[27, 1], [5]]);
    assert.match(code, /function peg\$rule_0\(\) \{\n {2}let s0;\n {2}s0 = peg\$rule_1\(\);\n {2}return s0;\n\}/);
    assert.match(code, /const peg\$rules = \[peg\$rule_0, peg\$rule_1\];/);
  });
});

/** sip.js's parser logs its complaints; the test wants none of them. */
const QUIET = { error: () => undefined, warn: () => undefined, log: () => undefined, debug: () => undefined } as unknown as Parameters<typeof Core.Parser.parseMessage>[1];
