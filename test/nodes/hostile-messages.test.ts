/**
 * Messages built to break things (issue 10): a getter that throws, a Proxy whose traps throw, circular
 * objects, fed to every node type that takes input. Each fails the message with a coded error in our
 * words (EBADMSG for what cannot be read), never a raw JavaScript error, and nothing crashes: the line
 * goes on, and a good message afterwards works.
 */
import assert from 'node:assert/strict';
import voiceControl = require('../../nodes/voice-control');
import voiceDetect = require('../../nodes/voice-detect');
import voiceDtmf = require('../../nodes/voice-dtmf');
import voiceForward = require('../../nodes/voice-forward');
import { toFlowError } from '../../nodes/shared/flow-error';
import { AUDIO_NODES } from './audio-flow-helpers';
import { Inbox, Msg, errorsOf, getNode, helper, lineNode, lineOf, sink, voiceNode, waitFor, waitReady } from './flow-helpers';

const ALL_NODES = [...AUDIO_NODES, voiceControl, voiceDtmf, voiceForward, voiceDetect];

/** Every node type that takes messages. */
const TYPES = ['voice-dial', 'voice-answer', 'voice-hangup', 'voice-dtmf', 'voice-record', 'voice-forward', 'voice-play', 'voice-control', 'voice-detect'];

function throwingProxy(): object {
  const boom = (): never => {
    throw new TypeError('trap says no');
  };
  return new Proxy({}, { get: boom, has: boom, ownKeys: boom, getOwnPropertyDescriptor: boom, getPrototypeOf: boom });
}

/** A Proxy that answers "no keys" but throws on every read: Object.keys alone does not see it. */
function quietProxy(): object {
  return new Proxy({}, {
    get() {
      throw new Error('get trap');
    },
  });
}

const HOSTILE: [string, () => Msg][] = [
  ['a getter on msg.payload that throws', () => Object.defineProperty({ topic: 'x' }, 'payload', { enumerable: true, get: () => { throw new Error('getter says no'); } })],
  ['msg.payload a Proxy whose traps all throw', () => ({ payload: throwingProxy() })],
  ['msg.call a Proxy whose get trap throws', () => ({ call: quietProxy() })],
  ['msg.payload.number behind a Proxy', () => ({ payload: { number: quietProxy() } })],
  ['msg.gather a Proxy', () => ({ gather: throwingProxy(), payload: '123' })],
];

describe('hostile messages to every node type', function () {
  this.timeout(30000);
  afterEach(async function () {
    await helper.unload();
  });

  for (const type of TYPES) {
    it(`${type}: every hostile message fails with EBADMSG, a circular one with a code, and the line goes on`, async function () {
      const props: Record<string, unknown> = type === 'voice-dtmf' ? { mode: 'send' } : {};
      await helper.load(ALL_NODES, [lineNode('L', { serialPort: 'sim:ec25' }), voiceNode('N', type, 'L', [['OUT'], ['OUT']], props), sink('OUT')]);
      await waitReady('L');
      const node = getNode('N');
      let expected = 0;
      for (const [what, make] of HOSTILE) {
        node.receive(make());
        expected++;
        await waitFor(`the error for ${what}`, () => errorsOf('N').length === expected);
        const err = errorsOf('N')[expected - 1] as Error & { code?: string };
        assert.equal(err.code, 'EBADMSG', `${what}: ${String(err)}`);
        assert.match(String(err), /^the message cannot be read: msg\.[\w.]+ threw when read \(.+\)$/, what);
      }
      // Circular: readable, so the node's own checks answer (no call, not a number...), with a code.
      const circular: Msg = { topic: 'loop' };
      circular.payload = circular;
      circular.call = { self: circular };
      node.receive(circular);
      expected++;
      await waitFor('the error for a circular message', () => errorsOf('N').length === expected);
      const err = errorsOf('N')[expected - 1] as Error & { code?: string };
      assert.match(err.code ?? '', /^E[A-Z]+$/, String(err));
      assert.notEqual(err.code, 'EUNEXPECTED', String(err));
      assert.equal(lineOf('L').status.state, 'ready', 'the line goes on');
    });
  }

  it('a good message works after the hostile ones (voice-dial)', async function () {
    await helper.load(ALL_NODES, [lineNode('L', { serialPort: 'sim:ec25' }), voiceNode('N', 'voice-dial', 'L', [['OUT'], ['OUT']]), sink('OUT')]);
    await waitReady('L');
    const out = new Inbox('OUT');
    for (const [, make] of HOSTILE) getNode('N').receive(make());
    await waitFor('the errors', () => errorsOf('N').length === HOSTILE.length);
    getNode('N').receive({ payload: '5550100' });
    await waitFor('a call', () => lineOf('L').activeCalls().length === 1);
    assert.equal(out.messages.length, 0);
  });

  it('anything else thrown while handling a message reaches the flow with a code (EUNEXPECTED), the raw text beside ours', function () {
    const raw = new TypeError("Cannot read properties of undefined (reading 'method')");
    const err = toFlowError(raw) as Error & { code?: string };
    assert.equal(err.code, 'EUNEXPECTED');
    assert.equal(String(err), "the message could not be handled: Cannot read properties of undefined (reading 'method') (if it holds nothing unusual, this is a bug: please report it)");
    assert.match(err.stack ?? '', /caused by TypeError: Cannot read properties/);
    assert.equal((toFlowError('a string') as Error & { code?: string }).code, 'EUNEXPECTED');
  });
});
