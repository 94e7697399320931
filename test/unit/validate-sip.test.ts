/**
 * The checks that stand between a flow and a SIP header: the caller ID (From user), the caller name
 * (From display name), extra headers; and the SIP line's own settings (codecs, DTMF mode, incoming
 * REFER, outbound proxy), each refusal naming what is wrong.
 */
import { strict as assert } from 'node:assert';
import { InvalidInputError, NotSupportedError } from '../../lib/errors';
import { VoiceLine } from '../../lib/line/voice-line';
import { parseCodecs, SipBackend, SipBackendOptions } from '../../lib/sip/sip-backend';
import { MAX_EXTRA_HEADERS, MAX_SIP_TARGET_LENGTH, isSipTarget, validateCallTarget, validateDisplayName, validateSipHeaders, validateSipUser } from '../../lib/validate';
import { startLine } from '../helpers/at-harness';

describe('validateSipUser (caller ID)', () => {
  it('accepts numbers and SIP user names', () => {
    assert.equal(validateSipUser('+4930123456'), '+4930123456');
    assert.equal(validateSipUser(4930123456), '4930123456');
    assert.equal(validateSipUser(' alice.smith '), 'alice.smith');
    assert.equal(validateSipUser('anonymous'), 'anonymous');
  });

  for (const bad of ['1001@evil.example', '1001;user=phone', 'a b', '1001\r\nVia: x', 'sip:1001', '100%41', 'a?b', '1'.repeat(65)]) {
    it(`refuses ${JSON.stringify(bad)}, showing it`, () => {
      assert.throws(
        () => validateSipUser(bad),
        (err: Error) => err instanceof InvalidInputError && /^the caller ID ".*" is not valid: use letters, digits/.test(err.message) && !/[\r\n]/.test(err.message),
      );
    });
  }

  it('refuses what is not text, and empty text', () => {
    assert.throws(() => validateSipUser({}), /the caller ID must be a string, got an object/);
    assert.throws(() => validateSipUser('  '), /the caller ID is empty/);
    assert.throws(() => validateSipUser(-1), /must be a string, got number -1/);
  });
});

describe('validateDisplayName (caller name)', () => {
  it('accepts names people write, accents included', () => {
    assert.equal(validateDisplayName('Support Desk'), 'Support Desk');
    assert.equal(validateDisplayName("Zoë O'Brien (Sales) #2"), "Zoë O'Brien (Sales) #2");
  });

  it('refuses quotes, backslashes and line breaks, which would end the quoted name or start a header', () => {
    for (const bad of ['Desk"', 'a\\b', 'Desk\r\nX-Evil: 1', 'tab\there', 'x'.repeat(101)]) {
      assert.throws(() => validateDisplayName(bad, 'caller name'), /^InvalidInputError: the caller name ".*" is not valid: at most 100 characters, no quotes/);
    }
    assert.throws(() => validateDisplayName(42, 'caller name'), /the caller name must be a string, got number 42/);
  });
});

