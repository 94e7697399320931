/**
 * What a SIP line dials (lib/sip/sip-target.ts), the identity it sends (lib/sip/sip-privacy.ts) and
 * the identity it reads from a caller's Remote-Party-ID / P-Asserted-Identity (lib/sip/sip-caller-id.ts),
 * without a network. The same rules against real peers: test/integration/sip-targets.test.ts.
 */
import assert from 'node:assert/strict';
import { Grammar } from 'sip.js';
import { VoiceLine } from '../../lib/line/voice-line';
import { callerOf, readNameAddr, unquote } from '../../lib/sip/sip-caller-id';
import { outgoingIdentity } from '../../lib/sip/sip-privacy';
import { parseSipCallerId, sipTargetUri, validateSipTarget } from '../../lib/sip/sip-target';

const HOST = 'pbx.example.com:5070';
const dialled = (value: unknown): { uri: string; number: string } => {
  const t = sipTargetUri(validateSipTarget(value), HOST);
  return { uri: t.uri.toString(), number: t.number };
};

describe('SIP targets (lib/sip/sip-target.ts)', function () {
  it('a bare user or extension goes to sip:<user>@<domain>', function () {
    assert.deepEqual(dialled('bob'), { uri: `sip:bob@${HOST}`, number: 'bob' });
    assert.deepEqual(dialled('alice.smith'), { uri: `sip:alice.smith@${HOST}`, number: 'alice.smith' });
    assert.deepEqual(dialled('1001'), { uri: `sip:1001@${HOST}`, number: '1001' });
    assert.deepEqual(dialled(1001), { uri: `sip:1001@${HOST}`, number: '1001' });
    assert.deepEqual(dialled('*97'), { uri: `sip:*97@${HOST}`, number: '*97' });
  });

  it('a service code keeps its # escaped in the URI (%23), the number as written', function () {
    assert.deepEqual(dialled('#31#1234'), { uri: `sip:%2331%231234@${HOST}`, number: '#31#1234' });
  });

  it('an E.164 number gets ;user=phone (RFC 3261 §19.1.6), separators removed', function () {
    assert.deepEqual(dialled('+49 (30) 1234-56'), { uri: `sip:+4930123456@${HOST};user=phone`, number: '+4930123456' });
  });

  it('tel: URIs (RFC 3966): global and local with phone-context, params kept in the user part unescaped', function () {
    assert.deepEqual(dialled('tel:+49-30-1234'), { uri: `sip:+49301234@${HOST};user=phone`, number: '+49301234' });
    assert.deepEqual(dialled('TEL:1234;phone-context=example.com'), { uri: `sip:1234;phone-context=example.com@${HOST};user=phone`, number: '1234' });
    assert.deepEqual(dialled('tel:1234;phone-context=+49-30'), { uri: `sip:1234;phone-context=+4930@${HOST};user=phone`, number: '1234' });
    assert.deepEqual(dialled('tel:+4930123;ext=77'), { uri: `sip:+4930123;ext=77@${HOST};user=phone`, number: '+4930123' });
    // sip.js's own grammar reads what we send as a telephone-subscriber user with the user=phone param.
    const parsed = Grammar.URIParse(dialled('tel:1234;phone-context=example.com').uri);
    assert.equal(parsed?.user, '1234;phone-context=example.com');
    assert.equal(parsed?.getParam('user'), 'phone');
  });

  it('the URI keeps its form when sip.js clones it (the Request-URI and To are clones)', function () {
    const t = sipTargetUri(validateSipTarget('tel:1234;phone-context=example.com'), HOST);
    assert.equal(t.uri.clone().toRaw(), t.uri.toString());
    assert.equal(t.uri.clone().toString(), `sip:1234;phone-context=example.com@${HOST};user=phone`);
  });

  it('sip:, sips: and user@host addresses', function () {
    assert.deepEqual(dialled('sip:bob@example.com:5080'), { uri: 'sip:bob@example.com:5080', number: 'bob' });
    assert.deepEqual(dialled('SIPS:bob@example.com;transport=tls'), { uri: 'sips:bob@example.com;transport=tls', number: 'bob' });
    assert.deepEqual(dialled('bob@example.com'), { uri: 'sip:bob@example.com', number: 'bob' });
  });

  it('refuses what could reach a header, saying what a SIP line accepts', function () {
    for (const bad of ['bob\r\nX-Evil: 1', 'a b', '<sip:bob@h>', 'sip:bob@h?Replaces=x', 'http://example.com', 'bob"', 'bob;x=1', 'tel:+49"30', 'bob@h\r\nX: y']) {
      assert.throws(() => validateSipTarget(bad), { name: 'InvalidInputError' }, JSON.stringify(bad));
    }
    assert.throws(() => validateSipTarget('a b'), { message: /is not valid on a SIP line: give an extension or user \(bob, 1001, \*97\), a phone number .*a SIP address .*a tel: URI/ });
    assert.throws(() => validateSipTarget('tel:1234'), { message: /a local number needs a phone-context/ });
    assert.throws(() => validateSipTarget('tel:+4930;phone-context=example.com'), { message: /a global number \(\+\.\.\.\) takes no phone-context/ });
    assert.throws(() => validateSipTarget('tel:+1234567890123456'), { message: /1 to 15 digits/ });
    assert.throws(() => validateSipTarget('tel:+4930;ext=1;ext=2'), { message: /given twice/ });
    assert.throws(() => validateSipTarget({}), { message: /must be a string: an extension or user/ });
  });

  it('a SIP line takes users and tel: URIs; an AT line keeps its digits-only rule and message', function () {
    const sip = new VoiceLine({ id: 's', backend: 'sip', server: '127.0.0.1', username: '1001' });
    assert.equal(sip.callTarget('bob', 'phone number'), 'bob');
    assert.equal(sip.callTarget('tel:+4930123', 'phone number'), 'tel:+4930123');
    assert.throws(() => sip.callTarget('bob smith', 'phone number'), { message: /not valid on a SIP line: give an extension or user/ });
    const at = new VoiceLine({ id: 'a', backend: 'at', serialPort: 'sim:generic' });
    assert.throws(() => at.callTarget('bob', 'phone number'), { message: /the phone number "bob" is not valid: use digits, \* and #/ });
  });
});

describe('caller ID and privacy on our INVITE (lib/sip/sip-privacy.ts)', function () {
  const aor = () => {
    const u = Grammar.URIParse('sip:1001@pbx.example.com');
    if (!u) throw new Error('aor');
    return u;
  };

  it('caller IDs: a user, an E.164 number (;user=phone), a tel: URI (also asserted as tel)', function () {
    assert.deepEqual(parseSipCallerId('support'), { user: 'support', phone: false, tel: false });
    assert.deepEqual(parseSipCallerId('+49 30 123'), { user: '+4930123', phone: true, tel: false });
    assert.deepEqual(parseSipCallerId('tel:+49-30-123'), { user: '+4930123', phone: true, tel: true });
    assert.throws(() => parseSipCallerId('tel:123;phone-context=x'), { message: /must be a global tel: URI without parameters/ });
    assert.throws(() => parseSipCallerId('1001@evil'), { message: /is not valid/ });
    const plain = outgoingIdentity({ callerId: '+4930123', aor: aor() });
    assert.equal(plain.fromUri?.toString(), 'sip:+4930123@pbx.example.com;user=phone');
    assert.deepEqual(plain.extraHeaders, []);
    const tel = outgoingIdentity({ callerId: 'tel:+4930123', callerName: 'Desk', aor: aor() });
    assert.equal(tel.fromUri?.toString(), 'sip:+4930123@pbx.example.com;user=phone');
    assert.equal(tel.fromDisplayName, 'Desk');
    assert.deepEqual(tel.extraHeaders, ['P-Asserted-Identity: "Desk" <tel:+4930123>']);
  });

  it('privacy: anonymous From, Privacy: id, and our real identity asserted for the trunk', function () {
    const own = outgoingIdentity({ privacy: true, lineName: 'Line 1', aor: aor() });
    assert.equal(own.fromUri?.toString(), 'sip:anonymous@anonymous.invalid');
    assert.equal(own.fromDisplayName, 'Anonymous');
    assert.deepEqual(own.extraHeaders, ['Privacy: id', 'P-Asserted-Identity: "Line 1" <sip:1001@pbx.example.com>']);
    const tel = outgoingIdentity({ privacy: true, callerId: 'tel:+4930123', aor: aor() });
    assert.deepEqual(tel.extraHeaders, ['Privacy: id', 'P-Asserted-Identity: <tel:+4930123>']);
    assert.throws(() => outgoingIdentity({ privacy: true, callerName: 'A"\r\nB', aor: aor() }), { name: 'InvalidInputError' });
  });
});

describe('the caller\'s identity: Remote-Party-ID, P-Asserted-Identity, quoted names (lib/sip/sip-caller-id.ts)', function () {
  const request = (user: string | undefined, host: string, headers: Record<string, string[]> = {}, displayName = '') => ({
    from: { uri: { user, host, toString: () => `sip:${user ? `${user}@` : ''}${host}` }, displayName },
    getHeader: (name: string) => headers[name.toLowerCase()]?.[0],
    getHeaders: (name: string) => headers[name.toLowerCase()] ?? [],
  });

  it('reads name-addrs with quoted, escaped names and tel: URIs', function () {
    assert.deepEqual(readNameAddr('"Smith, \\"Bob\\"" <tel:+49-30-123>;party=calling;privacy=off'), {
      number: '+4930123',
      name: 'Smith, "Bob"',
      params: { party: 'calling', privacy: 'off' },
    });
    assert.deepEqual(readNameAddr('<sip:2002@pbx;user=phone>'), { number: '2002', params: {} });
    assert.equal(readNameAddr('<<garbage'), undefined);
    assert.equal(unquote('A \\"B\\"'), 'A "B"');
  });

  it('Remote-Party-ID gives the number and name when the From has none; privacy=full / uri withhold it, name hides the name', function () {
    const rpid = (privacy: string) => request(undefined, 'gw', { 'remote-party-id': [`"Bob" <sip:+4930123@gw>;party=calling;privacy=${privacy}`] });
    assert.deepEqual(callerOf(rpid('off')), { number: '+4930123', uri: 'sip:gw', name: 'Bob' });
    assert.deepEqual(callerOf(rpid('full')), { number: '', uri: 'sip:gw', withheld: true, withheldReason: 'withheld' });
    assert.deepEqual(callerOf(rpid('uri')), { number: '', uri: 'sip:gw', name: 'Bob', withheld: true, withheldReason: 'withheld' });
    assert.deepEqual(callerOf(rpid('name')), { number: '+4930123', uri: 'sip:gw' });
  });

  it('the calling party of several Remote-Party-IDs; P-Asserted-Identity comes before it', function () {
    const r = request(undefined, 'gw', {
      'remote-party-id': ['<sip:999@gw>;party=called, "Alice" <sip:555@gw>;party=calling'],
    });
    assert.deepEqual(callerOf(r), { number: '555', uri: 'sip:gw', name: 'Alice' });
    const both = request(undefined, 'gw', { 'p-asserted-identity': ['"Carrier" <tel:+4930999>'], 'remote-party-id': ['<sip:555@gw>;party=calling'] });
    assert.deepEqual(callerOf(both), { number: '+4930999', uri: 'sip:gw', name: 'Carrier' });
  });

  it('a From display name with escaped quotes is unescaped; an anonymous one is not a name', function () {
    assert.equal(callerOf(request('1001', 'pbx', {}, 'Smith \\"Bob\\"')).name, 'Smith "Bob"');
    assert.equal(callerOf(request('1001', 'pbx', {}, 'Anonymous')).name, undefined);
  });
});
