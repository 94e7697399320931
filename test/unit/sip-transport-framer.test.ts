import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FramedItem, SipFramingError, SipStreamFramer } from '../../lib/sip/transport-framer';

function message(body = '', extra = ''): string {
  const length = Buffer.byteLength(body, 'utf8');
  return `MESSAGE sip:bob@example.test SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK1\r\n${extra}Content-Length: ${length}\r\n\r\n${body}`;
}

/** Feeds the chunks and collects what comes out (and the error, if the framer failed). */
async function frame(chunks: Array<string | Buffer>, options = {}): Promise<{ items: FramedItem[]; error?: Error }> {
  const framer = new SipStreamFramer(options);
  const items: FramedItem[] = [];
  framer.on('data', (item: FramedItem) => items.push(item));
  const done = new Promise<Error | undefined>((resolve) => {
    framer.on('error', resolve);
    framer.on('end', () => resolve(undefined));
  });
  for (const c of chunks) framer.write(typeof c === 'string' ? Buffer.from(c, 'utf8') : c);
  framer.end();
  return { items, error: await done };
}

const texts = (items: FramedItem[]): string[] => items.filter((i) => i.kind === 'message').map((i) => (i as { text: string }).text);

describe('SipStreamFramer (SIP over TCP/TLS: Content-Length framing)', () => {
  it('delivers a message split over several chunks once it is whole', async () => {
    const m = message('hello body');
    const { items, error } = await frame([m.slice(0, 10), m.slice(10, 60), m.slice(60)]);
    assert.equal(error, undefined);
    assert.deepEqual(texts(items), [m]);
  });

  it('delivers several messages that arrive in one chunk, in order', async () => {
    const a = message('first');
    const b = message('');
    const c = message('third one');
    const { items } = await frame([a + b + c]);
    assert.deepEqual(texts(items), [a, b, c]);
  });

  it('delivers a message and a half, then the rest', async () => {
    const a = message('one');
    const b = message('two');
    const cut = a.length + 20;
    const { items } = await frame([(a + b).slice(0, cut), (a + b).slice(cut)]);
    assert.deepEqual(texts(items), [a, b]);
  });

  it('counts the body in bytes, and keeps a character split between chunks whole', async () => {
    const body = 'Grüße, 東京 ☎';
    const m = message(body);
    const bytes = Buffer.from(m, 'utf8');
    const splitInsideChar = bytes.indexOf(Buffer.from('東', 'utf8')) + 1;
    const { items } = await frame([bytes.subarray(0, splitInsideChar), bytes.subarray(splitInsideChar)]);
    assert.deepEqual(texts(items), [m]);
  });

  it('reads the compact form "l:" of Content-Length, in any case', async () => {
    const m = 'INFO sip:a@b SIP/2.0\r\nv: SIP/2.0/TCP h;branch=z9hG4bKx\r\nL: 3\r\n\r\nabc';
    const { items } = await frame([m + message()]);
    assert.deepEqual(texts(items), [m, message()]);
  });

  it('takes a message without Content-Length as having no body', async () => {
    const m = 'OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKx\r\n\r\n';
    const { items } = await frame([m + message('x')]);
    assert.deepEqual(texts(items), [m, message('x')]);
  });

  it('reports RFC 5626 keep-alives: CRLFCRLF is a ping, CRLF a pong, and neither is a message', async () => {
    const m = message('x');
    const { items } = await frame(['\r\n\r\n', '\r\n', m, '\r\n\r\n']);
    assert.deepEqual(
      items.map((i) => i.kind),
      ['ping', 'pong', 'message', 'ping'],
    );
  });

  it('delivers the same messages whatever the chunking (property)', async () => {
    const bodies = fc.array(fc.string({ unit: 'binary', maxLength: 40 }), { minLength: 1, maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(bodies, fc.array(fc.nat(), { maxLength: 8 }), async (bs, cuts) => {
        const msgs = bs.map((b) => message(b));
        const all = Buffer.from(msgs.join(''), 'utf8');
        const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((x, y) => x - y);
        const chunks: Buffer[] = [];
        let last = 0;
        for (const p of points) {
          chunks.push(all.subarray(last, p));
          last = p;
        }
        chunks.push(all.subarray(last));
        const { items, error } = await frame(chunks);
        assert.equal(error, undefined);
        assert.deepEqual(texts(items), msgs);
      }),
      { numRuns: 150 },
    );
  });

  describe('bytes that cannot be framed fail the stream (the transport drops the connection), never throw', () => {
    it('a Content-Length that is not a number', async () => {
      const { items, error } = await frame(['INVITE sip:a@b SIP/2.0\r\nContent-Length: twelve\r\n\r\n']);
      assert.ok(error instanceof SipFramingError);
      assert.match(error.message, /not a number/);
      assert.deepEqual(items, []);
    });

    it('two different Content-Lengths', async () => {
      const { error } = await frame(['INVITE sip:a@b SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nab']);
      assert.match(String(error?.message), /two different/);
    });

    it('a body larger than the limit', async () => {
      const { error } = await frame([message('x'.repeat(100))], { maxBodyBytes: 50 });
      assert.match(String(error?.message), /larger than 50/);
    });

    it('a header block that never ends', async () => {
      const { error } = await frame([Buffer.alloc(3000, 0x41)], { maxHeaderBytes: 2048 });
      assert.match(String(error?.message), /no end of headers/);
    });

    it('random bytes (property): the framer either waits, delivers text, or fails with a SipFramingError', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 6 }), async (chunks) => {
          const { error } = await frame(
            chunks.map((c) => Buffer.from(c)),
            { maxHeaderBytes: 256, maxBodyBytes: 256 },
          );
          if (error) assert.ok(error instanceof SipFramingError, String(error));
        }),
        { numRuns: 200 },
      );
    });
  });
});
