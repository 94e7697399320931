import { strict as assert } from 'node:assert';
import { Call } from '../../lib/call/call';
import { DTMF_SYMBOLS, checkDtmfDigits, checkDtmfDuration } from '../../lib/capabilities/dtmf';
import { AtDtmf, parseToneDetection } from '../../lib/at/features/dtmf';
import { AtError } from '../../lib/at/at-channel';
import { AtFeatureContext } from '../../lib/at/at-feature';
import { MODEM_PROFILES } from '../../lib/at/modem-profile';
import { CallState } from '../../lib/call/call-state';
import { EmulatorDtmf } from '../../lib/at/emulator/features/dtmf';
import { CallStateError, CommandFailedError, InvalidInputError, NotSupportedError, UnknownCallError } from '../../lib/errors';
import { VoiceEvent } from '../../lib/line/voice-line';
import { Harness, memoryLog, sleep, startLine } from '../helpers/at-harness';

/** The DTMF commands the emulated module received since `from` (CLCC polls and the like left out). */
function dtmfCommands(h: Harness, from = 0): string[] {
  return h.modem().commands.slice(from).filter((c) => /^AT\+(VTS|VTD|QTONEDET)/.test(c));
}

function emulatedDtmf(h: Harness): EmulatorDtmf {
  return h.modem().feature<EmulatorDtmf>('dtmf');
}

/** A connected call: dialled, answered by the far end after FAST_MODEM's 80 ms. */
async function connected(h: Harness): Promise<Call> {
  const r = await h.line.dialAndWait('5551234');
  assert.equal(r.answered, true);
  return r.call;
}

/** Polls `check` until it holds (event-driven waits are not possible for a log line). */
async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Restarts the emulated module (RDY) and waits until the line is up again. */
async function reboot(h: Harness): Promise<void> {
  const up = h.next('line-up');
  h.modem().reboot();
  await up;
}

