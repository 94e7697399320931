import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseVia, peekMessage, redactForLog, responseDestination, stampReceived, transactionKey } from '../../lib/sip/transport-message';

const INVITE = [
  'INVITE sip:alice@10.0.0.5:5062 SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bKabc;rport, SIP/2.0/UDP 192.0.2.99;branch=z9hG4bKold',
  'Via: SIP/2.0/UDP 192.0.2.100;branch=z9hG4bKolder',
  'From: <sip:bob@example.test>;tag=1',
  'To: <sip:alice@example.test>',
  'Call-ID: c1',
  'CSeq: 7 INVITE',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

describe('SIP message peeking for the transports (start line, CSeq, top Via)', () => {
  it('reads a request: method, CSeq method, the first value of the first Via', () => {
    const peek = peekMessage(INVITE);
    assert.equal(peek?.kind, 'request');
    assert.equal(peek?.method, 'INVITE');
    assert.equal(peek?.cseqMethod, 'INVITE');
    assert.equal(peek?.via?.transport, 'UDP');
    assert.equal(peek?.via?.host, '192.0.2.10');
    assert.equal(peek?.via?.port, 5070);
    assert.equal(peek?.via?.params.get('branch'), 'z9hG4bKabc');
    assert.equal(peek?.via?.params.get('rport'), '');
    assert.equal(transactionKey(peek!), 'z9hG4bKabc INVITE');
  });

  it('reads a response, with the compact Via form and a bracketed IPv6 sent-by', () => {
    const peek = peekMessage('SIP/2.0 486 Busy Here\r\nv: SIP/2.0/TCP [2001:db8::1]:5080;branch=z9hG4bKq\r\nCSeq: 1 INVITE\r\n\r\n');
    assert.equal(peek?.kind, 'response');
    assert.equal(peek?.status, 486);
    assert.equal(peek?.via?.host, '2001:db8::1');
    assert.equal(peek?.via?.port, 5080);
  });

  it('returns undefined for text that is not SIP', () => {
    assert.equal(peekMessage('GET / HTTP/1.1\r\n\r\n'), undefined);
    assert.equal(peekMessage(''), undefined);
    assert.equal(peekMessage('\u0000\u0001garbage'), undefined);
  });

  it('stamps received and fills rport in the top Via only (RFC 3261 §18.2.1, RFC 3581)', () => {
    const stamped = stampReceived(INVITE, '198.51.100.7', 40000);
    assert.match(stamped, /^Via: SIP\/2\.0\/UDP 192\.0\.2\.10:5070;branch=z9hG4bKabc;received=198\.51\.100\.7;rport=40000, SIP\/2\.0\/UDP 192\.0\.2\.99;branch=z9hG4bKold\r$/m);
    assert.match(stamped, /^Via: SIP\/2\.0\/UDP 192\.0\.2\.100;branch=z9hG4bKolder\r$/m);
    // Nothing else changed.
    assert.equal(stamped.replace(';received=198.51.100.7;rport=40000', ';rport'), INVITE);
  });

  it('keeps an rport that already has a value, and replaces a received', () => {
    const text = 'BYE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h:1;received=1.1.1.1;rport=9;branch=z9hG4bKz\r\nCSeq: 2 BYE\r\n\r\n';
    const stamped = stampReceived(text, '10.1.1.1', 5000);
    assert.match(stamped, /^Via: SIP\/2\.0\/UDP h:1;rport=9;branch=z9hG4bKz;received=10\.1\.1\.1\r$/m);
  });

  it('sends a response to received:rport, else the sent-by host and port, else port 5060', () => {
    const dest = (via: string) => responseDestination(peekMessage(`SIP/2.0 200 OK\r\nVia: ${via}\r\nCSeq: 1 BYE\r\n\r\n`)!, 5060);
    assert.deepEqual(dest('SIP/2.0/UDP a.example:5070;branch=z9hG4bK1;received=10.0.0.1;rport=4000'), { host: '10.0.0.1', port: 4000 });
    assert.deepEqual(dest('SIP/2.0/UDP a.example:5070;branch=z9hG4bK1;received=10.0.0.1'), { host: '10.0.0.1', port: 5070 });
    assert.deepEqual(dest('SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK1'), { host: '10.0.0.2', port: 5060 });
    assert.deepEqual(dest('SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK1;rport'), { host: '10.0.0.2', port: 5060 });
  });

  it('refuses a Via that does not read', () => {
    assert.equal(parseVia('SIP/2.0/UDP'), undefined);
    assert.equal(parseVia('HTTP/1.1 host'), undefined);
    assert.equal(parseVia('SIP/2.0/UDP host:99999'), undefined);
  });

  it('redacts digest credentials in log text', () => {
    const text = 'REGISTER sip:x SIP/2.0\r\nAuthorization: Digest username="alice", response="abc"\r\nproxy-authorization:Digest response="d"\r\nVia: x\r\n\r\n';
    assert.equal(redactForLog(text), 'REGISTER sip:x SIP/2.0\r\nAuthorization: <redacted>\r\nproxy-authorization: <redacted>\r\nVia: x\r\n\r\n');
  });

  it('never throws on arbitrary text (property)', () => {
    const sipish = fc.array(fc.constantFrom('INVITE sip:a SIP/2.0', 'SIP/2.0 200 OK', 'Via:', 'v: SIP/2.0/UDP', ';rport', ';received=', ',', '\r\n', ':', ' ', 'CSeq: 1', '[', ']'), { maxLength: 30 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), sipish), fc.ipV4(), fc.integer({ min: 1, max: 65535 }), (text, ip, port) => {
        const peek = peekMessage(text);
        stampReceived(text, ip, port);
        redactForLog(text);
        if (peek) {
          responseDestination(peek, 5060);
          transactionKey(peek);
        }
      }),
      { numRuns: 500 },
    );
  });
});
