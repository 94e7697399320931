/**
 * Files named by messages (issue 10): voice-play and voice-record keep a path from a message inside
 * the node's folder (`..`, absolute paths and symbolic links out are refused with EPATH), take one
 * only when the node says so, and voice-record never overwrites a file that is not a recording.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmulatorAudio } from '../../lib/at/emulator/features/audio';
import { int16ToPcm16le } from '../../lib/media/g711';
import { beep } from '../../lib/media/tone-generator';
import { wavHeader } from '../../lib/media/wav-header';
import { AUDIO_NODES, answeredCall } from './audio-flow-helpers';
import { Inbox, emulatorOf, errorsOf, getNode, helper, lineNode, nextError, sink, voiceNode, waitFor } from './flow-helpers';

function wavFile(path: string, ms = 100): void {
  const pcm = int16ToPcm16le(beep(ms));
  writeFileSync(path, Buffer.concat([wavHeader(8000, 1, pcm.length), pcm]));
}

function codeOf(err: Error): string | undefined {
  return (err as Error & { code?: string }).code;
}

describe('files named by messages', function () {
  this.timeout(20000);
  /** dir/base is the node's folder; dir itself is outside it. */
  let dir: string;
  let base: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'voice-files-'));
    base = join(dir, 'base');
    mkdirSync(base);
    wavFile(join(dir, 'outside.wav'));
    wavFile(join(base, 'inside.wav'));
  });
  afterEach(async function () {
    await helper.unload();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('voice-play', function () {
    function flow(props: Record<string, unknown> = {}) {
      return [lineNode('L', { serialPort: 'sim:ec25' }), voiceNode('P', 'voice-play', 'L', [['OUT']], { folder: base, ...props }), sink('OUT')];
    }

    async function refused(payload: string, props: Record<string, unknown> = {}): Promise<Error> {
      await helper.load(AUDIO_NODES, flow(props));
      const id = await answeredCall('L');
      getNode('P').receive({ call: id, payload });
      const err = await nextError('P');
      assert.equal(emulatorOf('L').commands.includes('AT+QPCMV=1,0'), false, 'nothing was played');
      return err;
    }

    for (const [what, payload] of [
      ['a ../ path', '../outside.wav'],
      ['an absolute path outside the folder', '<dir>/outside.wav'],
      ['a symbolic link out of the folder', 'link.wav'],
      ['a ../ hidden in the middle', 'sub/../../outside.wav'],
    ]) {
      it(`refuses ${what} from msg.payload (EPATH)`, async function () {
        symlinkSync(join(dir, 'outside.wav'), join(base, 'link.wav'));
        const err = await refused(payload.replace('<dir>', dir));
        assert.equal(codeOf(err), 'EPATH', String(err));
        assert.match(String(err), /leads outside the folder/);
      });
    }

    it('plays a path inside the folder, relative or absolute, and a link that stays inside', async function () {
      symlinkSync(join(base, 'inside.wav'), join(base, 'alias.wav'));
      await helper.load(AUDIO_NODES, flow());
      const out = new Inbox('OUT');
      const id = await answeredCall('L');
      for (const [n, payload] of [['1', 'inside.wav'], ['2', join(base, 'inside.wav')], ['3', 'alias.wav']]) {
        getNode('P').receive({ call: id, payload, n });
        const msg = await out.next(`played ${n}`, (m) => m.n === n);
        assert.deepEqual(msg.payload, { playedMs: 100, stopped: false });
      }
      assert.deepEqual(errorsOf('P'), []);
    });

    it('with "take a WAV path from msg.payload" off: a path is refused (EPATH), a tone still plays', async function () {
      await helper.load(AUDIO_NODES, flow({ pathFromMsg: false }));
      const out = new Inbox('OUT');
      const id = await answeredCall('L');
      getNode('P').receive({ call: id, payload: 'inside.wav' });
      const err = await nextError('P');
      assert.equal(codeOf(err), 'EPATH');
      assert.match(String(err), /does not take a file path from the message/);
      getNode('P').receive({ call: id, payload: 'beep:100' });
      assert.equal((await out.next('played')).payload.playedMs, 100);
    });

    it('the node\'s own source may lead anywhere (the flow is trusted, as the core file nodes do)', async function () {
      await helper.load(AUDIO_NODES, flow({ source: join(dir, 'outside.wav') }));
      const out = new Inbox('OUT');
      const id = await answeredCall('L');
      getNode('P').receive({ call: id });
      assert.equal((await out.next('played')).payload.playedMs, 100);
    });

    it('a source read from context is kept inside the folder like a message\'s; one from an environment variable is the node\'s own', async function () {
      process.env.VOICE_TEST_PROMPT = join(dir, 'outside.wav');
      try {
        await helper.load(AUDIO_NODES, [
          lineNode('L', { serialPort: 'sim:ec25' }),
          voiceNode('G', 'voice-play', 'L', [['OUT']], { folder: base, source: 'prompt', sourceType: 'global' }),
          voiceNode('E', 'voice-play', 'L', [['OUT']], { folder: base, source: 'VOICE_TEST_PROMPT', sourceType: 'env' }),
          sink('OUT'),
        ]);
        const out = new Inbox('OUT');
        const id = await answeredCall('L');
        const global = (getNode('G') as unknown as { context(): { global: { set(k: string, v: unknown): void } } }).context().global;
        global.set('prompt', '../outside.wav');
        getNode('G').receive({ call: id });
        assert.equal(codeOf(await nextError('G')), 'EPATH');
        global.set('prompt', 'inside.wav');
        getNode('G').receive({ call: id });
        assert.equal((await out.next('played from context')).payload.playedMs, 100);
        getNode('E').receive({ call: id });
        await waitFor('played from the environment', () => out.messages.length === 2);
        assert.equal(out.messages[1].payload.playedMs, 100);
      } finally {
        delete process.env.VOICE_TEST_PROMPT;
      }
    });

    it('refuses a file over the node\'s size limit (EFILE), naming the path once', async function () {
      wavFile(join(base, 'big.wav'), 70_000); // 1.1 MB
      const err = await refused('big.wav', { maxSizeMB: 1 });
      assert.equal(codeOf(err), 'EFILE');
      assert.equal(String(err), 'cannot play big.wav: it is 1.1 MB, over the limit of 1 MB');
    });

    it('refuses a FIFO and a folder named .wav (EFILE), without waiting on them', async function () {
      mkdirSync(join(base, 'folder.wav'));
      execFileSync('mkfifo', [join(base, 'fifo.wav')]);
      await helper.load(AUDIO_NODES, flow());
      const id = await answeredCall('L');
      getNode('P').receive({ call: id, payload: 'folder.wav' });
      getNode('P').receive({ call: id, payload: 'fifo.wav' });
      await waitFor('two errors', () => errorsOf('P').length === 2);
      assert.deepEqual(errorsOf('P').map(codeOf), ['EFILE', 'EFILE']);
      assert.deepEqual(errorsOf('P').map(String).sort(), [
        'cannot play fifo.wav: it is not a regular file (a FIFO)',
        'cannot play folder.wav: it is not a regular file (a folder)',
      ]);
    });
  });

  describe('voice-record', function () {
    function flow(props: Record<string, unknown> = {}) {
      return [
        lineNode('L', { serialPort: 'sim:ec25' }),
        voiceNode('R', 'voice-record', 'L', [['OUT']], { folder: base, mode: 'file', format: 'wav', direction: 'rx', pathFromMsg: true, ...props }),
        sink('OUT'),
      ];
    }

    async function refused(path: string, props: Record<string, unknown> = {}): Promise<Error> {
      await helper.load(AUDIO_NODES, flow(props));
      const id = await answeredCall('L');
      getNode('R').receive({ call: id, path });
      const err = await nextError('R');
      assert.equal(emulatorOf('L').feature<EmulatorAudio>('audio').recording, null, 'nothing is recorded');
      return err;
    }

    it('refuses a ../ path and creates no folder outside its own (EPATH)', async function () {
      const err = await refused('../elsewhere/x.wav');
      assert.equal(codeOf(err), 'EPATH', String(err));
      assert.equal(existsSync(join(dir, 'elsewhere')), false);
    });

    it('refuses an absolute path outside its folder and creates nothing there (EPATH)', async function () {
      const err = await refused(join(dir, 'made', 'deeper', 'x.wav'));
      assert.equal(codeOf(err), 'EPATH', String(err));
      assert.equal(existsSync(join(dir, 'made')), false);
    });

    it('refuses a path through a symbolic link out of its folder (EPATH)', async function () {
      symlinkSync(dir, join(base, 'out'));
      const err = await refused('out/new/x.wav');
      assert.equal(codeOf(err), 'EPATH', String(err));
      assert.equal(existsSync(join(dir, 'new')), false);
    });

    it('refuses a link to a file outside, and never follows it to overwrite it (EPATH)', async function () {
      symlinkSync(join(dir, 'outside.wav'), join(base, 'x.wav'));
      const before = readFileSync(join(dir, 'outside.wav'));
      const err = await refused('x.wav');
      assert.equal(codeOf(err), 'EPATH', String(err));
      assert.deepEqual(readFileSync(join(dir, 'outside.wav')), before);
    });

    it('never overwrites an existing file that is not a WAV (EFILE), from the message or not', async function () {
      writeFileSync(join(base, 'notes.wav'), 'my notes, not audio');
      const err = await refused('notes.wav');
      assert.equal(codeOf(err), 'EFILE', String(err));
      assert.equal(String(err), `cannot record to ${join(base, 'notes.wav')}: a file that is not a WAV recording is there already; it is not overwritten`);
      assert.equal(readFileSync(join(base, 'notes.wav'), 'utf8'), 'my notes, not audio');
    });

    it('with "take the path from msg.path" off (the default): msg.path is refused (EPATH)', async function () {
      const err = await refused('x.wav', { pathFromMsg: undefined });
      assert.equal(codeOf(err), 'EPATH');
      assert.match(String(err), /does not take a file path from the message \(msg\.path\)/);
    });

    it('its folder may come from an environment variable (read at deploy), and a message path stays inside that folder', async function () {
      process.env.VOICE_TEST_RECORDINGS = base;
      try {
        await helper.load(AUDIO_NODES, flow({ folder: 'VOICE_TEST_RECORDINGS', folderType: 'env' }));
        const out = new Inbox('OUT');
        const id = await answeredCall('L');
        getNode('R').receive({ call: id, path: 'env.wav' });
        await waitFor('recording', () => emulatorOf('L').feature<EmulatorAudio>('audio').recording !== null);
        getNode('R').receive({ call: id, stop: true });
        assert.equal((await out.next('the recording', (m) => m.topic === 'recording')).payload.path, join(base, 'env.wav'));
        getNode('R').receive({ call: id, path: '../outside.wav' });
        assert.equal(codeOf(await nextError('R')), 'EPATH');
      } finally {
        delete process.env.VOICE_TEST_RECORDINGS;
      }
    });

    it('records to a path inside its folder (a new sub-folder made), and over an old WAV', async function () {
      wavFile(join(base, 'old.wav'));
      await helper.load(AUDIO_NODES, flow());
      const out = new Inbox('OUT');
      const id = await answeredCall('L');
      getNode('R').receive({ call: id, path: 'calls/today/x.wav', n: 1 });
      await waitFor('recording', () => emulatorOf('L').feature<EmulatorAudio>('audio').recording !== null);
      getNode('R').receive({ call: id, stop: true });
      const first = await out.next('the first recording', (m) => m.topic === 'recording' && m.n === 1);
      assert.equal(first.payload.path, join(base, 'calls', 'today', 'x.wav'));
      getNode('R').receive({ call: id, path: 'old.wav', n: 2 });
      await waitFor('recording', () => emulatorOf('L').feature<EmulatorAudio>('audio').recording !== null);
      getNode('R').receive({ call: id, stop: true });
      const second = await out.next('the second recording', (m) => m.topic === 'recording' && m.n === 2);
      assert.equal(second.payload.path, join(base, 'old.wav'));
      assert.deepEqual(errorsOf('R'), []);
    });
  });
});
