import assert from 'node:assert/strict';
import { once } from 'node:events';
import fc from 'fast-check';
import { DATA_PROMPT, DEFAULT_MAX_LINE_LENGTH, LineFramer, LineFramerOptions } from '../../lib/at/line-framer';

/** Writes the chunks one by one, ends the stream and returns every line the framer emitted. */
async function frame(chunks: readonly (string | Buffer)[], options?: LineFramerOptions): Promise<string[]> {
  const framer = new LineFramer(options);
  const lines: string[] = [];
  framer.on('data', (line: string) => lines.push(line));
  for (const chunk of chunks) framer.write(chunk);
  framer.end();
  await once(framer, 'end');
  return lines;
}

/** Cuts `bytes` at the given positions (any order, duplicates allowed). */
function cut(bytes: Buffer, positions: readonly number[]): Buffer[] {
  const points = [...new Set(positions.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const p of [...points, bytes.length]) {
    pieces.push(bytes.subarray(start, p));
    start = p;
  }
  return pieces;
}

/** A modem session as it comes off the wire: every line ending, a split-prone UTF-8 name, a prompt. */
const SESSION = Buffer.concat([
  Buffer.from('\r\nRDY\r\n\r\n+CPIN: READY\r\nAT+CLCC\r\r\n'),
  Buffer.from('+CLCC: 1,1,4,0,0,"+4930123",145\r\n+CLIP: "+4930123",145,,,"Müller 😀",0\r\n\r\nOK\r\n'),
  Buffer.from('\nRING\n\r^DSCI: 1,1,4,0,+4930123,145\n\r\x00\r\nNO CARRIER\r\n'),
  Buffer.from([0x0d, 0x0a, 0x3e, 0x20]),
]);
const SESSION_LINES = [
  'RDY',
  '+CPIN: READY',
  'AT+CLCC',
  '+CLCC: 1,1,4,0,0,"+4930123",145',
  '+CLIP: "+4930123",145,,,"Müller 😀",0',
  'OK',
  'RING',
  '^DSCI: 1,1,4,0,+4930123,145',
  'NO CARRIER',
  DATA_PROMPT,
];

describe('LineFramer', () => {
  describe('line breaks', () => {
    for (const [name, text] of [
      ['CR', 'OK\rRING\r'],
      ['LF', 'OK\nRING\n'],
      ['CRLF', 'OK\r\nRING\r\n'],
      ['LFCR', 'OK\n\rRING\n\r'],
      ['CRLF before each line (V1 format)', '\r\nOK\r\n\r\nRING\r\n'],
      ['a mix, with empty lines', '\r\n\n\rOK\r\r\n\n\nRING\r'],
    ] as const) {
      it(`splits on ${name} and drops empty lines`, async () => {
        assert.deepEqual(await frame([text]), ['OK', 'RING']);
      });
    }

    it('ends a line at a CR at once, and takes the LF at the start of the next chunk as the same break', () => {
      const framer = new LineFramer();
      const lines: string[] = [];
      framer.on('data', (line: string) => lines.push(line));
      framer.write('OK\r');
      assert.deepEqual(lines, ['OK']);
      framer.write('\nRING\r\n');
      assert.deepEqual(lines, ['OK', 'RING']);
    });

    it('treats a CRLF split across chunks as one break', async () => {
      assert.deepEqual(await frame(['+CSQ: 20,99\r', '\n', '\r', '\nOK\r', '\n']), ['+CSQ: 20,99', 'OK']);
    });

    it('emits strings (readable object mode)', async () => {
      const [line] = await frame([Buffer.from('OK\r\n')]);
      assert.equal(typeof line, 'string');
    });
  });

  describe('decoding', () => {
    it('keeps a multi-byte UTF-8 character split across chunks', async () => {
      const bytes = Buffer.from('+CNAM: "Zoë 😀"\r\n');
      const chunks = [...bytes].map((b) => Buffer.from([b]));
      assert.deepEqual(await frame(chunks), ['+CNAM: "Zoë 😀"']);
    });

    it('drops NUL bytes', async () => {
      assert.deepEqual(await frame([Buffer.from([0x00, 0x4f, 0x00, 0x4b, 0x00, 0x0d, 0x0a, 0x00])]), ['OK']);
    });

    it('decodes invalid bytes as U+FFFD without swallowing the line break', async () => {
      assert.deepEqual(await frame([Buffer.from([0xff, 0xe2, 0x0d, 0x0a, 0x4f, 0x4b, 0x0d])]), ['\ufffd\ufffd', 'OK']);
    });
  });

  describe('the data prompt', () => {
    it('emits "> " at once when the modem waits after it without a line end', () => {
      const framer = new LineFramer();
      const lines: string[] = [];
      framer.on('data', (line: string) => lines.push(line));
      framer.write('\r\n> ');
      assert.deepEqual(lines, [DATA_PROMPT]);
      framer.write('\r\n+CMGS: 12\r\n\r\nOK\r\n');
      assert.deepEqual(lines, [DATA_PROMPT, '+CMGS: 12', 'OK']);
    });

    it('emits a bare ">" as "> ", and a space that follows it in the next chunk belongs to it', async () => {
      assert.deepEqual(await frame(['\r\n>', ' ', '\r\n+CMGS: 12\r\n']), [DATA_PROMPT, '+CMGS: 12']);
    });

    it('emits a whole ">" line as "> "', async () => {
      assert.deepEqual(await frame(['\r\n>\r\n']), [DATA_PROMPT]);
    });

    it('does not take a line that merely starts with ">" for a prompt', async () => {
      assert.deepEqual(await frame(['\r\n> hello\r\n>>\r\n']), ['> hello', '>>']);
    });
  });

  it('emits an unfinished last line when the input ends', async () => {
    assert.deepEqual(await frame(['OK\r\nRI', 'NG']), ['OK', 'RING']);
  });

  describe('maxLineLength', () => {
    it('cuts a longer line at that length and drops the rest of it', async () => {
      assert.deepEqual(await frame(['ABCDEFGHIJKL\r\nOK\r\n'], { maxLineLength: 8 }), ['ABCDEFGH', 'OK']);
      assert.deepEqual(await frame([...'ABCDEFGHIJKL\r\nOK\r\n'], { maxLineLength: 8 }), ['ABCDEFGH', 'OK']);
    });

    it('keeps a line of exactly that length whole', async () => {
      assert.deepEqual(await frame(['ABCDEFGH\r\nOK\r\n'], { maxLineLength: 8 }), ['ABCDEFGH', 'OK']);
    });

    it('never buffers an endless line: the cut comes out before the line ends', () => {
      const framer = new LineFramer({ maxLineLength: 16 });
      const lines: string[] = [];
      framer.on('data', (line: string) => lines.push(line));
      for (let i = 0; i < 1000; i++) framer.write('x'.repeat(1000));
      assert.deepEqual(lines, ['x'.repeat(16)]);
      assert.ok(framer.writableLength === 0 && framer.readableLength === 0);
      framer.write('\r\nOK\r\n');
      assert.deepEqual(lines, ['x'.repeat(16), 'OK']);
    });

    it('does not cut between the halves of a surrogate pair', async () => {
      assert.deepEqual(await frame(['abc😀def\r\n'], { maxLineLength: 4 }), ['abc']);
    });

    it(`defaults to ${DEFAULT_MAX_LINE_LENGTH}`, async () => {
      const [line] = await frame(['y'.repeat(5000) + '\r\n']);
      assert.equal(line.length, DEFAULT_MAX_LINE_LENGTH);
    });

    for (const bad of [0, 1, 2.5, -4, Infinity, NaN, '64', null]) {
      it(`refuses ${String(bad)} with a TypeError that names the option`, () => {
        assert.throws(() => new LineFramer({ maxLineLength: bad as number }), {
          name: 'TypeError',
          message: /maxLineLength/,
        });
      });
    }
  });

  it('frames a recorded session into its lines', async () => {
    assert.deepEqual(await frame([SESSION]), SESSION_LINES);
  });

  it('property: any chunking of a recorded session yields the same lines', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 40 }), async (positions) => {
        assert.deepEqual(await frame(cut(SESSION, positions)), SESSION_LINES);
      }),
      { numRuns: 300 },
    );
  });

  it('property: any bytes (no ">"), in any chunks, never throw and give the same lines as in one chunk', async () => {
    const noPrompt = fc.uint8Array({ maxLength: 200 }).map((raw) => Buffer.from(raw.filter((b) => b !== 0x3e)));
    await fc.assert(
      fc.asyncProperty(noPrompt, fc.array(fc.nat(), { maxLength: 20 }), async (bytes, positions) => {
        const lines = await frame(cut(bytes, positions), { maxLineLength: 32 });
        assert.deepEqual(lines, await frame([bytes], { maxLineLength: 32 }));
        for (const line of lines) assert.ok(line.length > 0 && line.length <= 32 && !/[\r\n\0]/.test(line));
      }),
      { numRuns: 300 },
    );
  });
});
