import assert from 'node:assert/strict';
import { AT_LINE_SETTINGS, atBackendOptions } from '../../lib/at/at-line-settings';
import type { Call } from '../../lib/call/call';
import { checkSettings, readSettings } from '../../lib/line/line-settings';
import { lineConfigFrom } from '../../lib/line/voice-line';
import type { SipCallFeature } from '../../lib/sip/sip-call-context';
import { allowedMethods, CORE_METHODS, supportedTags } from '../../lib/sip/sip-features';
import { SIP_LINE_SETTINGS, sipBackendOptions, SipLineSettings } from '../../lib/sip/sip-line-settings';
import { fanOutDelegate } from '../../lib/sip/sip-session-delegate';
import { memoryLog } from '../helpers/at-harness';

describe('the settings pipeline: voice-line properties → line config → backend options (lib/line/line-settings.ts)', function () {
  it('reads a SIP line as the editor stores it: numbers from strings, text trimmed, empty text not set, checkboxes as given', function () {
    const c = lineConfigFrom('L', {
      backend: 'sip', name: 'desk', server: ' pbx:5060 ', transport: 'tcp', username: '1001', domain: '', register: false, localPort: '5070',
      rtpPortMin: '41000', rtpPortMax: 41015, displayName: ' Front ', outboundProxy: '', codecs: 'PCMA', dtmfMode: 'info', maxCalls: '3',
      incomingRefer: 'follow', tlsVerify: false, tlsCa: '', autoAnswer: '2', autoReject: true, serialPort: '/dev/ttyUSB0',
    });
    assert.deepEqual(c, {
      id: 'L', backend: 'sip', name: 'desk', autoAnswer: 2, autoReject: true, server: 'pbx:5060', transport: 'tcp', username: '1001', register: false,
      localPort: 5070, rtpPortMin: 41000, rtpPortMax: 41015, displayName: 'Front', codecs: 'PCMA', dtmfMode: 'info', maxCalls: 3, incomingRefer: 'follow', tlsVerify: false,
    });
  });

  it('an older flow (settings left out) gets the defaults; an AT line reads only the AT table', function () {
    assert.deepEqual(lineConfigFrom('L', { backend: 'sip' }), { id: 'L', backend: 'sip', autoAnswer: 0, autoReject: false, server: '', transport: 'udp', username: '', register: true, tlsVerify: true });
    assert.deepEqual(lineConfigFrom('M', { serialPort: ' sim:ec25 ', server: 'pbx', baudRate: '' }), {
      id: 'M', backend: 'at', autoAnswer: 0, autoReject: false, serialPort: 'sim:ec25', baudRate: 115200, modem: 'auto', resetOnHang: false,
    });
  });

  it('every SIP setting reaches the SIP backend under its own name, except the TLS pair, which becomes `tls`', function () {
    const samples: Record<string, unknown> = { server: 'pbx', transport: 'tls', username: 'u', domain: 'd', register: false, localPort: 1, localAddress: '127.0.0.1', rtpPortMin: 2, rtpPortMax: 3,
      displayName: 'n', outboundProxy: 'p', trustedSources: '10.0.0.5:5060, 10.0.0.6', codecs: 'PCMA', dtmfMode: 'info', mediaEncryption: 'required', maxCalls: 4, mediaWorkers: 2, mediaPriority: 'realtime', callWaiting: 'off', incomingRefer: 'follow', sessionExpires: 600, sessionRefresher: 'us', tlsVerify: false, tlsCa: '' };
    assert.deepEqual(Object.keys(samples).sort(), Object.keys(SIP_LINE_SETTINGS).sort(), 'the sample covers the table (a new setting needs a sample here)');
    const options = sipBackendOptions(samples as SipLineSettings, { lineId: 'L', password: 'secret' }) as unknown as Record<string, unknown>;
    for (const key of Object.keys(SIP_LINE_SETTINGS)) {
      if (key === 'tlsVerify' || key === 'tlsCa') continue;
      assert.deepEqual(options[key], samples[key], key);
    }
    assert.deepEqual(options.tls, { rejectUnauthorized: false });
    assert.equal(options.password, 'secret');
    assert.equal('tlsVerify' in options || 'tlsCa' in options, false);
  });

  it('the AT table maps to the AT backend (the device path is serialPort)', function () {
    const s = readSettings(AT_LINE_SETTINGS, { serialPort: '/dev/ttyUSB2', pcmPort: '/dev/ttyUSB1', baudRate: '9600', modem: 'ec25', resetOnHang: true });
    assert.deepEqual(atBackendOptions(s, { lineId: 'L', pin: '1234' }), { lineId: 'L', path: '/dev/ttyUSB2', pcmPort: '/dev/ttyUSB1', resetOnHang: true, baudRate: 9600, modem: 'ec25', pin: '1234', log: undefined });
  });

  it('a value a choice does not know is refused naming the setting as the editor shows it', function () {
    assert.throws(() => checkSettings(SIP_LINE_SETTINGS, { dtmfMode: 'tones' }), /^InvalidInputError: the DTMF mode must be one of rfc4733, info, inband, got string tones$/);
    assert.throws(() => checkSettings(SIP_LINE_SETTINGS, { transport: 'sctp' }), /the SIP transport must be one of udp, tcp, tls, ws, wss/);
    assert.throws(() => checkSettings(SIP_LINE_SETTINGS, { maxCalls: Number('x') }), /the maximum number of calls must be a whole number, 0 for no limit, got NaN/);
    assert.throws(() => checkSettings(SIP_LINE_SETTINGS, { mediaEncryption: 'always' }), /^InvalidInputError: the media encryption must be one of none, optional, required, got string always$/);
    assert.throws(() => checkSettings(SIP_LINE_SETTINGS, { mediaWorkers: Number('two') }), /^InvalidInputError: the number of media workers must be auto or a whole number from 0 \(media in the main thread\) to 64, got number NaN$/);
    assert.throws(() => checkSettings(SIP_LINE_SETTINGS, { mediaWorkers: -1 }), /the number of media workers must be auto or a whole number/);
    checkSettings(SIP_LINE_SETTINGS, { dtmfMode: 'inband', transport: 'ws', maxCalls: 0, mediaWorkers: 'auto' });
    checkSettings(SIP_LINE_SETTINGS, { mediaWorkers: 0 });
    assert.throws(() => checkSettings(SIP_LINE_SETTINGS, { mediaPriority: 'urgent' }), /^InvalidInputError: the media priority must be one of normal, high, realtime, got string urgent$/);
    checkSettings(SIP_LINE_SETTINGS, { mediaPriority: 'high' });
  });
});

