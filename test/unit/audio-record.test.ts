import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Recording } from '../../lib/capabilities/audio';
import { CallStateError, CommandFailedError, InvalidInputError, NotSupportedError } from '../../lib/errors';
import { parseWav } from '../../lib/media/wav-reader';
import { AudioHarness, recordingResult as ended, startCall, until } from '../helpers/audio-harness';
import { sleep } from '../helpers/at-harness';

describe('call recording on the module (AT+QAUDRD) and download (AT+QFDWL)', function () {
  this.timeout(20000);
  let h: AudioHarness;
  afterEach(async () => h?.close());

  it('EC25: records the downlink as WAV, downloads it when the call ends, and deletes it on the module', async function () {
    h = await startCall('ec25');
    assert.deepEqual(h.audioCommands(), ['AT+QAUDRD=?', 'AT+QPCMV=?'], 'the probes after initialisation');
    const rec = await h.line.audio.record(h.call.id, { mode: 'file', format: 'wav', direction: 'rx', path: h.dir, deleteOnModule: true });
    const result = ended(rec);
    const started = h.audioCommands()[2];
    assert.match(started, /^AT\+QAUDRD=1,"call1_\d{17}\.wav",13,1$/);
    const file = /"([^"]+)"/.exec(started)![1];
    assert.ok(h.audio().recording, 'the module records');
    await sleep(400);
    h.modem().remoteHangup();
    const r = await result;
    assert.deepEqual(h.audioCommands().slice(2), [
      started,
      'AT+QAUDRD=0',
      `AT+QFLST="${file}"`,
      `AT+QFDWL="${file}"`,
      `AT+QFDEL="${file}"`,
    ]);
    assert.equal(r.endedBy, 'call-ended');
    assert.equal(r.format, 'wav');
    assert.equal(r.direction, 'rx');
    assert.equal(r.moduleFile, file);
    assert.equal(r.chunks, 0);
    assert.ok(r.path && r.path.startsWith(h.dir) && r.path.endsWith('.wav'), r.path);
    const local = readFileSync(r.path!);
    assert.equal(r.bytes, local.length);
    const info = parseWav(local);
    assert.equal(info.sampleRate, 8000);
    assert.equal(info.channels, 1);
    assert.ok(r.durationMs >= 350 && r.durationMs <= 1500, `duration ${r.durationMs}`);
    assert.equal(r.durationMs, Math.round((info.dataBytes / 16000) * 1000), 'the duration is read from the file');
    assert.equal(h.audio().files.has(file), false, 'deleted on the module');
    assert.deepEqual(readdirSync(h.dir), [r.path!.slice(h.dir.length + 1)], 'no partial file left');
  });

  it('EC25: the uplink is <dlink> 0, AMR is <format> 3; the file stays on the module unless asked', async function () {
    h = await startCall('ec25');
    const rec = await h.line.audio.record(undefined, { format: 'amr', direction: 'tx', path: join(h.dir, 'me.amr') });
    const start = h.audioCommands()[2];
    assert.match(start, /^AT\+QAUDRD=1,"call1_\d{17}\.amr",3,0$/);
    await sleep(200);
    const r = await rec.stop();
    assert.equal(r.endedBy, 'stop');
    assert.equal(r.path, join(h.dir, 'me.amr'));
    const amr = readFileSync(r.path!);
    assert.equal(amr.toString('latin1', 0, 6), '#!AMR\n');
    assert.ok(r.durationMs >= 150 && r.durationMs < 1000, `${r.durationMs}`);
    assert.equal(h.audioCommands().at(-1)!.startsWith('AT+QFDWL='), true, 'no AT+QFDEL');
    assert.ok(h.audio().files.has(r.moduleFile!));
    assert.equal(h.call.state, 'active', 'stopping the recording does not end the call');
  });

  it('EC25: MIX is refused with a NotSupportedError naming the module, before anything is sent', async function () {
    h = await startCall('ec25');
    const before = h.audioCommands().length;
    await assert.rejects(
      h.line.audio.record(undefined, { direction: 'both', path: h.dir }),
      (e: Error) =>
        e instanceof NotSupportedError &&
        e.message === 'recording both directions mixed (MIX) is not supported on this line (Quectel EC25 (quectel-ec2x)): the module records TX or RX',
    );
    assert.equal(h.audioCommands().length, before);
  });

  for (const profile of ['ec600n', 'ec200u']) {
    it(`${profile}: MIX is <dlink> 2; no PCM probe (UART-only board)`, async function () {
      h = await startCall(profile);
      assert.deepEqual(h.audioCommands(), ['AT+QAUDRD=?']);
      const rec = await h.line.audio.record(undefined, { direction: 'mix', path: h.dir });
      assert.match(h.audioCommands()[1], /^AT\+QAUDRD=1,"call1_\d{17}\.wav",13,2$/);
      await sleep(100);
      const r = await rec.stop();
      assert.equal(r.direction, 'both');
      assert.ok(existsSync(r.path!));
    });
  }

  it('generic 27.007 modem: recording is not supported, and nothing audio-related is ever sent', async function () {
    h = await startCall('generic');
    await assert.rejects(
      h.line.audio.record(undefined, { path: h.dir }),
      (e: Error) => e instanceof NotSupportedError && e.message === 'recording calls is not supported on this line (Generic GSM Modem (generic))',
    );
    assert.deepEqual(h.audioCommands(), []);
  });

  it('the probe has the last word: a module that lists no MIX does not get one', async function () {
    // An EC25 driven with the ASR profile: the profile allows MIX, AT+QAUDRD=? says (0,1).
    h = await startCall('ec25', { modem: 'quectel-asr' });
    await assert.rejects(h.line.audio.record(undefined, { direction: 'both', path: h.dir }), NotSupportedError);
    await h.line.audio.record(undefined, { direction: 'rx', path: h.dir });
    assert.match(h.audioCommands().at(-1)!, /,13,1$/);
  });

  it('a checksum mismatch fails the recording with a clear error and leaves no local file', async function () {
    h = await startCall('ec25');
    const rec = await h.line.audio.record(undefined, { path: h.dir });
    const result = ended(rec);
    h.audio().corruptNextDownload();
    await sleep(100);
    h.modem().remoteHangup();
    await assert.rejects(
      result,
      (e: Error) => e instanceof CommandFailedError && /checksum does not match \(module [0-9a-f]{4}, received [0-9a-f]{4}\): the transfer was damaged/.test(e.message),
    );
    assert.deepEqual(readdirSync(h.dir), []);
  });

  it('+QAUDRIND: 0,3 (no space) fails the recording with the reason', async function () {
    h = await startCall('ec25');
    const rec = await h.line.audio.record(undefined, { path: h.dir });
    const result = ended(rec);
    h.audio().failRecording(3);
    await assert.rejects(result, (e: Error) => /the module stopped recording: no space left on the module \(\+QAUDRIND: 0,3\)/.test(e.message));
    assert.equal(h.call.state, 'active');
  });

  it('malformed +QAUDRIND URCs never throw; code 0 (reserved) changes nothing; an unknown code fails with it', async function () {
    h = await startCall('ec25');
    h.modem().injectLine('+QAUDRIND: 0,3'); // no recording: nothing to fail
    await sleep(50);
    const rec = await h.line.audio.record(undefined, { path: h.dir });
    h.modem().injectLine('+QAUDRIND: garbage');
    h.modem().injectLine('+QAUDRIND:');
    h.modem().injectLine('+QAUDRIND: 0,0');
    await sleep(50);
    const r = await rec.stop();
    assert.ok(r.bytes > 44);
    const rec2 = await h.line.audio.record(undefined, { path: h.dir });
    const result = ended(rec2);
    h.modem().injectLine('+QAUDRIND: 0,99');
    await assert.rejects(result, /the module stopped recording: error 99 \(\+QAUDRIND: 0,99\)/);
  });

  it('one module recording at a time; a call that is not connected is refused', async function () {
    h = await startCall('ec25');
    const rec = await h.line.audio.record(undefined, { path: h.dir });
    await assert.rejects(h.line.audio.record(undefined, { path: h.dir }), CallStateError);
    await rec.stop();
    const ended = h.next('ended');
    h.modem().remoteHangup();
    await ended;
    await assert.rejects(h.line.audio.record(h.call.id, { path: h.dir }), /not in progress/);
  });

  it('bad settings are refused before anything reaches the module', async function () {
    h = await startCall('ec25');
    const before = h.modem().commands.length;
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ path: h.dir, format: 'mp3' }, /format must be one of wav, amr/],
      [{ path: h.dir, direction: 'up' }, /direction must be one of rx, tx, both/],
      [{ path: 'relative/dir' }, /must be absolute/],
      [{}, /needs a folder or a file path/],
      [{ path: join(h.dir, 'x.amr'), format: 'wav' }, /ends in \.amr but the format is wav/],
      [{ mode: 'stream', chunkMs: 10 }, /chunk length \(ms\) must be a whole number from 20 to 1000/],
      [{ mode: 'tape', path: h.dir }, /mode must be one of file, stream, both/],
      [{ path: h.dir, deleteOnModule: 'yes' }, /true or false/],
    ];
    for (const [input, message] of bad) {
      await assert.rejects(h.line.audio.record(undefined, input), (e: Error) => e instanceof InvalidInputError && message.test(e.message), JSON.stringify(input));
    }
    assert.equal(h.modem().commands.slice(before).filter((c) => c !== 'AT+CLCC').length, 0);
  });

  it('auto-record: every answered call is recorded until switched off', async function () {
    h = await startCall('ec25');
    const recordings: Recording[] = [];
    const off = h.line.audio.autoRecord({ path: h.dir }, (r) => recordings.push(r), (err) => assert.fail(err));
    // The call up already is not recorded (it was answered before); the next one is.
    const endedFirst = h.next('ended');
    h.modem().remoteHangup();
    await endedFirst;
    const incoming = h.next('incoming');
    h.modem().incomingCall('5550111');
    await incoming;
    await h.line.answer();
    await until('a recording', () => recordings.length === 1);
    const result = ended(recordings[0]);
    await sleep(100);
    h.modem().remoteHangup();
    const r = await result;
    assert.ok(r.path!.includes('_5550111_'), r.path);
    off();
    const incoming2 = h.next('incoming');
    h.modem().incomingCall('5550122');
    await incoming2;
    await h.line.answer();
    await sleep(200);
    assert.equal(recordings.length, 1, 'not recorded after off()');
  });
});
