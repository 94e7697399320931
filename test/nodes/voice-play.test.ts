import assert from 'node:assert/strict';
import type { EmulatorAudio } from '../../lib/at/emulator/features/audio';
import { int16ToPcm16le } from '../../lib/media/g711';
import { beep } from '../../lib/media/tone-generator';
import { AUDIO_NODES, answeredCall, loadExample } from './audio-flow-helpers';
import { Inbox, emulatorOf, errorsOf, getNode, helper, lineNode, nextError, sink, voiceNode, waitFor } from './flow-helpers';

describe('voice-play', function () {
  this.timeout(20000);
  afterEach(async function () {
    await helper.unload();
  });

  function flow(props: Record<string, unknown> = {}, serialPort = 'sim:ec25') {
    return [lineNode('L', { serialPort }), voiceNode('P', 'voice-play', 'L', [['OUT']], props), sink('OUT')];
  }

  it('plays the node\'s tone into the call and sends the message on when it has played', async function () {
    await helper.load(AUDIO_NODES, flow({ source: 'beep:200' }));
    const out = new Inbox('OUT');
    const id = await answeredCall('L');
    getNode('P').receive({ call: id, keep: 1 });
    const msg = await out.next('played');
    assert.equal(msg.topic, 'played');
    assert.deepEqual(msg.payload, { playedMs: 200, stopped: false });
    assert.equal(msg.call.id, id);
    assert.equal(msg.keep, 1);
    assert.deepEqual([...emulatorOf('L').feature<EmulatorAudio>('audio').uplink()], [...beep(200)]);
    assert.deepEqual(errorsOf('P'), []);
  });

  it('plays msg.payload (raw PCM); msg.stop stops it and drops what is queued', async function () {
    await helper.load(AUDIO_NODES, flow());
    const out = new Inbox('OUT');
    const id = await answeredCall('L');
    getNode('P').receive({ call: id, payload: int16ToPcm16le(beep(5000)), n: 1 });
    getNode('P').receive({ call: id, payload: 'ringback', n: 2 });
    await waitFor('playing', () => emulatorOf('L').feature<EmulatorAudio>('audio').pcmEnabled);
    getNode('P').receive({ call: id, stop: true });
    const first = await out.next('first', (m) => m.n === 1);
    const second = await out.next('second', (m) => m.n === 2);
    assert.equal(first.payload.stopped, true);
    assert.ok(first.payload.playedMs < 4000);
    assert.deepEqual(second.payload, { playedMs: 0, stopped: true, skipped: true });
    assert.deepEqual(errorsOf('P'), []);
  });

  it('fails with "not supported on this module" on a UART-only EC200U', async function () {
    await helper.load(AUDIO_NODES, flow({ source: 'beep' }, 'sim:ec200u'));
    const id = await answeredCall('L');
    getNode('P').receive({ call: id });
    const err = await nextError('P');
    assert.equal(String(err), 'playing audio is not supported on this module (Quectel EC200U (quectel-unisoc)): it has no PCM port (AT+QPCMV)');
  });

  it('refuses something it cannot play, before anything is sent', async function () {
    await helper.load(AUDIO_NODES, flow());
    const id = await answeredCall('L');
    getNode('P').receive({ call: id, payload: { not: 'audio' } });
    const err = await nextError('P');
    assert.match(String(err), /the audio to play must be a Buffer/);
    assert.equal(emulatorOf('L').commands.includes('AT+QPCMV=1,0'), false);
  });

  it('the example flow loads: it answers, plays the prompt and hangs up', async function () {
    const { line, debug } = await loadExample('play-prompt.json');
    const shown = new Inbox(debug);
    emulatorOf(line).incomingCall('5550188');
    const msg = await shown.next('played', (m) => m.topic === 'played', 15000);
    assert.equal(msg.payload.stopped, false);
    assert.ok(emulatorOf(line).feature<EmulatorAudio>('audio').uplink().length > 0);
  });
});

