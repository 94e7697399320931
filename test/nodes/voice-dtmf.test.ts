import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { EmulatorDtmf } from '../../lib/at/emulator/features/dtmf';
import voiceDtmf = require('../../nodes/voice-dtmf');
import { FlowNode, Inbox, NODES, emulatorOf, errorsOf, getNode, helper, lineNode, lineOf, nextError, sink, statusesOf, voiceNode, waitFor, waitReady } from './flow-helpers';

const WITH_DTMF = [...NODES, voiceDtmf];

/** incoming calls (IN) → answer (A) → the dtmf node D → OUT; every dtmf event → KEYS. */
function flow(dtmfProps: Record<string, unknown>, line: Record<string, unknown> = {}) {
  return [
    lineNode('L', line),
    voiceNode('IN', 'voice-events', 'L', [['A']], { events: ['incoming'] }),
    voiceNode('A', 'voice-answer', 'L', [['D']]),
    voiceNode('D', 'voice-dtmf', 'L', [['OUT']], dtmfProps),
    voiceNode('K', 'voice-events', 'L', [['KEYS']], { events: ['dtmf'] }),
    sink('OUT'),
    sink('KEYS'),
  ];
}

/** The DTMF commands the line's emulated module has received. */
function vts(lineId: string): string[] {
  return emulatorOf(lineId).commands.filter((c) => /^AT\+VT[SD]=/.test(c) && c !== 'AT+VTS=?');
}

