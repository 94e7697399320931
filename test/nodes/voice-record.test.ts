import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmulatorAudio } from '../../lib/at/emulator/features/audio';
import { randomInt } from 'node:crypto';
import { pcm16leToInt16 } from '../../lib/media/g711';
import { parseWav } from '../../lib/media/wav-reader';
import { dominantHz, loudMs } from '../helpers/audio-spectrum';
import { pickPorts } from '../helpers/sip-peers';
import { AUDIO_NODES, answeredCall, loadExample } from './audio-flow-helpers';
import { Inbox, emulatorOf, errorsOf, getNode, helper, lineNode, lineOf, nextError, sink, sleep, voiceNode, waitFor, waitReady } from './flow-helpers';

describe('voice-record', function () {
  this.timeout(20000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'voice-record-node-'))));
  afterEach(async function () {
    await helper.unload();
    rmSync(dir, { recursive: true, force: true });
  });

  function flow(props: Record<string, unknown>, serialPort = 'sim:ec25') {
    return [lineNode('L', { serialPort }), voiceNode('R', 'voice-record', 'L', [['OUT']], { folder: dir, ...props }), sink('OUT')];
  }

  it('records a call into a file on the module and sends where it landed when the call ends', async function () {
    await helper.load(AUDIO_NODES, flow({ mode: 'file', format: 'wav', direction: 'rx', deleteOnModule: true }));
    const out = new Inbox('OUT');
    const id = await answeredCall('L');
    getNode('R').receive({ call: id, keep: 'me' });
    await waitFor('recording', () => emulatorOf('L').feature<EmulatorAudio>('audio').recording !== null);
    await sleep(300);
    emulatorOf('L').remoteHangup();
    const msg = await out.next('the recording message', (m) => m.topic === 'recording');
    assert.equal(msg.keep, 'me', 'the rest of the message is kept');
    assert.equal(msg.call.id, id);
    assert.equal(msg.payload.format, 'wav');
    assert.equal(msg.payload.direction, 'rx');
    assert.equal(msg.payload.endedBy, 'call-ended');
    assert.ok(msg.payload.path.startsWith(dir), msg.payload.path);
    const file = readFileSync(msg.payload.path);
    assert.equal(file.length, msg.payload.bytes);
    assert.equal(parseWav(file).sampleRate, 8000);
    assert.ok(msg.payload.durationMs >= 250, `${msg.payload.durationMs}`);
    assert.equal(emulatorOf('L').feature<EmulatorAudio>('audio').files.size, 0, 'deleted on the module');
    assert.deepEqual(errorsOf('R'), []);
  });

  it('streams chunks as messages (design §3) until msg.stop', async function () {
    await helper.load(AUDIO_NODES, flow({ mode: 'stream', chunkMs: 200, direction: 'rx' }));
    const out = new Inbox('OUT');
    const id = await answeredCall('L');
    getNode('R').receive({ call: { id } });
    const first = await out.next('a chunk', (m) => m.topic === 'audio');
    assert.ok(Buffer.isBuffer(first.payload));
    assert.equal(first.payload.length, 3200);
    assert.deepEqual(first.audio, { format: 'pcm16le', sampleRate: 8000, channels: 1, direction: 'rx', seq: 0, timestamp: 0 });
    assert.equal(first.call.id, id);
    await out.next('a second chunk', (m) => m.topic === 'audio' && m.audio.seq === 1);
    getNode('R').receive({ call: id, stop: true });
    const done = await out.next('the result', (m) => m.topic === 'recording');
    assert.equal(done.payload.endedBy, 'stop');
    assert.equal(done.payload.chunks, out.messages.filter((m) => m.topic === 'audio').length);
    assert.equal(lineOf('L').activeCalls().length, 1, 'the call goes on');
    assert.deepEqual(errorsOf('R'), []);
  });

  it('auto-record: records every call once answered, without an input message', async function () {
    await helper.load(AUDIO_NODES, flow({ mode: 'file', autoRecord: true, deleteOnModule: false }));
    const out = new Inbox('OUT');
    const id = await answeredCall('L', '5550142');
    await waitFor('recording', () => emulatorOf('L').feature<EmulatorAudio>('audio').recording !== null);
    await sleep(200);
    emulatorOf('L').remoteHangup();
    const msg = await out.next('the recording message', (m) => m.topic === 'recording');
    assert.equal(msg.call.id, id);
    assert.match(msg.payload.path, /_5550142_/);
    assert.ok(existsSync(msg.payload.path));
    assert.equal(emulatorOf('L').feature<EmulatorAudio>('audio').files.size, 1, 'kept on the module');
  });

  it('a stream on a UART-only EC200U fails the message with a "not supported" error naming the module', async function () {
    await helper.load(AUDIO_NODES, flow({ mode: 'stream' }, 'sim:ec200u'));
    const id = await answeredCall('L');
    getNode('R').receive({ call: id });
    const err = await nextError('R');
    assert.equal(
      String(err),
      'streaming call audio is not supported on this line (Quectel EC200U (quectel-unisoc)): the module has no PCM port (AT+QPCMV)',
    );
    assert.equal((err as Error & { code?: string }).code, 'ENOTSUP');
  });

  it('stereo (the node\'s direction) on an EC25 fails the message: the module records mono only', async function () {
    await helper.load(AUDIO_NODES, flow({ mode: 'stream', direction: 'stereo' }));
    const id = await answeredCall('L');
    getNode('R').receive({ call: id });
    const err = await nextError('R');
    assert.equal(
      String(err),
      'recording one leg per channel (stereo) is not supported on this line (Quectel EC25 (quectel-ec2x)): the module records mono only',
    );
    assert.equal((err as Error & { code?: string }).code, 'ENOTSUP');
  });

  it('on two SIP lines: voice-play on A plays a beep, voice-record on B streams it in stereo (left A, right B), the result says 2 channels', async function () {
    const base = await pickPorts(2);
    const rtp = 30000 + 32 * randomInt(0, 300);
    const sipLine = (id: string, username: string, port: number, peer: number, rtpMin: number) => ({
      id, type: 'voice-line', name: `line ${username}`, backend: 'sip', server: `127.0.0.1:${peer}`, transport: 'udp',
      username, domain: '', register: false, localPort: port, rtpPortMin: rtpMin, rtpPortMax: rtpMin + 15, autoAnswer: 0, autoReject: false,
    });
    await helper.load(AUDIO_NODES, [
      sipLine('A', '1001', base, base + 1, rtp),
      sipLine('B', '2002', base + 1, base, rtp + 16),
      voiceNode('R', 'voice-record', 'B', [['OUT']], { mode: 'stream', direction: 'stereo', chunkMs: 100 }),
      voiceNode('P', 'voice-play', 'A', [['PLAYED']]),
      sink('OUT'),
      sink('PLAYED'),
    ]);
    await Promise.all([waitReady('A'), waitReady('B')]);
    const out = new Inbox('OUT');
    const played = new Inbox('PLAYED');
    const callA = await lineOf('A').dial('2002');
    await waitFor('the incoming call', () => lineOf('B').activeCalls().length === 1);
    const callB = await lineOf('B').answer();
    await waitFor('answered', () => callA.state === 'active');
    getNode('R').receive({ call: callB.id });
    getNode('P').receive({ call: callA.id, payload: 'beep:500' });
    const done = await played.next('the beep played', () => true, 15000);
    assert.deepEqual(done.payload, { playedMs: 500, stopped: false });
    getNode('R').receive({ call: callB.id, stop: true });
    const result = await out.next('the result', (m) => m.topic === 'recording', 15000);
    assert.deepEqual([result.payload.direction, result.payload.channels, result.payload.endedBy], ['both', 2, 'stop']);
    const chunks = out.messages.filter((m) => m.topic === 'audio');
    assert.equal(result.payload.chunks, chunks.length);
    assert.deepEqual(chunks[0].audio, { format: 'pcm16le', sampleRate: 8000, channels: 2, direction: 'both', seq: 0, timestamp: 0 });
    assert.ok(chunks.slice(0, -1).every((m) => m.payload.length === 3200), '100 ms of 2 channels');
    const pcm = pcm16leToInt16(Buffer.concat(chunks.map((m) => m.payload)));
    const left = pcm.filter((_, i) => i % 2 === 0);
    const right = pcm.filter((_, i) => i % 2 === 1);
    assert.equal(dominantHz(left), 1000, 'A\'s beep on the left');
    assert.ok(loudMs(right) === 0, 'B sent nothing: the right channel is silent');
    assert.deepEqual([...errorsOf('R'), ...errorsOf('P')], []);
    await lineOf('A').hangup(callA.id);
  });

  it('bad message settings fail the message before anything reaches the module', async function () {
    await helper.load(AUDIO_NODES, flow({ mode: 'file' }));
    const id = await answeredCall('L');
    const before = emulatorOf('L').commands.filter((c) => c.startsWith('AT+QAUDRD=1')).length;
    getNode('R').receive({ call: id, format: 'mp3' });
    const err = await nextError('R');
    assert.match(String(err), /the recording format must be one of wav, amr/);
    assert.equal((err as Error & { code?: string }).code, 'EINVAL');
    assert.equal(emulatorOf('L').commands.filter((c) => c.startsWith('AT+QAUDRD=1')).length, before);
  });

  it('the example flow loads: it answers, records, hangs up, and shows where the file is', async function () {
    const { line, debug } = await loadExample('record-calls.json', (n) => (n.type === 'voice-record' ? { ...n, folder: dir } : n));
    const shown = new Inbox(debug);
    emulatorOf(line).incomingCall('5550177');
    const msg = await shown.next('a recording', (m) => m.topic === 'recording', 15000);
    assert.ok(existsSync(msg.payload.path));
    assert.equal(msg.payload.endedBy, 'call-ended');
  });
});
