/**
 * The 27.007 / QuecPython details of an AT line, end to end through the nodes on the emulator: the
 * other side's hold (`+CSSU`, `heldBy`), a withheld caller (`+CLIP` / `+CCWA` CLI validity →
 * `msg.call.remote.withheld`), `^DSCI`'s `<tone_info>` in `payload.callInfo`, and DTMF detection
 * switched off (`AT+QTONEDET=0`) by voice-control.
 */
import assert from 'node:assert/strict';
import type { EmulatorAudioControl } from '../../lib/at/emulator/features/control';
import voiceControl = require('../../nodes/voice-control');
import voiceDtmf = require('../../nodes/voice-dtmf');
import { ALL_EVENTS, Inbox, NODES, emulatorOf, errorsOf, getNode, helper, lineNode, lineOf, nextError, sink, sleep, voiceNode, waitFor, waitReady } from './flow-helpers';

const PROFILES = ['ec600n', 'ec200u', 'ec25', 'generic'] as const;
const ALL_NODES = [...NODES, voiceControl, voiceDtmf];

/** A line on `sim:<profile>`, every event → EV, a voice-control C → OUT, a voice-dtmf collect D → GOT. */
function flow(profile: string, control: Record<string, unknown> = { action: 'hold' }) {
  return [
    lineNode('L', { serialPort: `sim:${profile}` }),
    voiceNode('E', 'voice-events', 'L', [['EV']], { events: ALL_EVENTS }),
    voiceNode('C', 'voice-control', 'L', [['OUT']], control),
    voiceNode('D', 'voice-dtmf', 'L', [['GOT']], { mode: 'collect', maxDigits: 2, finishKey: 'none', firstDigitTimeout: 5, interDigitTimeout: 3 }),
    sink('EV'),
    sink('OUT'),
    sink('GOT'),
  ];
}

const remote = () => emulatorOf('L').feature<EmulatorAudioControl>('control');