describe('validateSipHeaders (extra headers)', () => {
  it('gives Name: value lines, numbers as text, values trimmed', () => {
    assert.deepEqual(validateSipHeaders({ 'X-Ticket': 4711, 'P-Asserted-Identity': ' <sip:+4930123456@pbx> ', 'X-Tab': 'a\tb' }), [
      'X-Ticket: 4711',
      'P-Asserted-Identity: <sip:+4930123456@pbx>',
      'X-Tab: a\tb',
    ]);
    assert.deepEqual(validateSipHeaders({}), []);
  });

  it('refuses a value with CR or LF (header injection), showing it escaped', () => {
    assert.throws(
      () => validateSipHeaders({ 'X-Ticket': '1\r\nFrom: <sip:evil@x>' }),
      (err: Error) => err instanceof InvalidInputError && err.message === 'the value of header "X-Ticket" contains a line break or a control character: "1\\r\\nFrom: <sip:evil@x>"',
    );
    assert.throws(() => validateSipHeaders({ 'X-A': 'a\nb' }), /contains a line break/);
    assert.throws(() => validateSipHeaders({ 'X-A': 'a\x00b' }), /control character/);
  });

  it('refuses the headers the line writes itself, in any case and in compact form', () => {
    // Replaces / Referred-By (b): only the line sets them, when it follows a REFER (DialOptions.referral).
    for (const name of ['From', 'to', 'Call-ID', 'CSeq', 'VIA', 'Contact', 'Content-Length', 'Max-Forwards', 'Content-Type', 'f', 'i', 'l', 'm', 'v', 'Route', 'Proxy-Authorization', 'Replaces', 'referred-by', 'b']) {
      assert.throws(() => validateSipHeaders({ [name]: 'x' }), new RegExp(`^InvalidInputError: the header "${name}" cannot be set from a flow: the line writes it itself$`));
    }
  });

  it('refuses a name that is not a token, a repeated name, a value that is not text', () => {
    assert.throws(() => validateSipHeaders({ 'X Ticket': '1' }), /the header name "X Ticket" in the SIP headers is not valid/);
    assert.throws(() => validateSipHeaders({ 'X-Ticket:': '1' }), /the header name "X-Ticket:"/);
    assert.throws(() => validateSipHeaders({ 'X-\r\nA': '1' }), /the header name "X-\\r\\nA"/);
    assert.throws(() => validateSipHeaders({ 'X-A': '1', 'x-a': '2' }), /the header "x-a" is given twice/);
    assert.throws(() => validateSipHeaders({ 'X-A': { a: 1 } }), /the value of header "X-A" must be a string, got an object/);
    assert.throws(() => validateSipHeaders({ 'X-A': 'x'.repeat(1001) }), /too long: 1001 characters, at most 1000/);
  });

  it('refuses what is not an object of headers, and too many', () => {
    assert.throws(() => validateSipHeaders('X-A: 1'), /must be an object of header names and values, such as \{ "X-Ticket": "4711" \}, got string X-A: 1/);
    assert.throws(() => validateSipHeaders(['X-A: 1']), /got an array/);
    const many = Object.fromEntries(Array.from({ length: MAX_EXTRA_HEADERS + 1 }, (_, i) => [`X-H${i}`, '1']));
    assert.throws(() => validateSipHeaders(many), /too many: 21, at most 20/);
  });
});

describe('SIP line settings (SipBackend refuses them at start, naming the setting)', () => {
  const base: SipBackendOptions = { lineId: 'l', server: '127.0.0.1:5060', username: '1001' };

  it('codecs: a list in order of preference, any case, commas or spaces', () => {
    assert.deepEqual(parseCodecs('PCMU,PCMA'), ['PCMU', 'PCMA']);
    assert.deepEqual(parseCodecs('pcma pcmu'), ['PCMA', 'PCMU']);
    assert.deepEqual(parseCodecs(['PCMA']), ['PCMA']);
    assert.throws(() => parseCodecs('PCMU,G729'), /^InvalidInputError: the codecs setting names "G729", which this line cannot use: list PCMU and\/or PCMA in order of preference/);
    assert.throws(() => parseCodecs('PCMU,pcmu'), /names PCMU twice/);
    assert.throws(() => parseCodecs(' , '), /the codecs setting must list PCMU and\/or PCMA .*, got nothing/);
    assert.throws(() => parseCodecs(7), /got number 7/);
  });

  it('each bad setting is an InvalidInputError that names it', () => {
    const refused: Array<[Partial<SipBackendOptions>, RegExp]> = [
      [{ codecs: ['G722' as never] }, /the codecs setting names "G722"/],
      [{ dtmfMode: 'sip-info' as never }, /^the DTMF mode must be one of rfc4733, info, inband, got string sip-info$/],
      [{ incomingRefer: 'accept' as never }, /^the incoming REFER setting must be one of follow, refuse, got string accept$/],
      [{ displayName: 'Desk\r\nX: 1' }, /^the display name "Desk\\r\\nX: 1" is not valid/],
      [{ outboundProxy: 'proxy example' }, /^the outbound proxy must be host\[:port\], such as proxy\.example\.com:5060: outboundProxy: "proxy example" is not a host name/],
      [{ outboundProxy: 'proxy.example.com:99999' }, /^the outbound proxy must be host\[:port\]/],
      [{ maxCalls: -1 }, /^the maximum number of calls must be a whole number/],
      [{ tls: { rejectUnauthorized: 'yes' as never } }, /^the TLS certificate check must be on or off/],
      [{ transferNotifyTimeoutMs: 0 }, /^the transfer NOTIFY timeout must be a number of milliseconds above 0, got number 0$/],
    ];
    for (const [settings, message] of refused) {
      assert.throws(() => new SipBackend({ ...base, ...settings }), (err: Error) => err instanceof InvalidInputError && message.test(err.message), JSON.stringify(settings));
    }
  });

  it('a VoiceLine with a bad SIP setting shows it as its error status when it starts (no crash, nothing sent)', async () => {
    const line = new VoiceLine({ id: 'l', backend: 'sip', server: '127.0.0.1:5060', username: '1001', dtmfMode: 'tones' as never });
    await line.start();
    assert.deepEqual(line.status, { state: 'error', text: 'the DTMF mode must be one of rfc4733, info, inband, got string tones' });
    await line.stop();
  });
});

