import { strict as assert } from 'node:assert';
import { AtBackend } from '../../lib/at/modem-backend';
import { Harness, sleep, startLine, memoryLog } from '../helpers/at-harness';
import { InvalidInputError } from '../../lib/errors';
import { LineStatus } from '../../lib/backend';

/** What each emulated module should be recognised as. */
const PROFILES = [
  { sim: 'ec600n', profile: 'quectel-asr', report: 'dsci', hangup: /^AT\+QHUP=16,\d$/ },
  { sim: 'ec200u', profile: 'quectel-unisoc', report: 'ccinfo', hangup: /^AT\+QHUP=16,\d$/ },
  { sim: 'generic', profile: 'generic', report: 'poll', hangup: /^AT\+CHUP$/ },
] as const;

describe('AT backend on the emulator', function () {
  this.timeout(10000);
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  for (const p of PROFILES) {
    describe(`${p.sim} (${p.profile})`, () => {
      it(`identifies the module and follows calls with ${p.report}`, async () => {
        h = await startLine(p.sim);
        assert.equal(h.backend.profile?.name, p.profile);
        assert.equal(h.backend.callReport, p.report);
        const cmds = h.modem().commands;
        for (const c of ['ATE0', 'ATS0=0', 'AT+CLIP=1', 'AT+CCWA=1']) assert.ok(cmds.includes(c), `${c} sent`);
      });

      it('turns an incoming call into ONE incoming event, answers it, and ends it on remote hangup', async () => {
        h = await startLine(p.sim);
        h.modem().incomingCall('+4930123456');
        const inc = await h.next('incoming');
        assert.equal(inc.call?.direction, 'inbound');
        await sleep(250); // RING / +CLIP repeat every 100 ms: still one call
        assert.equal(h.events.filter((e) => e.topic === 'incoming').length, 1);
        assert.equal(h.line.activeCalls()[0].remote.number, '+4930123456');
        await h.line.answer(inc.call!.id);
        const ans = await h.next('answered');
        assert.equal(ans.call?.id, inc.call?.id);
        h.modem().remoteHangup();
        const end = await h.next('ended');
        assert.equal(end.payload.cause, 'normal');
        assert.equal(end.payload.by, 'remote');
        assert.deepEqual(
          h.events.filter((e) => e.call?.id === inc.call?.id).map((e) => e.topic),
          ['incoming', 'answered', 'ended'],
        );
      });

      it('dials, is answered, and hangs up locally', async () => {
        h = await startLine(p.sim);
        const result = await h.line.dialAndWait('5551234');
        assert.equal(result.answered, true);
        assert.ok(h.modem().commands.includes('ATD5551234;'));
        await h.line.hangup(result.call.id);
        const end = await h.next('ended');
        assert.equal(end.payload.cause, 'normal');
        assert.equal(end.payload.by, 'local');
        assert.ok(h.modem().commands.some((c) => p.hangup.test(c)), `hang-up command in ${h.modem().commands.join(' ')}`);
        const seq = h.events.filter((e) => e.call?.id === result.call.id).map((e) => e.topic);
        assert.equal(seq[0], 'dialing');
        assert.deepEqual(seq.slice(-2), ['answered', 'ended']);
      });

      for (const [number, cause] of [
        ['555486', 'busy'],
        ['555408', 'no-answer'],
        ['555603', 'rejected'],
        ['555404', 'not-found'],
      ] as const) {
        it(`reports ${cause} when dialling ${number}`, async () => {
          h = await startLine(p.sim);
          const result = await h.line.dialAndWait(number);
          assert.equal(result.answered, false);
          assert.equal(result.end?.cause, cause, JSON.stringify(result.end));
          assert.equal(result.end?.by, 'remote');
          assert.ok(result.end?.finalResult || result.end?.q850 !== undefined || result.end?.ceer, 'raw evidence kept');
        });
      }

      it('ends an incoming call the caller abandons as cancelled, by remote (as on SIP)', async () => {
        h = await startLine(p.sim);
        h.modem().incomingCall('5550001');
        const inc = await h.next('incoming');
        h.modem().remoteCancel();
        const end = await h.next('ended', (e) => e.call?.id === inc.call?.id);
        assert.equal(end.payload.cause, 'cancelled', JSON.stringify(end.payload));
        assert.equal(end.payload.by, 'remote');
      });

      it('comes up on a module that answers a bare AT with ERROR (oFono phonesim)', async () => {
        h = await startLine(p.sim, { quirks: { bareAtError: true } });
        assert.equal(h.backend.profile?.name, p.profile);
        assert.equal(h.modem().commands[0], 'AT');
        assert.ok(h.modem().commands.includes('ATE0'));
        const r = await h.line.dialAndWait('5551234');
        assert.equal(r.answered, true);
      });

      for (const quirks of [
        { dialResultWhenDecided: true },
        { dialResultWhenDecided: true, noCarrierOnLocalRelease: true },
      ]) {
        const what = Object.keys(quirks).join(' + ');
        it(`redials right after a local hang-up (${what}): the new call gets its own BUSY, then an incoming call is incoming`, async () => {
          const hh = await startLine(p.sim, { quirks });
          h = hh;
          for (let round = 0; round < 3; round++) {
            const first = await hh.line.dialAndWait('5551234');
            assert.equal(first.answered, true);
            await hh.line.hangup(first.call.id);
            const second = await hh.line.dialAndWait('555486'); // at once: the module answers its ATD with BUSY
            assert.equal(second.answered, false);
            assert.equal(second.end?.cause, 'busy', JSON.stringify(second.end));
            assert.equal(second.end?.by, 'remote');
            assert.equal(second.end?.finalResult, 'BUSY', 'its own final result is its evidence');
            const firstEnd = hh.events.find((e) => e.topic === 'ended' && e.call?.id === first.call.id);
            assert.equal(firstEnd?.payload.cause, 'normal');
            assert.equal(firstEnd?.payload.by, 'local');
            assert.deepEqual(hh.backend.calls(), [], 'no phantom record');
            const third = await hh.line.dialAndWait('555404'); // NO CARRIER, +CEER cause 1
            assert.equal(third.end?.cause, 'not-found', JSON.stringify(third.end));
            assert.equal(third.end?.finalResult, 'NO CARRIER');
            hh.modem().incomingCall('5550002');
            const inc = await hh.next('incoming', (e) => e.call?.remote.number === '5550002');
            assert.equal(inc.call?.state, 'incoming');
            assert.equal(hh.events.filter((e) => e.topic === 'waiting').length, 0, 'never waiting');
            await hh.line.hangup(inc.call!.id);
            await hh.next('ended', (e) => e.call?.id === inc.call?.id);
          }
        });
      }

      it('rejects an incoming call with busy', async () => {
        h = await startLine(p.sim);
        h.modem().incomingCall('5550001');
        await h.next('incoming');
        await h.line.hangup(undefined, 'busy');
        const end = await h.next('ended');
        assert.equal(end.payload.cause, 'busy');
        assert.equal(end.payload.by, 'local');
        if (p.profile !== 'generic') assert.ok(h.modem().commands.some((c) => /^AT\+QHUP=17,\d$/.test(c)));
        await sleep(100);
        assert.equal(h.modem().calls.filter((c) => c.state !== 'ended').length, 0);
      });

      it('rejects with the causes of the second wave and with a SIP code, each signalled as its Q.850 cause (AT+QHUP)', async () => {
        h = await startLine(p.sim);
        for (const [given, q850, cause] of [['barred', 54, 'barred'], ['no-circuit', 34, 'no-circuit'], [404, 1, 'not-found']] as const) {
          h.modem().incomingCall('5550001');
          const inc = await h.next('incoming', (e) => !h!.events.some((x) => x.topic === 'ended' && x.call?.id === e.call?.id));
          await h.line.hangup(inc.call!.id, given);
          const end = await h.next('ended', (e) => e.call?.id === inc.call?.id);
          assert.deepEqual([end.payload.cause, end.payload.by], [cause, 'local']);
          if (p.profile !== 'generic') assert.ok(h.modem().commands.some((c) => new RegExp(`^AT\\+QHUP=${q850},\\d$`).test(c)), `AT+QHUP=${q850}`);
          await sleep(100);
        }
      });

      it('the other side releasing with Q.850 22, 27, 34, 54 ends the call changed-number, out-of-order, no-circuit, barred', async () => {
        h = await startLine(p.sim);
        for (const [q850, cause] of [[22, 'changed-number'], [27, 'out-of-order'], [34, 'no-circuit'], [54, 'barred']] as const) {
          h.modem().incomingCall('5550002');
          const inc = await h.next('incoming', (e) => !h!.events.some((x) => x.topic === 'ended' && x.call?.id === e.call?.id));
          await h.line.answer(inc.call!.id);
          await h.next('answered', (e) => e.call?.id === inc.call?.id);
          h.modem().remoteHangup(undefined, q850);
          const end = await h.next('ended', (e) => e.call?.id === inc.call?.id);
          assert.deepEqual([end.payload.cause, end.payload.by, end.payload.q850], [cause, 'remote', q850]);
          await sleep(100);
        }
      });
    });
  }

  it('never takes the previous call\'s late final result (NO ANSWER after ^DSCI) for a call dialled at once', async () => {
    const hh: Harness = await startLine('ec600n');
    h = hh;
    hh.modem().setDialBehaviour('ring', '5557777');
    for (let i = 0; i < 3; i++) {
      // The emulator sends ^DSCI: ...,6,...,19 then NO ANSWER; the next call is dialled as soon as the
      // first has ended, so NO ANSWER reaches the line while the new call is not listed yet.
      const line = hh.line;
      const first = await line.dialAndWait('555408');
      assert.equal(first.end?.cause, 'no-answer');
      const second = await line.dial('5557777');
      await sleep(300); // several AT+CLCC polls
      assert.equal(second.ended, false, `the new call is still ringing, not ${JSON.stringify(second.end)}`);
      await line.hangup(second.id);
      const ended = await hh.next('ended', (e) => e.call?.id === second.id);
      assert.equal(ended.payload.by, 'local');
    }
  });

  it('never sends an invalid number to the modem', async () => {
    h = await startLine('ec600n');
    for (const bad of ['123;+CFUN=0', '"', '12\r\n34']) {
      await assert.rejects(h.line.dial(bad), InvalidInputError);
    }
    assert.equal(h.modem().commands.filter((c) => c.startsWith('ATD')).length, 0);
  });

  it('answers automatically after the configured seconds', async () => {
    h = await startLine('ec200u', { autoAnswer: 0.1 });
    h.modem().incomingCall('5550002');
    await h.next('incoming');
    await h.next('answered');
    assert.ok(h.modem().commands.includes('ATA'));
  });

  it('ignores the phantom data call the Unisoc firmware lists in AT+CLCC', async () => {
    h = await startLine('ec200u');
    const r = await h.line.dialAndWait('5551234');
    assert.equal(r.answered, true);
    await sleep(300); // several AT+CLCC polls
    assert.equal(h.line.activeCalls().length, 1);
    assert.equal(h.events.filter((e) => e.topic === 'incoming' || e.topic === 'dialing').length, 1);
  });

  it('ends the calls and initialises again when the modem restarts (RDY)', async () => {
    h = await startLine('ec600n');
    await h.line.dialAndWait('5551234');
    h.modem().reboot();
    const end = await h.next('ended');
    assert.equal(end.payload.cause, 'network-error');
    await h.next('line-down');
    await h.next('line-up');
    assert.equal(h.backend.ready, true);
  });

  it('survives garbage bytes and unknown URCs', async () => {
    h = await startLine('ec600n');
    h.modem().injectData(Buffer.from([0xff, 0x00, 0xfe, 0x0d, 0x0a]));
    h.modem().injectLine('+QFOO: 1,2,3');
    h.modem().injectLine('^DSCI: garbage');
    h.modem().injectLine('+QIND: "ccinfo",x');
    const r = await h.line.dialAndWait('5551234');
    assert.equal(r.answered, true);
  });

  it('reconnects after the port disappears and ends calls the modem no longer has', async () => {
    h = await startLine('ec600n');
    const r = await h.line.dialAndWait('5551234');
    await h.device.unplug();
    await h.next('line-down');
    await h.next('line-up'); // a new module answers on the reopened port: it has no call
    const end = await h.next('ended');
    assert.equal(end.call?.id, r.call.id);
    assert.equal(end.payload.cause, 'network-error');
    assert.equal(h.device.opens, 2);
  });

  it('unlocks a SIM PIN without logging it', async () => {
    h = await startLine('ec600n', { pin: '4711', simPin: '4711' });
    assert.equal(h.backend.ready, true);
    assert.ok(!h.log.lines.some((l) => l.includes('4711')), 'the PIN never reaches the log');
  });

  it('says the SIM needs a PIN when none is configured', async () => {
    const statuses: LineStatus[] = [];
    const b = new AtBackend({ lineId: 'x', path: 'x', baudRate: 115200, modem: 'auto', timing: { reconnectMinMs: 5000 } ,
      device: new (require('../helpers/at-harness').TestSimDevice)('ec600n', undefined, '1234') });
    b.on('status', (s: LineStatus) => statuses.push(s));
    await b.start();
    await b.stop();
    assert.ok(statuses.some((s) => s.state === 'error' && /needs a PIN/.test(s.text)), JSON.stringify(statuses));
  });

  it('gives a red status with the reason for a port that does not exist, and retries', async () => {
    const statuses: LineStatus[] = [];
    const log = memoryLog();
    const b = new AtBackend({ lineId: 'x', path: '/dev/ttyDOES-NOT-EXIST', baudRate: 115200, modem: 'auto', log, timing: { reconnectMinMs: 30 } });
    b.on('status', (s: LineStatus) => statuses.push(s));
    await b.start();
    await sleep(150);
    await b.stop();
    const errors = statuses.filter((s) => s.state === 'error');
    assert.ok(errors.length >= 2, `retried: ${JSON.stringify(statuses)}`);
    assert.match(errors[0].text, /cannot open \/dev\/ttyDOES-NOT-EXIST/);
  });
});
