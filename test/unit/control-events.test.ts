import { strict as assert } from 'node:assert';
import { startLine } from '../helpers/at-harness';
import { closeAfterEach } from '../helpers/close-after-each';

/**
 * The events row of issue 3: every state voiceCall reports (call waiting, hold, dial failed with its
 * reason) and the VoLTE fields (direction, status, type, multiparty flag, number, number type) in
 * `msg.payload.callInfo`, from the module's own reports (^DSCI, ccinfo, +CLCC).
 */
const PROFILES = [
  // ^DSCI carries no multiparty field; ccinfo and +CLCC do.
  { sim: 'ec600n', multiparty: undefined, urcAnnouncesIncoming: true },
  { sim: 'ec200u', multiparty: false, urcAnnouncesIncoming: true },
  { sim: 'ec25', multiparty: false, urcAnnouncesIncoming: true },
  // A plain modem announces a call by RING / +CCWA (no index, no status): its first event has no
  // callInfo; AT+CLCC gives it for the next ones.
  { sim: 'generic', multiparty: false, urcAnnouncesIncoming: false },
] as const;

describe('control: call events carry the module\'s call description (callInfo)', function () {
  this.timeout(10000);
  const track = closeAfterEach();

  for (const p of PROFILES) {
    describe(p.sim, () => {
      const mp = p.multiparty === undefined ? {} : { multiparty: p.multiparty };

      it('outgoing: ringing, answered, held, ended with direction, status, type, number and number type', async () => {
        const h = track(await startLine(p.sim));
        const { call } = await h.line.dialAndWait('5551234');
        await h.line.control.hold(call.id);
        await h.line.hangup(call.id);
        await h.next('ended');
        const info = (topic: string) => h.events.find((e) => e.call?.id === call.id && e.topic === topic)?.payload.callInfo;
        const base = { index: call.index, direction: 'outbound', type: 'voice', number: '5551234', numberType: 129, ...mp };
        assert.equal(typeof call.index, 'number');
        assert.deepEqual(info('answered'), { ...base, status: 'active' });
        assert.deepEqual(info('held'), { ...base, status: 'held' });
        assert.deepEqual(info('ended'), { ...base, status: 'released' });
        if (p.urcAnnouncesIncoming) assert.deepEqual(info('ringing'), { ...base, status: 'alerting' });
        assert.equal(info('dialing'), undefined, 'the dial is ours: the module has not reported the call yet');
      });

      it('incoming and waiting calls: inbound, international number type 145', async () => {
        const h = track(await startLine(p.sim));
        h.modem().incomingCall('+4930123456');
        const incoming = await h.next('incoming');
        await h.line.answer(incoming.call?.id);
        const answered = await h.next('answered');
        h.modem().incomingCall('5550200');
        const waiting = await h.next('waiting');
        await h.line.answer(waiting.call?.id);
        const held = await h.next('held');
        const first = { index: incoming.call?.index ?? 1, direction: 'inbound', type: 'voice', number: '+4930123456', numberType: 145, ...mp };
        assert.deepEqual(answered.payload.callInfo, { ...first, status: 'active' });
        assert.deepEqual(held.payload.callInfo, { ...first, status: 'held' });
        if (p.urcAnnouncesIncoming) {
          assert.deepEqual(incoming.payload.callInfo, { ...first, status: 'incoming' });
          assert.deepEqual(waiting.payload.callInfo, { index: 2, direction: 'inbound', type: 'voice', number: '5550200', numberType: 129, status: 'waiting', ...mp });
          assert.equal(incoming.payload.number, '+4930123456', 'the first event keeps its number field');
        } else {
          assert.equal(incoming.payload.callInfo, undefined);
          assert.equal(waiting.payload.callInfo, undefined);
        }
      });

      it('a dial the module refuses ends "failed", with its final result as the reason', async () => {
        const h = track(await startLine(p.sim));
        h.modem().incomingCall('5550100'); // a module does not dial while a call rings in
        await h.next('incoming');
        const call = await h.line.dial('5551234');
        const ended = await h.next('ended', (e) => e.call?.id === call.id);
        assert.equal(ended.payload.cause, 'failed');
        assert.equal(ended.payload.by, 'remote');
        assert.equal(ended.payload.finalResult, '+CME ERROR: 3');
        assert.match(String(ended.payload.text), /the modem refused the call: \+CME ERROR: 3/);
        assert.deepEqual(h.events.filter((e) => e.call?.id === call.id).map((e) => e.topic), ['dialing', 'ended']);
        assert.ok(h.modem().commands.includes('ATD5551234;'));
      });
    });
  }
});