describe('AT call details (nodes on the emulator)', function () {
  this.timeout(20000);
  afterEach(async function () {
    await helper.unload();
  });

  describe('the other side\'s hold (+CSSU)', () => {
    for (const profile of PROFILES) {
      it(`${profile}: AT+CSSN=1,1 at start; +CSSU: 2 / 3 → held / resumed with heldBy "remote"; our own hold → heldBy "local"`, async function () {
        await helper.load(ALL_NODES, flow(profile));
        const ev = new Inbox('EV');
        await waitReady('L');
        assert.ok(emulatorOf('L').commands.includes('AT+CSSN=1,1'), 'the line asked for +CSSI / +CSSU');
        assert.deepEqual(remote().cssn, { cssi: true, cssu: true });
        const { call } = await lineOf('L').dialAndWait('5551234');

        remote().remoteHold();
        const held = await ev.next('held by the other side', (m) => m.topic === 'held');
        assert.equal(held.call.id, call.id);
        assert.equal(held.call.state, 'held');
        assert.equal(held.payload.heldBy, 'remote');
        assert.equal(held.payload.evidence, '+CSSU: 2');
        // The module still lists the call active (only +CSSU says it is held): a poll must not resume it.
        await sleep(profile === 'generic' ? 1200 : 2500);
        assert.equal(call.state, 'held', 'still held after AT+CLCC polls that list it active');
        // Only the other side can take it back.
        getNode('C').receive({ call: call.id, action: 'resume' });
        assert.match((await nextError('C')).message, /held by the other side: only they can take it back/);

        remote().remoteResume();
        const resumed = await ev.next('resumed by the other side', (m) => m.topic === 'resumed');
        assert.equal(resumed.payload.heldBy, 'remote');
        assert.equal(resumed.call.state, 'active');

        getNode('C').receive({ call: call.id });
        const ours = await ev.next('our hold', (m) => m.topic === 'held' && m !== held);
        assert.equal(ours.payload.heldBy, 'local');
        getNode('C').receive({ call: call.id, action: 'resume' });
        const back = await ev.next('our resume', (m) => m.topic === 'resumed' && m !== resumed);
        assert.equal(back.payload.heldBy, 'local');
        assert.deepEqual(ev.topics().filter((t) => t === 'held' || t === 'resumed'), ['held', 'resumed', 'held', 'resumed']);
      });
    }

    it('held by both sides: our resume leaves it held until the other side takes it back', async function () {
      await helper.load(ALL_NODES, flow('ec600n'));
      const ev = new Inbox('EV');
      const out = new Inbox('OUT');
      await waitReady('L');
      const { call } = await lineOf('L').dialAndWait('5551234');
      getNode('C').receive({ call: call.id });
      await ev.next('our hold', (m) => m.topic === 'held');
      remote().remoteHold();
      await sleep(300);
      assert.equal(ev.topics().filter((t) => t === 'held').length, 1, 'already held: no second event');
      getNode('C').receive({ call: call.id, action: 'resume' });
      await out.next('our resume done', (m) => m.action === 'resume');
      assert.equal(emulatorOf('L').commands.filter((c) => c === 'AT+CHLD=2').length, 2, 'our hold and our resume');
      await sleep(500);
      assert.equal(call.state, 'held', 'the other side still holds it');
      assert.equal(ev.topics().filter((t) => t === 'resumed').length, 0);
      remote().remoteResume();
      const resumed = await ev.next('resumed', (m) => m.topic === 'resumed');
      assert.equal(resumed.payload.heldBy, 'remote');
    });

    it('a module that refuses AT+CSSN still comes up; without +CSSU the call just stays active', async function () {
      await helper.load(ALL_NODES, flow('ec25'));
      await waitReady('L');
      remote().cssnSupported = false;
      emulatorOf('L').reboot();
      await waitFor('the line re-initialised', () => emulatorOf('L').commands.filter((c) => c === 'AT+CSSN=1,1').length === 2, 8000);
      await waitReady('L');
      assert.deepEqual(remote().cssn, { cssi: false, cssu: false });
      const { call } = await lineOf('L').dialAndWait('5551234');
      remote().remoteHold();
      await sleep(300);
      assert.equal(call.state, 'active');
    });
  });

  describe('a withheld caller (CLI validity)', () => {
    for (const profile of PROFILES) {
      it(`${profile}: +CLIP validity 1 / 2 / 3 → msg.call.remote.withheld with its reason, on the incoming event`, async function () {
        await helper.load(ALL_NODES, flow(profile));
        const ev = new Inbox('EV');
        await waitReady('L');
        for (const [withheld, reason] of [['withheld', 'withheld'], ['unavailable', 'unavailable'], ['payphone', 'payphone']] as const) {
          ev.messages.length = 0;
          emulatorOf('L').incomingCall('', { withheld });
          const incoming = await ev.next(`incoming (${withheld})`, (m) => m.topic === 'incoming');
          assert.deepEqual(incoming.call.remote, { number: '', withheld: true, withheldReason: reason });
          emulatorOf('L').remoteCancel();
          await ev.next('ended', (m) => m.topic === 'ended');
          assert.equal(ev.messages.filter((m) => m.topic === 'incoming').length, 1, 'one call, announced once');
        }
        // A caller with a number is not withheld.
        emulatorOf('L').incomingCall('+4930123456');
        const shown = await ev.next('incoming with a number', (m) => m.topic === 'incoming' && m.call.remote.number !== '');
        assert.deepEqual(shown.call.remote, { number: '+4930123456' });
      });
    }

    it('a waiting call from a withheld caller (+CCWA CLI validity)', async function () {
      await helper.load(ALL_NODES, flow('ec600n'));
      const ev = new Inbox('EV');
      await waitReady('L');
      await lineOf('L').dialAndWait('5551234');
      emulatorOf('L').incomingCall('', { withheld: 'payphone' });
      const waiting = await ev.next('waiting', (m) => m.topic === 'waiting');
      assert.deepEqual(waiting.call.remote, { number: '', withheld: true, withheldReason: 'payphone' });
    });
  });

  it('^DSCI <tone_info> (ASR) is kept in payload.callInfo.inbandTones', async function () {
    await helper.load(ALL_NODES, flow('ec600n'));
    const ev = new Inbox('EV');
    await waitReady('L');
    emulatorOf('L').dsciToneInfo = 1;
    const { call } = await lineOf('L').dialAndWait('5551234');
    const ringing = await ev.next('ringing', (m) => m.topic === 'ringing');
    assert.equal(ringing.payload.callInfo.inbandTones, true);
    const answered = await ev.next('answered', (m) => m.topic === 'answered');
    assert.equal(answered.payload.callInfo.inbandTones, true);
    await lineOf('L').hangup(call.id);
    await ev.next('ended', (m) => m.topic === 'ended');
    emulatorOf('L').dsciToneInfo = 0;
    emulatorOf('L').incomingCall('5550100');
    const incoming = await ev.next('incoming', (m) => m.topic === 'incoming');
    assert.equal(incoming.payload.callInfo.inbandTones, false);
  });

  describe('DTMF detection switched off (AT+QTONEDET=0)', () => {
    it('set-dtmf-detection false: no dtmf events, a collect fails; kept after a module restart; true brings the keys back', async function () {
      await helper.load(ALL_NODES, flow('ec200u', { action: 'set-dtmf-detection', value: 'false' }));
      const ev = new Inbox('EV');
      const out = new Inbox('OUT');
      await waitReady('L');
      assert.equal(emulatorOf('L').settings.toneDetection, true, 'on by default');

      getNode('C').receive({});
      assert.equal((await out.next('switched off')).payload, false);
      assert.equal(emulatorOf('L').settings.toneDetection, false);
      assert.ok(emulatorOf('L').commands.includes('AT+QTONEDET=0'));

      emulatorOf('L').incomingCall('5550100');
      const incoming = await ev.next('incoming', (m) => m.topic === 'incoming');
      await lineOf('L').answer(incoming.call.id);
      emulatorOf('L').pressDigits('12', 50);
      await sleep(400);
      assert.equal(ev.messages.filter((m) => m.topic === 'dtmf').length, 0, 'no dtmf event while off');
      getNode('D').receive({ call: incoming.call.id });
      assert.match((await nextError('D')).message, /DTMF detection is switched off on this line/);

      // The module restarts: the call is gone, the line comes back, detection stays off.
      emulatorOf('L').reboot();
      await waitFor('the line re-initialised', () => emulatorOf('L').commands.filter((c) => c === 'AT+QTONEDET=0').length === 2, 8000);
      await waitReady('L');
      assert.equal(emulatorOf('L').settings.toneDetection, false);
      getNode('C').receive({ action: 'get-settings' });
      assert.equal((await out.next('settings', (m) => m.action === 'get-settings')).payload.dtmfDetection, false);

      getNode('C').receive({ payload: true });
      await out.next('switched on', (m) => m.action === 'set-dtmf-detection' && m.payload === true);
      assert.equal(emulatorOf('L').settings.toneDetection, true);
      emulatorOf('L').incomingCall('5550100');
      const again = await ev.next('incoming', (m) => m.topic === 'incoming' && m.call.id !== incoming.call.id);
      await lineOf('L').answer(again.call.id);
      emulatorOf('L').pressDigits('7', 50);
      const key = await ev.next('dtmf', (m) => m.topic === 'dtmf');
      assert.equal(key.payload.digit, '7');
      assert.deepEqual(errorsOf('C'), []);
    });

    it('refuses a value that is not true / false, and a module without tone detection', async function () {
      await helper.load(ALL_NODES, flow('generic', { action: 'set-dtmf-detection' }));
      await waitReady('L');
      getNode('C').receive({ payload: 'maybe' });
      assert.match((await nextError('C')).message, /DTMF detection must be true or false, got/);
      getNode('C').receive({ payload: false });
      await waitFor('a second error', () => errorsOf('C').length === 2);
      assert.match(errorsOf('C')[1].message, /collecting DTMF digits is not supported on this line/);
      assert.ok(!emulatorOf('L').commands.some((c) => c.startsWith('AT+QTONEDET')));
    });
  });
});