describe('SIP feature registry: Supported and Allow from the features present (lib/sip/sip-features.ts)', function () {
  it('lists each tag and method once, the core methods first', function () {
    const features: SipCallFeature[] = [
      { name: 'a', supported: ['replaces'], allow: ['REFER', 'NOTIFY'] },
      { name: 'b', supported: ['timer', 'replaces'], allow: ['UPDATE', 'REFER'] },
      { name: 'c' },
    ];
    assert.deepEqual(supportedTags(features), ['replaces', 'timer']);
    assert.deepEqual(allowedMethods(features), [...CORE_METHODS, 'REFER', 'NOTIFY', 'UPDATE']);
  });
});

describe('one session delegate, fanned out to every feature (lib/sip/sip-session-delegate.ts)', function () {
  const call = { id: 'c1' } as Call;

  /** A request as sip.js hands it to a delegate, counting its answers. */
  function request(): { accept(o?: unknown): Promise<void>; reject(o?: unknown): Promise<void>; answers: unknown[] } {
    const answers: unknown[] = [];
    return {
      answers,
      accept: async (o?: unknown) => void answers.push(['accept', o]),
      reject: async (o?: unknown) => void answers.push(['reject', o]),
    };
  }

  it('every feature with the callback gets it, then the backend\'s own; the first answer goes out, later ones are dropped', function () {
    const order: string[] = [];
    const features: SipCallFeature[] = [
      { name: 'one', session: { onInfo: (_c, info) => { order.push('one'); void info.reject({ statusCode: 415 }); } } },
      { name: 'two', session: { onInfo: (_c, info) => { order.push('two'); void info.accept(); } } },
      { name: 'three', session: { onBye: () => order.push('three-bye') } },
    ];
    const d = fanOutDelegate(call, () => features, { onInfo: () => order.push('own') }, memoryLog());
    const info = request();
    d.onInfo?.(info as never);
    assert.deepEqual(order, ['one', 'two', 'own']);
    assert.deepEqual(info.answers, [['reject', { statusCode: 415 }]]);
  });

  it('a request no hook answered gets sip.js\'s default: a BYE accepted, an INFO 469; a hook that throws does not stop the others', function () {
    const seen: string[] = [];
    const features: SipCallFeature[] = [
      { name: 'bad', session: { onBye: () => { throw new Error('boom'); } } },
      { name: 'good', session: { onBye: (c) => seen.push(c.id) } },
    ];
    const log = memoryLog();
    const d = fanOutDelegate(call, () => features, {}, log);
    const bye = request();
    d.onBye?.(bye as never);
    assert.deepEqual(seen, ['c1']);
    assert.ok(log.lines.some((l) => l.startsWith('warn') && l.includes('boom')), log.lines.join('\n'));
    assert.deepEqual(bye.answers, [['accept', undefined]]);
    const info = request();
    d.onInfo?.(info as never);
    assert.deepEqual(info.answers, [['reject', { statusCode: 469, extraHeaders: ['Recv-Info:'] }]]);
  });
});
