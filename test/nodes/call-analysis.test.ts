import assert from 'node:assert/strict';
import voiceDetect = require('../../nodes/voice-detect');
import voicePlay = require('../../nodes/voice-play');
import { answeredCall } from './audio-flow-helpers';
import { Inbox, NODES, emulatorOf, errorsOf, getNode, helper, lineNode, lineOf, nextError, sink, voiceNode, waitFor, waitReady } from './flow-helpers';

/**
 * Call analysis in flows (issue 13): voice-dial's detect settings and msg.detect, its answered message
 * with the far-end verdict, and the voice-detect node; on two SIP lines on loopback (line B plays a
 * corpus recording: an answering machine's greeting with its beep, or a person), and the error paths
 * on an emulated modem whose call audio does not reach this host (EC600N: no PCM port).
 */
const WITH_DETECT = [...NODES, voiceDetect, voicePlay];

const codeOf = (err: Error): string | undefined => (err as Error & { code?: string }).code;
const dialled = (lineId: string): string[] => emulatorOf(lineId).commands.filter((c) => /^ATD/i.test(c));

describe('call analysis in flows', function () {
  this.timeout(30000);
  afterEach(async function () {
    await helper.unload();
  });

  describe('on a modem line without the call audio (EC600N), and bad settings', () => {
    it('a voice-dial saved without the analysis settings dials as before: answered, no verdict, no error', async function () {
      await helper.load(WITH_DETECT, [lineNode('L'), voiceNode('D', 'voice-dial', 'L', [['OK'], ['NO']], { number: '5551234', ringTimeout: 30 }), sink('OK'), sink('NO')]);
      await waitReady('L');
      const ok = new Inbox('OK');
      getNode('D').receive({});
      const msg = await ok.next('answered');
      assert.equal(msg.topic, 'answered');
      assert.equal(msg.payload.farEnd, undefined);
      assert.equal(msg.call.state, 'active');
      assert.deepEqual(errorsOf('D'), []);
    });

    it('detect machine fails the message with ENOTSUP and dials nothing', async function () {
      await helper.load(WITH_DETECT, [lineNode('L'), voiceNode('D', 'voice-dial', 'L', [['OK'], ['NO']], { number: '5551234', ringTimeout: 30, detect: 'machine', detectTimeout: 5 }), sink('OK'), sink('NO')]);
      await waitReady('L');
      getNode('D').receive({});
      const err = await nextError('D');
      assert.equal(codeOf(err), 'ENOTSUP');
      assert.match(String(err), /call analysis is not supported on this line .*EC600N/i);
      assert.deepEqual(dialled('L'), []);
    });

    it('msg.detect "machine" turns it on for one message (ENOTSUP here); "off" leaves it off', async function () {
      await helper.load(WITH_DETECT, [lineNode('L'), voiceNode('D', 'voice-dial', 'L', [['OK'], ['NO']], { number: '5551234', ringTimeout: 30, detect: 'off' }), sink('OK'), sink('NO')]);
      await waitReady('L');
      const ok = new Inbox('OK');
      getNode('D').receive({ detect: 'machine' });
      assert.equal(codeOf(await nextError('D')), 'ENOTSUP');
      assert.deepEqual(dialled('L'), []);
      getNode('D').receive({ detect: 'off' });
      const msg = await ok.next('answered');
      assert.equal(msg.payload.farEnd, undefined);
      assert.equal(dialled('L').length, 1);
    });

    for (const [what, detect, words] of [
      ['an unknown choice', 'maybe', /"detect" must be "machine" .* or "off", got string maybe/],
      ['a number', 42, /msg.detect must be "machine", "off" or an object/],
      ['an unknown option name', { detect: 'machine', timeout: 5 }, /have no "timeout": use detect, timeoutMs, start, tones, sitEndsCall/],
      ['a timeout out of range', { detect: 'machine', timeoutMs: 500 }, /"timeoutMs" must be a number of milliseconds from 1000 to 30000, got number 500/],
      ['a start that is not answer or connect', { start: 'ring' }, /"start" must be "answer" or "connect"/],
      ['a tones flag that is not a boolean', { tones: 'yes' }, /"tones" must be true or false/],
    ] as const) {
      it(`msg.detect with ${what} fails the message with EINVAL, nothing dialled`, async function () {
        await helper.load(WITH_DETECT, [lineNode('L'), voiceNode('D', 'voice-dial', 'L', [['OK'], ['NO']], { number: '5551234', ringTimeout: 30 }), sink('OK'), sink('NO')]);
        await waitReady('L');
        getNode('D').receive({ detect });
        const err = await nextError('D');
        assert.equal(codeOf(err), 'EINVAL', String(err));
        assert.match(String(err), words);
        assert.deepEqual(dialled('L'), []);
      });
    }

    it('a node whose detect timeout is out of range (40 s) fails each message with EINVAL, nothing dialled', async function () {
      await helper.load(WITH_DETECT, [lineNode('L'), voiceNode('D', 'voice-dial', 'L', [['OK'], ['NO']], { number: '5551234', ringTimeout: 30, detect: 'machine', detectTimeout: 40 }), sink('OK'), sink('NO')]);
      await waitReady('L');
      getNode('D').receive({});
      const err = await nextError('D');
      assert.equal(codeOf(err), 'EINVAL');
      assert.match(String(err), /got number 40000/);
      assert.deepEqual(dialled('L'), []);
    });

    it('voice-detect on a connected call fails with ENOTSUP; with no call, or an ended one, with ENOCALL; a bad timeout with EINVAL', async function () {
      await helper.load(WITH_DETECT, [lineNode('L'), voiceNode('V', 'voice-detect', 'L', [['OUT']], { detectTimeout: 5, detectStart: 'answer' }), voiceNode('W', 'voice-detect', 'L', [['OUT']], { detectTimeout: 0.5 }), sink('OUT')]);
      await waitReady('L');
      getNode('V').receive({});
      await waitFor('the first error', () => errorsOf('V').length === 1);
      assert.equal(codeOf(errorsOf('V')[0]), 'ENOCALL', String(errorsOf('V')[0]));
      const id = await answeredCall('L');
      getNode('V').receive({ call: id });
      await waitFor('the second error', () => errorsOf('V').length === 2);
      assert.equal(codeOf(errorsOf('V')[1]), 'ENOTSUP');
      assert.match(String(errorsOf('V')[1]), /call analysis is not supported on this line/);
      getNode('W').receive({ call: id });
      const bad = await nextError('W');
      assert.equal(codeOf(bad), 'EINVAL');
      assert.match(String(bad), /"timeoutMs" must be .* got number 500/);
      await lineOf('L').hangup(id);
      await waitFor('the call gone', () => lineOf('L').activeCalls().length === 0);
      getNode('V').receive({ call: id });
      await waitFor('the third error', () => errorsOf('V').length === 3);
      assert.equal(codeOf(errorsOf('V')[2]), 'ENOCALL');
      assert.match(String(errorsOf('V')[2]), /is not in progress/);
    });
  });
});
