import assert from 'node:assert/strict';
import { badRequest, messageFault, sipJsParserFault } from '../../lib/sip/transport-bad-request';

/** A request with its headers as given (`cseq` and `to` replaceable, any header left out). */
function req(method: string, o: { cseq?: string; to?: string; omit?: string[]; extra?: string[] } = {}): string {
  const headers: Array<[string, string]> = [
    ['via', 'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx1;rport'],
    ['from', 'From: <sip:a@192.0.2.1>;tag=f1'],
    ['to', `To: ${o.to ?? '<sip:b@192.0.2.2>;tag=t1'}`],
    ['call-id', 'Call-ID: abc@192.0.2.1'],
    ['cseq', `CSeq: ${o.cseq ?? `2 ${method}`}`],
    ['max-forwards', 'Max-Forwards: 70'],
  ];
  const lines = headers.filter(([name]) => !(o.omit ?? []).includes(name)).map(([, line]) => line);
  return [`${method} sip:b@192.0.2.2 SIP/2.0`, ...lines, ...(o.extra ?? []), 'Content-Length: 0', '', ''].join('\r\n');
}

describe('SIP requests judged before sip.js (CSeq, mandatory headers) and their 400 (RFC 3261 §8.2)', () => {
  it('takes well-formed requests and responses, in-dialog CSeq numbers up to 2^32-1', () => {
    assert.equal(messageFault(req('BYE')), undefined);
    assert.equal(messageFault(req('BYE', { cseq: `${2 ** 32 - 1} BYE` })), undefined);
    assert.equal(messageFault(req('INVITE', { to: '<sip:b@192.0.2.2>', cseq: `${2 ** 31 - 1} INVITE` })), undefined);
    assert.equal(messageFault(req('OPTIONS', { omit: ['max-forwards'] })), undefined, 'Max-Forwards is not required');
    assert.equal(messageFault(req('BYE', { cseq: '0 BYE' })), undefined);
    assert.equal(messageFault(`SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: x\r\nCSeq: 4 INVITE\r\n\r\n`), undefined);
  });

  it('refuses a CSeq that is not a 32-bit number, or names another method', () => {
    const cases: Array<[string, string, string]> = [
      ['BYE', '99999999999999999999999 BYE', 'CSeq Number Out Of Range'],
      ['BYE', `${2 ** 32} BYE`, 'CSeq Number Out Of Range'],
      ['BYE', '1e23 BYE', 'Bad CSeq Header'],
      ['BYE', '-1 BYE', 'Bad CSeq Header'],
      ['BYE', 'abc BYE', 'Bad CSeq Header'],
      ['BYE', '1.5 BYE', 'Bad CSeq Header'],
      ['BYE', 'BYE', 'Bad CSeq Header'],
      ['BYE', '7', 'Bad CSeq Header'],
      ['BYE', '13 INVITE', 'CSeq Method Mismatch'],
      ['BYE', '13 bye', 'CSeq Method Mismatch'],
      ['INFO', '13 BYE', 'CSeq Method Mismatch'],
    ];
    for (const [method, cseq, reason] of cases) assert.equal(messageFault(req(method, { cseq })), reason, `CSeq: ${cseq} on ${method}`);
  });

  it('a request outside a dialog (no To tag) must start below 2^31 (§8.1.1.5); a tag inside the URI is not a To tag', () => {
    assert.equal(messageFault(req('INVITE', { to: '<sip:b@192.0.2.2>', cseq: `${2 ** 31} INVITE` })), 'CSeq Number Out Of Range');
    assert.equal(messageFault(req('INVITE', { to: '<sip:b@192.0.2.2;tag=x>', cseq: `${2 ** 31} INVITE` })), 'CSeq Number Out Of Range');
    assert.equal(messageFault(req('BYE', { cseq: `${2 ** 31} BYE` })), undefined, 'in a dialog a peer may have gone past 2^31');
  });

  it('names a missing or repeated mandatory header, in the full or compact form', () => {
    for (const [name, reason] of [['via', 'Missing Via Header'], ['from', 'Missing From Header'], ['to', 'Missing To Header'], ['call-id', 'Missing Call-ID Header'], ['cseq', 'Missing CSeq Header']]) {
      assert.equal(messageFault(req('OPTIONS', { omit: [name] })), reason);
    }
    assert.equal(messageFault(req('OPTIONS', { omit: ['call-id', 'from'], extra: ['i: compact@x', 'f: <sip:a@h>;tag=9'] })), undefined);
    assert.equal(messageFault(req('OPTIONS', { extra: ['CSeq: 3 OPTIONS'] })), 'More Than One CSeq Header');
    assert.equal(messageFault(req('OPTIONS', { extra: ['Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK2'] })), undefined, 'Via may repeat');
  });

  it('drops a response whose CSeq does not read (sip.js threw on it)', () => {
    assert.equal(messageFault(`SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: x\r\nCSeq: -4 INVITE\r\n\r\n`), 'Bad CSeq Header');
  });

  it('answers 400 with the reason, Via/From/To/Call-ID/CSeq copied as they came, a To tag added when there is none', () => {
    const answer = badRequest(req('BYE', { cseq: '13 INVITE' }), 'CSeq Method Mismatch') as string;
    assert.equal(answer, [
      'SIP/2.0 400 CSeq Method Mismatch',
      'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx1;rport',
      'From: <sip:a@192.0.2.1>;tag=f1',
      'To: <sip:b@192.0.2.2>;tag=t1',
      'Call-ID: abc@192.0.2.1',
      'CSeq: 13 INVITE',
      'Content-Length: 0', '', '',
    ].join('\r\n'));
    const untagged = badRequest(req('OPTIONS', { to: '<sip:b@192.0.2.2>', cseq: '-1 OPTIONS' }), 'Bad CSeq Header') as string;
    assert.match(untagged, /^To: <sip:b@192\.0\.2\.2>;tag=[0-9a-f]{10}\r$/m);
    assert.match(untagged, /^CSeq: -1 OPTIONS\r$/m);
    assert.equal(badRequest(req('OPTIONS', { omit: ['cseq'] }), 'Missing CSeq Header')?.split('\r\n')[0], 'SIP/2.0 400 Missing CSeq Header');
    // The CSeq as the last header, a body after the blank line: copied whole, nothing of the body.
    const last = 'BYE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK9\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: z\r\nCSeq: 5 INVITE\r\n\r\nCSeq: body';
    assert.equal(badRequest(last, 'CSeq Method Mismatch'), 'SIP/2.0 400 CSeq Method Mismatch\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK9\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: z\r\nCSeq: 5 INVITE\r\nContent-Length: 0\r\n\r\n');
  });

  it('answers nothing to an ACK, a response, or a request whose Via cannot be read', () => {
    assert.equal(badRequest(req('ACK', { cseq: '1 INVITE' }), 'CSeq Method Mismatch'), undefined);
    assert.equal(badRequest('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: x\r\n\r\n', 'Bad CSeq Header'), undefined);
    assert.equal(badRequest(req('OPTIONS', { omit: ['via'] }), 'Missing Via Header'), undefined);
    assert.equal(badRequest(req('OPTIONS', { omit: ['via'], extra: ['Via: this is not a via'] }), 'Bad Via Header'), undefined);
  });

  it('puts sip.js parser complaints in a reason phrase', () => {
    assert.equal(sipJsParserFault('sip.Parser', "error parsing header 'contact'"), 'Bad Contact Header');
    assert.equal(sipJsParserFault('sip.Parser', "error parsing header 'Content-Type'"), 'Bad Content-Type Header');
    assert.equal(sipJsParserFault('sip.Parser', 'error parsing first line of SIP message: "X"'), 'Malformed Request-Line');
    assert.equal(sipJsParserFault('sip.Parser', 'malformed message'), 'Malformed Message');
    assert.equal(sipJsParserFault('sip.UserAgent', "error parsing header 'contact'"), undefined);
  });
});
