/**
 * Stereo recordings (one leg per channel) in the line's settings and on the AT backend, which cannot
 * make them. The SIP side records them: test/integration/sip-audio.test.ts.
 */
import assert from 'node:assert/strict';
import { InvalidInputError, NotSupportedError } from '../../lib/errors';
import { AudioHarness, startCall } from '../helpers/audio-harness';

describe('stereo recordings: the settings, and the AT backend refusing them', function () {
  this.timeout(20000);
  let h: AudioHarness;
  afterEach(async () => h?.close());

  it('"stereo" is direction both with 2 channels; channels 2 with both is the same; the options carry channels: 2 only then', async function () {
    h = await startCall('ec25');
    const a = h.line.audio.checkRecording({ mode: 'stream', direction: 'stereo' });
    assert.deepEqual([a.direction, a.channels], ['both', 2]);
    const b = h.line.audio.checkRecording({ mode: 'stream', direction: 'BOTH', channels: '2' });
    assert.deepEqual([b.direction, b.channels], ['both', 2]);
    assert.equal(h.line.audio.optionsFor(a, h.call).channels, 2);
    const mono = h.line.audio.checkRecording({ mode: 'stream', direction: 'mix' });
    assert.deepEqual([mono.direction, mono.channels], ['both', 1]);
    assert.equal('channels' in h.line.audio.optionsFor(mono, h.call), false);
  });

  it('bad channel settings are InvalidInputErrors that say what fits', async function () {
    h = await startCall('ec25');
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ mode: 'stream', direction: 'rx', channels: 2 }, /2 channels hold one leg each \(left rx, right tx\): the direction must be both \(or stereo\), got rx/],
      [{ mode: 'stream', direction: 'stereo', channels: 1 }, /a stereo recording has 2 channels/],
      [{ mode: 'stream', channels: 3 }, /channels must be 1 or 2, got number 3/],
      [{ mode: 'stream', direction: 'left' }, /direction must be one of rx, tx, both, stereo/],
    ];
    for (const [input, message] of bad) {
      assert.throws(() => h.line.audio.checkRecording(input), (e: Error) => e instanceof InvalidInputError && message.test(e.message), JSON.stringify(input));
    }
  });

  it('EC25: a stereo recording or stream is refused with a NotSupportedError naming the module, before anything is sent', async function () {
    h = await startCall('ec25');
    const before = h.audioCommands().length;
    for (const mode of ['file', 'stream']) {
      await assert.rejects(
        h.line.audio.record(undefined, { mode, direction: 'stereo', path: h.dir }),
        (e: Error) =>
          e instanceof NotSupportedError &&
          e.message === 'recording one leg per channel (stereo) is not supported on this line (Quectel EC25 (quectel-ec2x)): the module records mono only',
      );
    }
    assert.equal(h.audioCommands().length, before);
  });
});