describe('voice-dtmf', function () {
  this.timeout(15000);
  afterEach(async function () {
    await helper.unload();
  });

  describe('send', () => {
    it('sends the configured digits into the answered call and passes the message on', async function () {
      await helper.load(WITH_DTMF, flow({ mode: 'send', digits: '12#', duration: 200 }));
      const out = new Inbox('OUT');
      await waitReady('L');
      emulatorOf('L').incomingCall('5550100');
      const msg = await out.next('sent');
      assert.equal(msg.topic, 'answered', 'the message goes on as it came');
      assert.equal(msg.call.state, 'active');
      assert.deepEqual(vts('L'), ['AT+VTS="12#",2']);
      assert.equal(emulatorOf('L').feature<EmulatorDtmf>('dtmf').heard, '12#');
      assert.ok(statusesOf('D').some((s) => s.text === 'sending…'), JSON.stringify(statusesOf('D')));
      await waitFor('status back to in call', () => statusesOf('D').at(-1)?.text === 'in call');
      assert.deepEqual(errorsOf('D'), []);
    });

    it('takes the digits from msg.payload and the duration from msg.duration (per-digit on a generic module)', async function () {
      await helper.load(WITH_DTMF, [lineNode('L', { serialPort: 'sim:generic' }), voiceNode('D', 'voice-dtmf', 'L', [['OUT']], { mode: 'send', digits: '', duration: 100 }), sink('OUT')]);
      const out = new Inbox('OUT');
      await waitReady('L');
      const r = await lineOf('L').dialAndWait('5551234');
      getNode('D').receive({ call: r.call.snapshot(), payload: '9*', duration: 500 });
      const msg = await out.next('sent');
      assert.equal(msg.call.id, r.call.id);
      assert.equal(msg.payload, '9*');
      assert.deepEqual(vts('L'), ['AT+VTD=5', 'AT+VTS=9', 'AT+VTS=*']);
    });

    it('takes the digits from where its typed input says: another msg property, global context, an environment variable', async function () {
      process.env.VOICE_TEST_DTMF = '7#';
      try {
        await helper.load(WITH_DTMF, [
          lineNode('L'),
          voiceNode('M', 'voice-dtmf', 'L', [['OUT']], { mode: 'send', digits: 'keys.pin', digitsType: 'msg' }),
          voiceNode('F', 'voice-dtmf', 'L', [['OUT']], { mode: 'send', digits: 'extension', digitsType: 'global' }),
          voiceNode('E', 'voice-dtmf', 'L', [['OUT']], { mode: 'send', digits: 'VOICE_TEST_DTMF', digitsType: 'env' }),
          sink('OUT'),
        ]);
        const out = new Inbox('OUT');
        await waitReady('L');
        const r = await lineOf('L').dialAndWait('5551234');
        getNode('M').receive({ call: r.call.id, payload: 'not these', keys: { pin: '12' } });
        await waitFor('M sent', () => out.messages.length === 1);
        (getNode('F') as unknown as { context(): { global: { set(k: string, v: unknown): void } } }).context().global.set('extension', '34');
        getNode('F').receive({ call: r.call.id });
        await waitFor('F sent', () => out.messages.length === 2);
        getNode('E').receive({ call: r.call.id });
        await waitFor('E sent', () => out.messages.length === 3);
        assert.deepEqual(vts('L'), ['AT+VTS="12",1', 'AT+VTS="34",1', 'AT+VTS="7#",1']);
        // Empty where it looks: the error says where.
        getNode('M').receive({ call: r.call.id, payload: '5' });
        assert.equal(String(await nextError('M')), 'no digits to send: msg.keys.pin is empty');
      } finally {
        delete process.env.VOICE_TEST_DTMF;
      }
    });

    it('refuses bad digits with done(err): nothing reaches the modem', async function () {
      await helper.load(WITH_DTMF, [lineNode('L'), voiceNode('D', 'voice-dtmf', 'L', [['OUT']], { mode: 'send', digits: '' }), sink('OUT')]);
      const out = new Inbox('OUT');
      await waitReady('L');
      const r = await lineOf('L').dialAndWait('5551234');
      getNode('D').receive({ call: r.call.id, payload: '123;+CFUN=0' });
      const err = await nextError('D');
      assert.equal(String(err), 'the DTMF digits "123;+CFUN=0" are not valid: use 0-9, *, # and A-D, at most 64 of them');
      assert.equal((err as Error & { code?: string }).code, 'EINVAL');
      getNode('D').receive({ call: r.call.id, payload: '1', duration: 5 });
      await waitFor('a second error', () => errorsOf('D').length === 2);
      assert.match(String(errorsOf('D')[1]), /the DTMF duration must be 100 to 1000 milliseconds/);
      getNode('D').receive({ call: r.call.id });
      await waitFor('a third error', () => errorsOf('D').length === 3);
      assert.match(String(errorsOf('D')[2]), /^no digits to send/);
      assert.deepEqual(vts('L'), []);
      assert.ok(!emulatorOf('L').commands.some((c) => c.includes('CFUN')));
      assert.equal(out.messages.length, 0);
    });
  });

  describe('collect', () => {
    it('collects up to the finish key and sends { digits, reason } with topic gather; each key is a dtmf event', async function () {
      await helper.load(WITH_DTMF, flow({ mode: 'collect', maxDigits: 10, finishKey: '#', firstDigitTimeout: 5, interDigitTimeout: 3 }));
      const out = new Inbox('OUT');
      const keys = new Inbox('KEYS');
      await waitReady('L');
      emulatorOf('L').incomingCall('5550100');
      await waitFor('collecting', () => statusesOf('D').some((s) => s.text === 'collecting…'));
      emulatorOf('L').pressDigits('123#', 20);
      const msg = await out.next('gathered');
      assert.equal(msg.topic, 'gather');
      assert.deepEqual(msg.payload, { digits: '123', reason: 'finish-key' });
      assert.equal(msg.call.state, 'active');
      await keys.next('four keys', () => keys.messages.length === 4);
      assert.deepEqual(keys.messages.map((m) => m.payload.digit), ['1', '2', '3', '#']);
      assert.ok(keys.messages.every((m) => m.topic === 'dtmf' && m.call.id === msg.call.id));
      await waitFor('status back to in call', () => statusesOf('D').at(-1)?.text === 'in call');
    });

    it('msg.gather overrides the node\'s settings', async function () {
      await helper.load(WITH_DTMF, [lineNode('L'), voiceNode('D', 'voice-dtmf', 'L', [['OUT']], { mode: 'collect', maxDigits: 10, finishKey: '#', firstDigitTimeout: 5, interDigitTimeout: 3 }), sink('OUT')]);
      const out = new Inbox('OUT');
      await waitReady('L');
      const r = await lineOf('L').dialAndWait('5551234');
      getNode('D').receive({ call: r.call.id, gather: { maxDigits: 2, finishKey: 'none' } });
      await waitFor('collecting', () => statusesOf('D').some((s) => s.text === 'collecting…'));
      emulatorOf('L').pressDigits('#45', 20);
      const msg = await out.next('gathered');
      assert.deepEqual(msg.payload, { digits: '#4', reason: 'max-digits' });
    });

    it('ends with first-digit-timeout when nobody presses anything', async function () {
      await helper.load(WITH_DTMF, [lineNode('L'), voiceNode('D', 'voice-dtmf', 'L', [['OUT']], { mode: 'collect', firstDigitTimeout: 0.2 }), sink('OUT')]);
      const out = new Inbox('OUT');
      await waitReady('L');
      const r = await lineOf('L').dialAndWait('5551234');
      getNode('D').receive({ call: r.call.id });
      const msg = await out.next('timed out');
      assert.deepEqual(msg.payload, { digits: '', reason: 'first-digit-timeout' });
    });

    it('refuses bad gather options and a module without tone detection, naming it', async function () {
      await helper.load(WITH_DTMF, [lineNode('L', { serialPort: 'sim:generic' }), voiceNode('D', 'voice-dtmf', 'L', [['OUT']], { mode: 'collect' }), sink('OUT')]);
      await waitReady('L');
      const r = await lineOf('L').dialAndWait('5551234');
      getNode('D').receive({ call: r.call.id, gather: { maxDigits: 100 } });
      assert.match(String(await nextError('D')), /the gather option maxDigits must be a whole number from 1 to 64/);
      getNode('D').receive({ call: r.call.id, gather: 'four' });
      await waitFor('a second error', () => errorsOf('D').length === 2);
      assert.match(String(errorsOf('D')[1]), /msg.gather must be an object/);
      getNode('D').receive({ call: r.call.id });
      await waitFor('a third error', () => errorsOf('D').length === 3);
      assert.equal(String(errorsOf('D')[2]), 'collecting DTMF digits is not supported on this line (Generic GSM Modem (generic))');
      assert.equal((errorsOf('D')[2] as Error & { code?: string }).code, 'ENOTSUP');
    });

    it('cancels its gather when the node is closed, and leaves no listener on the line', async function () {
      await helper.load(WITH_DTMF, [lineNode('L'), voiceNode('D', 'voice-dtmf', 'L', [['OUT']], { mode: 'collect', firstDigitTimeout: 0 }), sink('OUT')]);
      const out = new Inbox('OUT');
      await waitReady('L');
      const line = lineOf('L');
      const r = await line.dialAndWait('5551234');
      getNode('D').receive({ call: r.call.id });
      await waitFor('a gather runs', () => line.dtmf.gatherOf(r.call) !== undefined);
      const gather = line.dtmf.gatherOf(r.call)!;
      await helper.unload();
      assert.deepEqual(await gather.result, { digits: '', reason: 'cancelled' });
      assert.equal(line.listenerCount('report'), 0);
      assert.equal(out.messages.length, 0, 'nothing is sent after close');
    });
  });

  describe('examples/dtmf-gather.json', () => {
    /** The example as the editor would deploy it, on a plain `sim:ec600n` the test drives itself; debug nodes become sinks. */
    function exampleFlow(): FlowNode[] {
      let dir = __dirname;
      while (!fs.existsSync(path.join(dir, 'examples', 'dtmf-gather.json'))) dir = path.dirname(dir);
      const nodes = JSON.parse(fs.readFileSync(path.join(dir, 'examples', 'dtmf-gather.json'), 'utf8')) as FlowNode[];
      const placed = nodes.map((n): FlowNode => {
        if (n.type === 'voice-line') return { ...n, serialPort: 'sim:ec600n' };
        if (n.type === 'debug') return { id: n.id, type: 'helper', name: n.name, z: 'T' };
        return { ...n, z: 'T' };
      });
      return [{ id: 'T', type: 'tab', label: 'dtmf-gather' }, ...placed];
    }

    it('answers, collects 123 up to #, confirms with a 1 and hangs up', async function () {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const comment = require('@node-red/nodes/core/common/90-comment.js');
      const flow = exampleFlow();
      await helper.load([...WITH_DTMF, comment], flow);
      const id = (name: string) => flow.find((n) => n.name === name)!.id;
      const lineId = flow.find((n) => n.type === 'voice-line')!.id;
      const collected = new Inbox(id('digits collected'));
      const keys = new Inbox(id('each key'));
      await waitReady(lineId);
      const modem = emulatorOf(lineId);
      modem.incomingCall('5550100');
      await waitFor('collecting', () => statusesOf(id('collect up to #')).some((s) => s.text === 'collecting…'));
      modem.pressDigits('123#', 50);
      const msg = await collected.next('digits');
      assert.deepEqual(msg.payload, { digits: '123', reason: 'finish-key' });
      await waitFor('the call ended by the flow', () => modem.calls.length === 0);
      assert.deepEqual(vts(lineId), ['AT+VTS="1",3']);
      assert.deepEqual(keys.messages.map((m) => m.payload.digit), ['1', '2', '3', '#']);
      for (const n of flow) assert.deepEqual(errorsOf(n.id).map(String), [], `${n.type} ${n.id}`);
    });
  });
});
