/**
 * lib/line/file-paths.ts `prepareForWriting`: the real path a recording is written at, through every
 * symbolic link of what exists, confined to its folder when the path came from a message; an existing
 * file replaced only when it is a recording of the same format. (The node-level promises are in
 * test/nodes/voice-files.test.ts; these are the function's own cases, links of each kind among them.)
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileAccessError, PathNotAllowedError } from '../../lib/errors';
import { prepareForWriting } from '../../lib/line/file-paths';
import { wavHeader } from '../../lib/media/wav-header';

describe('file-paths: prepareForWriting', () => {
  let top: string; // real path of a temporary folder
  let folder: string; // top/rec: the recordings' folder
  let outside: string; // top/out: somewhere else
  beforeEach(() => {
    top = realpathSync(mkdtempSync(join(tmpdir(), 'file-paths-')));
    folder = join(top, 'rec');
    outside = join(top, 'out');
    mkdirSync(folder);
    mkdirSync(outside);
    writeFileSync(join(folder, 'old.wav'), Buffer.concat([wavHeader(8000, 1, 4), Buffer.alloc(4)]));
    writeFileSync(join(outside, 'old.wav'), Buffer.concat([wavHeader(8000, 1, 4), Buffer.alloc(4)]));
    writeFileSync(join(folder, 'notes.wav'), 'not audio');
  });
  afterEach(() => rmSync(top, { recursive: true, force: true }));

  for (const confine of [false, true]) {
    const place = (): { folder: string; confine: boolean } => ({ folder, confine });
    describe(confine ? 'confined (a path from a message)' : 'not confined (a path from the settings)', () => {
      it('a new file: its path in the folder, relative or absolute; in folders not made yet too', async () => {
        assert.equal(await prepareForWriting('new.wav', place(), 'wav'), join(folder, 'new.wav'));
        assert.equal(await prepareForWriting(join(folder, 'new.wav'), place(), 'wav'), join(folder, 'new.wav'));
        assert.equal(await prepareForWriting('a/b/new.wav', place(), 'wav'), join(folder, 'a', 'b', 'new.wav'));
      });

      it('through a linked folder inside: the real path', async () => {
        mkdirSync(join(folder, 'real'));
        symlinkSync(join(folder, 'real'), join(folder, 'alias'));
        assert.equal(await prepareForWriting('alias/new.wav', place(), 'wav'), join(folder, 'real', 'new.wav'));
        assert.equal(await prepareForWriting('alias/sub/new.wav', place(), 'wav'), join(folder, 'real', 'sub', 'new.wav'));
      });

      it('an existing WAV, and a link to one inside: the real file', async () => {
        symlinkSync(join(folder, 'old.wav'), join(folder, 'link.wav'));
        assert.equal(await prepareForWriting('old.wav', place(), 'wav'), join(folder, 'old.wav'));
        assert.equal(await prepareForWriting('link.wav', place(), 'wav'), join(folder, 'old.wav'));
      });

      it('refuses to replace what is not a recording of the format (EFILE), a dangling link and a folder included', async () => {
        symlinkSync(join(folder, 'gone.wav'), join(folder, 'dangling.wav'));
        mkdirSync(join(folder, 'dir.wav'));
        for (const [name, format, words] of [
          ['notes.wav', 'wav', /not a WAV recording/],
          ['old.wav', 'amr', /not an AMR recording/],
          ['dangling.wav', 'wav', /it does not exist/],
          ['dir.wav', 'wav', /not a file/],
        ] as const) {
          await assert.rejects(prepareForWriting(name, place(), format), (err: Error) => err instanceof FileAccessError && words.test(err.message), name);
        }
      });

      it(confine ? 'refuses a link or a path out of the folder (EPATH)' : 'follows a link or a path out of the folder', async () => {
        symlinkSync(join(outside, 'old.wav'), join(folder, 'out-file.wav'));
        symlinkSync(outside, join(folder, 'out-dir'));
        for (const [name, real] of [
          ['out-file.wav', join(outside, 'old.wav')],
          ['out-dir/new.wav', join(outside, 'new.wav')],
          ['out-dir/x/new.wav', join(outside, 'x', 'new.wav')],
          ['../out/new.wav', join(outside, 'new.wav')],
        ]) {
          if (confine) await assert.rejects(prepareForWriting(name, place(), 'wav'), PathNotAllowedError, name);
          else assert.equal(await prepareForWriting(name, place(), 'wav'), real, name);
        }
      });
    });
  }

  it('a folder reached through a link: paths inside it are inside (confined)', async () => {
    symlinkSync(folder, join(top, 'rec-link'));
    assert.equal(await prepareForWriting('new.wav', { folder: join(top, 'rec-link'), confine: true }, 'wav'), join(folder, 'new.wav'));
  });
});