describe('SIP dial options on an AT line', () => {
  it('a caller ID, caller name or headers are refused with NotSupportedError (not ignored), and nothing is dialled', async () => {
    const h = await startLine('ec600n');
    const line = h.line;
    try {
      await assert.rejects(line.dial('5551234', { callerId: '4930123456' }), (err: Error) => err instanceof NotSupportedError && /^a caller ID cannot be set on this line \(.*\): a mobile network shows the SIM's own number/.test(err.message));
      await assert.rejects(line.dial('5551234', { callerName: 'Desk', headers: { 'X-A': '1' } }), /^NotSupportedError: a caller name and SIP headers cannot be set on this line/);
      // Invalid before unsupported: the flow learns what is wrong with the value first.
      await assert.rejects(line.dial('5551234', { callerId: 'a@b' }), InvalidInputError);
      // Empty values are "the line's own": they dial.
      const call = await line.dial('5551234', { callerId: '', callerName: '', headers: {} });
      assert.equal(call.remote.number, '5551234');
      assert.equal(h.modem().commands.filter((c) => /^ATD/.test(c)).length, 1);
    } finally {
      await h.close();
    }
  });
});

describe('validateCallTarget (whom to dial, divert or transfer to: a number or a SIP address)', () => {
  it('a number is compacted as for dialling; a SIP address is kept as written (trimmed)', () => {
    assert.equal(validateCallTarget('+49 (30) 1234-56'), '+4930123456');
    assert.equal(validateCallTarget(5551234), '5551234');
    for (const uri of ['sip:alice@pbx.example.com', 'sips:2002@192.0.2.7:5061', 'sip:bob@[2001:db8::1]:5060;transport=tcp', 'SIP:3003@127.0.0.1;user=phone']) {
      assert.equal(validateCallTarget(` ${uri} `), uri);
      assert.equal(isSipTarget(uri), true);
    }
    assert.equal(isSipTarget('5551234'), false);
    assert.equal(isSipTarget(42), false);
  });

  const bad = [
    'sip:bob@127.0.0.1\r\nX-Evil: 1',
    'sip:bob@127.0.0.1>;x',
    'sip:bob@127.0.0.1?Replaces=abc%3Bto-tag%3D1',
    'sip:@host',
    'sip:host.example.com',
    'sip:a b@host',
    'sip:"bob"@host',
    'sip:bob@host,sip:eve@host',
    `sip:${'a'.repeat(MAX_SIP_TARGET_LENGTH)}@host`,
  ];
  for (const value of bad) {
    it(`refuses ${JSON.stringify(value.slice(0, 50))}, saying how to write an address (and never printing a line break)`, () => {
      assert.throws(
        () => validateCallTarget(value, 'phone number'),
        (err: Error) => err instanceof InvalidInputError && /is not a valid SIP address: write sip:user@host\[:port\]/.test(err.message) && !/[\r\n]/.test(err.message),
      );
    });
  }

  it('a SIP address on an AT line is refused by VoiceLine.dial (InvalidInputError saying only a SIP line can), and nothing is dialled', async () => {
    const h = await startLine('ec600n');
    try {
      await assert.rejects(
        h.line.dial('sip:alice@pbx.example.com'),
        (err: Error) => err instanceof InvalidInputError && /^the phone number is a SIP address, which only a SIP line can use: give a phone number/.test(err.message),
      );
      assert.equal(h.modem().commands.filter((c) => /^ATD/.test(c)).length, 0);
    } finally {
      await h.close();
    }
  });
});