describe('DTMF', function () {
  this.timeout(10000);

  describe('digits and durations from a flow', () => {
    it('takes 0-9 * # A-D (a-d too), 1 to 64 of them, and a whole number', () => {
      assert.equal(checkDtmfDigits('0123456789*#ABCD'), '0123456789*#ABCD');
      assert.equal(checkDtmfDigits('1a2b3c4d'), '1A2B3C4D');
      assert.equal(checkDtmfDigits(123), '123');
      assert.equal(checkDtmfDigits('9'.repeat(64)).length, 64);
    });

    it('refuses anything else with a message that says what is allowed', () => {
      for (const bad of ['123;+CFUN=0', '', '1 2', '12\r', '"1"', 'E', '9'.repeat(65), -1, 1.5, null, undefined, {}, ['1']]) {
        assert.throws(
          () => checkDtmfDigits(bad),
          (e: Error) => e instanceof InvalidInputError && /DTMF digits|no DTMF digits/.test(e.message),
          String(bad),
        );
      }
      assert.throws(() => checkDtmfDigits('123;+CFUN=0'), /the DTMF digits "123;\+CFUN=0" are not valid: use 0-9, \*, # and A-D, at most 64 of them/);
      assert.throws(() => checkDtmfDigits('1\r\nAT+CFUN=0'), /"1\\r\\nAT\+CFUN=0"/, 'control characters are shown, not printed');
    });

    it('takes a duration of 100 to 1000 ms (also a numeric string), nothing else', () => {
      assert.equal(checkDtmfDuration(100), 100);
      assert.equal(checkDtmfDuration('1000'), 1000);
      for (const bad of [99, 1001, 0, NaN, Infinity, 'long', '', null, undefined]) {
        assert.throws(() => checkDtmfDuration(bad), /the DTMF duration must be 100 to 1000 milliseconds/, String(bad));
      }
    });
  });

  describe('+QTONEDET: <decimal ASCII code>', () => {
    it('maps every DTMF key: 49 is 1, 42 is *, 35 is #, 65-68 are A-D', () => {
      for (const symbol of DTMF_SYMBOLS) {
        assert.equal(parseToneDetection(`+QTONEDET: ${symbol.charCodeAt(0)}`), symbol);
      }
      assert.equal(parseToneDetection('+QTONEDET: 49'), '1');
      assert.equal(parseToneDetection('+QTONEDET: 42'), '*');
      assert.equal(parseToneDetection('+QTONEDET: 35'), '#');
      assert.equal(parseToneDetection('+QTONEDET:68'), 'D');
      assert.equal(parseToneDetection('+QTONEDET: 53,100'), '5', 'extra fields are tolerated');
    });

    it('gives null for anything that is not a key, never throws', () => {
      for (const bad of ['+QTONEDET: x', '+QTONEDET:', '+QTONEDET: ', '+QTONEDET: 70', '+QTONEDET: 69', '+QTONEDET: 97', '+QTONEDET: 999', '+QTONEDET: 1234', '+QTONEDET: -49', '+QTONEDET: 49abc', '+QTONEDET: "1"', 'QTONEDET: 49', '']) {
        assert.equal(parseToneDetection(bad), null, bad);
      }
    });
  });

  /** What each emulated module receives for "12#" at 300 ms: the syntax of its family. */
  const SENDING = [
    { sim: 'ec600n', profile: 'quectel-asr', syntax: 'string', bytes: ['AT+VTS="12#",3'] },
    { sim: 'ec200u', profile: 'quectel-unisoc', syntax: 'string', bytes: ['AT+VTS="12#",3'] },
    { sim: 'ec25', profile: 'quectel-ec2x', syntax: 'string', bytes: ['AT+VTS="12#",3'] },
    { sim: 'generic', profile: 'generic', syntax: 'per-digit', bytes: ['AT+VTD=3', 'AT+VTS=1', 'AT+VTS=2', 'AT+VTS=#'] },
  ] as const;

  describe('sending', () => {
    let h: Harness | null = null;
    afterEach(async () => {
      await h?.close();
      h = null;
    });

    for (const p of SENDING) {
      it(`${p.sim} (${p.profile}): probes AT+VTS=? and sends ${p.bytes.join(' ')}`, async () => {
        h = await startLine(p.sim);
        assert.equal(h.backend.profile?.name, p.profile);
        assert.ok(h.modem().commands.includes('AT+VTS=?'), 'probed at start');
        assert.equal(h.backend.dtmf.syntax, p.syntax);
        const call = await connected(h);
        const mark = h.modem().commands.length;
        const done = await h.line.dtmf.send(call.id, '12#', { durationMs: 300 });
        assert.equal(done, call);
        assert.deepEqual(dtmfCommands(h, mark), p.bytes);
        assert.equal(emulatedDtmf(h).heard, '12#');
        assert.ok(emulatedDtmf(h).sent.every((s) => s.durationMs === 300));
      });
    }

    it('sends 100 ms tones by default, rounds to 1/10 s, takes lower-case a-d, and the only connected call', async () => {
      h = await startLine('ec600n');
      await connected(h);
      const mark = h.modem().commands.length;
      await h.line.dtmf.send(undefined, '1');
      await h.line.dtmf.send(undefined, 'abcd', { durationMs: 250 });
      await h.line.dtmf.send(undefined, 0, { durationMs: '1000' });
      assert.deepEqual(dtmfCommands(h, mark), ['AT+VTS="1",1', 'AT+VTS="ABCD",3', 'AT+VTS="0",10']);
    });

    it('splits a long string into commands of at most 20 digits', async () => {
      h = await startLine('ec25');
      const call = await connected(h);
      const digits = '0123456789'.repeat(6) + '*#AB';
      const mark = h.modem().commands.length;
      await h.line.dtmf.send(call, digits);
      assert.deepEqual(dtmfCommands(h, mark), [
        `AT+VTS="${digits.slice(0, 20)}",1`,
        `AT+VTS="${digits.slice(20, 40)}",1`,
        `AT+VTS="${digits.slice(40, 60)}",1`,
        `AT+VTS="${digits.slice(60)}",1`,
      ]);
      assert.equal(emulatedDtmf(h).heard, digits);
    });

    it('never lets the digits of two requests interleave (per-digit module)', async () => {
      h = await startLine('generic');
      const call = await connected(h);
      const mark = h.modem().commands.length;
      await Promise.all([h.line.dtmf.send(call, '12', { durationMs: 200 }), h.line.dtmf.send(call, '34', { durationMs: 500 })]);
      assert.deepEqual(dtmfCommands(h, mark), ['AT+VTD=2', 'AT+VTS=1', 'AT+VTS=2', 'AT+VTD=5', 'AT+VTS=3', 'AT+VTS=4']);
      assert.deepEqual(emulatedDtmf(h).sent, [
        { digits: '1', durationMs: 200 },
        { digits: '2', durationMs: 200 },
        { digits: '3', durationMs: 500 },
        { digits: '4', durationMs: 500 },
      ]);
    });

    it('refuses bad digits or durations before anything reaches the modem', async () => {
      h = await startLine('ec600n');
      const call = await connected(h);
      const mark = h.modem().commands.length;
      await assert.rejects(h.line.dtmf.send(call.id, '123;+CFUN=0'), InvalidInputError);
      await assert.rejects(h.line.dtmf.send(call.id, '12', { durationMs: 50 }), InvalidInputError);
      await assert.rejects(h.line.dtmf.send(call.id, '12', { durationMs: 2000 }), InvalidInputError);
      // The backend checks again: a caller that skips the line still cannot send them.
      await assert.rejects(h.backend.dtmf.send(call, '1;2', { durationMs: 100 }), InvalidInputError);
      await assert.rejects(h.backend.dtmf.send(call, '12', { durationMs: 10 }), InvalidInputError);
      await sleep(50);
      assert.deepEqual(dtmfCommands(h, mark), []);
      assert.ok(!h.modem().commands.some((c) => c.includes('CFUN')));
    });

    it('refuses a call that is not connected, or that does not exist', async () => {
      h = await startLine('ec600n');
      await assert.rejects(h.line.dtmf.send(undefined, '1'), (e: Error) => e instanceof UnknownCallError && /no call to send DTMF to/.test(e.message));
      h.modem().incomingCall('5550100');
      const inc = await h.next('incoming');
      await assert.rejects(h.line.dtmf.send(inc.call!.id, '1'), (e: Error) => e instanceof CallStateError && /is incoming: DTMF works only on a connected/.test(e.message));
      await assert.rejects(h.line.dtmf.send('nope', '1'), UnknownCallError);
      const incoming = h.line.activeCalls()[0];
      await assert.rejects(h.backend.dtmf.send(incoming, '1', { durationMs: 100 }), CallStateError);
      assert.deepEqual(dtmfCommands(h).filter((c) => c.startsWith('AT+VTS=') && c !== 'AT+VTS=?'), []);
    });

    it('a Quectel module whose AT+VTS=? lists no duration gets AT+VTD and one AT+VTS per digit', async () => {
      h = await startLine('ec600n');
      emulatedDtmf(h).syntax = 'per-digit';
      await reboot(h); // the probe runs again after every initialisation
      assert.equal(h.backend.dtmf.syntax, 'per-digit');
      const call = await connected(h);
      const mark = h.modem().commands.length;
      await h.line.dtmf.send(call, '9*', { durationMs: 1000 });
      assert.deepEqual(dtmfCommands(h, mark), ['AT+VTD=10', 'AT+VTS=9', 'AT+VTS=*']);
    });

    it('a module that answers ERROR to AT+VTS=? cannot send DTMF: NotSupportedError naming it', async () => {
      h = await startLine('ec600n');
      emulatedDtmf(h).syntax = 'none';
      await reboot(h);
      assert.equal(h.backend.dtmf.syntax, 'unsupported');
      const call = await connected(h);
      await assert.rejects(
        h.line.dtmf.send(call, '1'),
        (e: Error) => e instanceof NotSupportedError && e.message === 'sending DTMF is not supported on this line (Quectel EC600N (quectel-asr))',
      );
    });

    it('a refusal by the modem is a CommandFailedError with the command and the modem\'s answer', async () => {
      h = await startLine('ec600n');
      const call = await connected(h);
      emulatedDtmf(h).syntax = 'per-digit'; // the module changed its mind: the string is refused
      await assert.rejects(
        h.line.dtmf.send(call, '12'),
        (e: Error) => e instanceof CommandFailedError && e.message === 'the modem refused AT+VTS="12",1: +CME ERROR: 50' && (e as CommandFailedError).evidence === 'AT+VTS="12",1',
      );
    });
  });

  describe('detection', () => {
    let h: Harness | null = null;
    afterEach(async () => {
      await h?.close();
      h = null;
    });

    async function answeredIncoming(hh: Harness): Promise<Call> {
      hh.modem().incomingCall('5550100');
      const inc = await hh.next('incoming');
      return hh.line.answer(inc.call!.id);
    }

    function dtmfEvents(hh: Harness): VoiceEvent[] {
      return hh.events.filter((e) => e.topic === 'dtmf');
    }

    it('switches AT+QTONEDET=1 on at start and turns each key into a dtmf event of the connected call', async () => {
      h = await startLine('ec600n');
      assert.deepEqual(dtmfCommands(h).filter((c) => c.startsWith('AT+QTONEDET')), ['AT+QTONEDET=1']);
      assert.equal(h.modem().settings.toneDetection, true);
      const call = await answeredIncoming(h);
      h.modem().pressDigits('19*#ABCD0', 2);
      const last = await h.next('dtmf', (e) => e.payload.digit === '0');
      assert.equal(last.call?.id, call.id);
      const events = dtmfEvents(h);
      assert.equal(events.map((e) => e.payload.digit).join(''), '19*#ABCD0');
      for (const e of events) {
        assert.deepEqual(e.payload, { digit: e.payload.digit, source: 'modem' });
        assert.equal(e.call?.id, call.id);
        assert.equal(e.call?.state, 'active');
      }
    });

    it('ignores malformed and non-key +QTONEDET lines (never throws), and keys with no connected call', async () => {
      h = await startLine('ec200u');
      h.modem().pressDigits('5', 0); // no call yet: nothing to report it on
      await until('the key without a call to be logged', () => h!.log.lines.some((l) => /DTMF: key 5 with no connected call: ignored/.test(l)));
      await answeredIncoming(h);
      for (const garbage of ['+QTONEDET: x', '+QTONEDET:', '+QTONEDET: 70', '+QTONEDET: 999', '+QTONEDET: 4 2', '+QTONEDET: 49abc']) h.modem().injectLine(garbage);
      h.modem().pressDigits('7', 0);
      await h.next('dtmf'); // the garbage went first, on the same wire
      assert.deepEqual(dtmfEvents(h).map((e) => e.payload.digit), ['7']);
      assert.ok(h.log.lines.some((l) => /ignoring "\+QTONEDET: x"/.test(l)));
      assert.ok(h.log.lines.every((l) => !l.startsWith('warn +QTONEDET')), 'no handler threw');
    });

    it('switches detection on again after the module restarts (it forgets it)', async () => {
      h = await startLine('ec25');
      await reboot(h);
      assert.equal(h.modem().settings.toneDetection, true);
      assert.deepEqual(dtmfCommands(h).filter((c) => c.startsWith('AT+QTONEDET')), ['AT+QTONEDET=1', 'AT+QTONEDET=1']);
      const call = await answeredIncoming(h);
      const gather = await h.line.dtmf.collect(call, { finishKey: '#' });
      h.modem().pressDigits('42#', 2);
      assert.deepEqual(await gather.result, { digits: '42', reason: 'finish-key' });
    });

    it('a module without tone detection refuses to collect, naming the module, and sends nothing', async () => {
      h = await startLine('generic');
      const call = await connected(h);
      assert.ok(!h.modem().commands.some((c) => c.startsWith('AT+QTONEDET')));
      await assert.rejects(
        h.line.dtmf.collect(call),
        (e: Error) => e instanceof NotSupportedError && e.message === 'collecting DTMF digits is not supported on this line (Generic GSM Modem (generic))',
      );
      assert.equal(h.line.listenerCount('report'), 0, 'no gather was left listening');
    });
  });

  describe('collecting on a line', () => {
    let h: Harness | null = null;
    afterEach(async () => {
      await h?.close();
      h = null;
    });

    it('gathers up to the finish key; a newer gather on the call ends the older one as cancelled', async () => {
      h = await startLine('ec600n');
      const call = await connected(h);
      const first = await h.line.dtmf.collect(call.id, { finishKey: '#' });
      h.modem().pressDigits('9', 0);
      await h.next('dtmf');
      const second = await h.line.dtmf.collect(call.id, { finishKey: '#', maxDigits: 3 });
      assert.deepEqual(await first.result, { digits: '9', reason: 'cancelled' });
      assert.equal(h.line.dtmf.gatherOf(call), second);
      h.modem().pressDigits('123#', 2);
      assert.deepEqual(await second.result, { digits: '123', reason: 'max-digits' });
      assert.equal(h.line.dtmf.gatherOf(call), undefined);
      assert.equal(h.line.listenerCount('report'), 0);
    });

    it('ends with call-ended when the far end hangs up, and refuses bad options before anything else', async () => {
      h = await startLine('ec200u');
      const call = await connected(h);
      await assert.rejects(h.line.dtmf.collect(call, { maxDigits: 0 }), InvalidInputError);
      await assert.rejects(h.line.dtmf.collect(call, { finish: '#' }), /unknown gather option "finish"/);
      const gather = await h.line.dtmf.collect(call, { firstDigitTimeoutMs: 0 });
      h.modem().pressDigits('12', 2);
      await h.next('dtmf', (e) => e.payload.digit === '2');
      h.modem().remoteHangup();
      assert.deepEqual(await gather.result, { digits: '12', reason: 'call-ended' });
    });

    it('refuses to collect on a call that is not connected', async () => {
      h = await startLine('ec600n');
      h.modem().incomingCall('5550100');
      const inc = await h.next('incoming');
      await assert.rejects(h.line.dtmf.collect(inc.call!.id), CallStateError);
    });
  });

  describe('the emulated module', () => {
    let h: Harness | null = null;
    afterEach(async () => {
      await h?.close();
      h = null;
    });

    it('answers AT+VTS=? and AT+VTD per syntax, forgets AT+VTD on reboot, and refuses bad tones', async () => {
      h = await startLine('ec600n');
      const ch = () => h!.backend['channel']!;
      const cmd = async (c: string) => {
        try {
          const r = await ch().send(c, { expect: ['+VTS:', '+VTD:'] });
          return [...r.lines, r.final];
        } catch (e) {
          return [(e as { final?: string }).final ?? String(e)];
        }
      };
      const dtmf = emulatedDtmf(h);
      assert.equal(dtmf.syntax, 'string');
      assert.deepEqual(await cmd('AT+VTS=?'), ['+VTS: (0-9,*,#,A-D),(0-255)', 'OK']);
      assert.deepEqual(await cmd('AT+VTD=?'), ['+VTD: (0-255)', 'OK']);
      assert.deepEqual(await cmd('AT+VTS="1"'), ['+CME ERROR: 3'], 'no call');
      await connected(h);
      assert.deepEqual(await cmd('AT+VTD=7'), ['OK']);
      assert.deepEqual(await cmd('AT+VTD?'), ['+VTD: 7', 'OK']);
      assert.deepEqual(await cmd('AT+VTS="12"'), ['OK']);
      assert.deepEqual(dtmf.sent.at(-1), { digits: '12', durationMs: 700 }, 'the AT+VTD duration when the command gives none');
      for (const bad of ['AT+VTS="1;2"', 'AT+VTS=12', 'AT+VTS="12",256', 'AT+VTS="E"', `AT+VTS="${'1'.repeat(32)}"`, 'AT+VTS="1",1,1', 'AT+VTD=256']) {
        assert.deepEqual(await cmd(bad), ['+CME ERROR: 50'], bad);
      }
      dtmf.syntax = 'per-digit';
      assert.deepEqual(await cmd('AT+VTS=?'), ['+VTS: (0-9,*,#,A-D)', 'OK']);
      assert.deepEqual(await cmd('AT+VTS="12"'), ['+CME ERROR: 50']);
      assert.deepEqual(await cmd('AT+VTS=1,5'), ['+CME ERROR: 50']);
      assert.deepEqual(await cmd('AT+VTS=#'), ['OK']);
      dtmf.syntax = 'none';
      assert.deepEqual(await cmd('AT+VTS=?'), ['ERROR']);
      assert.deepEqual(await cmd('AT+VTD=1'), ['ERROR']);
      assert.throws(() => (dtmf.syntax = 'loud' as never), TypeError);
      dtmf.syntax = 'string';
      await reboot(h);
      assert.equal(dtmf.toneDuration, 1);
      assert.equal(dtmf.heard, '12#', 'what the far end heard is kept');
    });
  });

  describe('without a module (a stub channel)', () => {
    /** An AtDtmf whose channel answers each command as `replies` says (default OK), recording them. */
    function stub(profile: string, replies: Record<string, 'error' | 'timeout' | string[]>) {
      const sent: string[] = [];
      const log = memoryLog();
      const channel = {
        send: async (cmd: string) => {
          sent.push(cmd);
          const r = replies[cmd];
          if (r === 'error') throw new AtError('error', cmd, 'ERROR', { final: 'ERROR' });
          if (r === 'timeout') throw new AtError('timeout', cmd, 'no answer within 300 ms');
          return { command: cmd, lines: r ?? [], final: 'OK' };
        },
      };
      const ctx = {
        log,
        channel: () => channel,
        profile: () => MODEM_PROFILES[profile],
        describeModem: () => `Test (${profile})`,
        calls: () => [],
      } as unknown as AtFeatureContext;
      const call = new Call({ line: 'L', direction: 'outbound', remote: { number: '1' }, state: CallState.Active, reason: { text: 'test' } });
      return { dtmf: new AtDtmf(ctx), sent, log, call };
    }

    it('keeps the profile\'s form when the module does not answer the probe', async () => {
      for (const [profile, syntax] of [['quectel-asr', 'string'], ['generic', 'per-digit']] as const) {
        const { dtmf } = stub(profile, { 'AT+VTS=?': 'timeout' });
        await dtmf.onReady();
        assert.equal(dtmf.syntax, syntax, profile);
      }
    });

    it('a per-digit module that refuses AT+VTD still gets the digits, and the log says why', async () => {
      const { dtmf, sent, log, call } = stub('generic', { 'AT+VTS=?': ['+VTS: (0-9,*,#,A-D)'], 'AT+VTD=2': 'error' });
      await dtmf.onReady();
      await dtmf.send(call, '1#', { durationMs: 200 });
      assert.deepEqual(sent, ['AT+VTS=?', 'AT+VTD=2', 'AT+VTS=1', 'AT+VTS=#']);
      assert.ok(log.lines.some((l) => l === "warn DTMF: the modem refused AT+VTD=2: ERROR; sending with the module's default tone length"), log.lines.join('\n'));
    });

    it('a timeout is a CommandFailedError that says the command did not complete', async () => {
      const { dtmf, call } = stub('quectel-ec2x', { 'AT+VTS=?': ['+VTS: (0-9,*,#,A-D),(0-255)'], 'AT+VTS="5",1': 'timeout' });
      await dtmf.onReady();
      await assert.rejects(dtmf.send(call, '5', { durationMs: 100 }), (e: Error) => e instanceof CommandFailedError && e.message === 'AT+VTS="5",1 did not complete: no answer within 300 ms');
    });

    it('a Quectel module that refuses AT+QTONEDET=1 at start is asked again when a flow collects', async () => {
      const replies: Record<string, 'error' | string[]> = { 'AT+QTONEDET=1': 'error' };
      const { dtmf, sent, log, call } = stub('quectel-unisoc', replies);
      await dtmf.onReady();
      assert.equal(dtmf.detectionOn, false);
      assert.ok(log.lines.some((l) => l === 'warn DTMF detection: the modem refused AT+QTONEDET=1: ERROR'));
      await assert.rejects(dtmf.enableDetection(call), CommandFailedError);
      delete replies['AT+QTONEDET=1'];
      await dtmf.enableDetection(call);
      assert.equal(dtmf.detectionOn, true);
      await dtmf.enableDetection(call); // already on: nothing sent
      assert.deepEqual(sent.filter((c) => c.startsWith('AT+QTONEDET')), ['AT+QTONEDET=1', 'AT+QTONEDET=1', 'AT+QTONEDET=1']);
    });
  });
});
