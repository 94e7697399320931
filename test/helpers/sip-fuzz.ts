/**
 * Mutated SIP requests for the fuzz test (test/integration/sip-robustness.test.ts) and the fuzz
 * figure (bench/sip-fuzz.ts): a request that was right, changed one to three times at random
 * (a byte replaced, characters inserted, a line dropped or doubled, the text cut short, a huge
 * header added), from a seeded generator so that a failure can be run again.
 *
 * A request that could legitimately end or move the call (BYE, CANCEL, a re-INVITE) always also
 * gets a CSeq the line must refuse (out of 32 bits, not a number, another method): the mutations
 * never touch the CSeq line otherwise, so none of them can "heal" it, and a call that ends under
 * the barrage is a fault of the line, not of the test. The others (INFO, OPTIONS, NOTIFY, ACK,
 * MESSAGE) may come out valid: the line then does what they ask, which ends no call.
 */

export { seededRandom } from '../../lib/seeded-random';

/** CSeq values a line must refuse on any request (`%M` is the request's method, `%O` another one). */
export const HOSTILE_CSEQS = ['99999999999999999999999 %M', `${2 ** 32} %M`, '1e23 %M', '-1 %M', 'abc %M', '1.5 %M', '%M', '13 %O', '7 %M extra'];

/** Methods whose valid form could end or change the call: always given a hostile CSeq. */
export const GUARDED = new Set(['BYE', 'CANCEL', 'INVITE', 'UPDATE', 'REFER']);

const INSERTS = ['\r\n', '\0', ':', ';', '<', '>', '"', ',', ' ', '\t', '%', '\xff', 'sip:', ';tag=', '\r\n\r\n', 'Content-Length: 99999\r\n'];

export interface FuzzCase {
  /** The bytes to send. */
  text: string;
  /** What was done, for a failure message. */
  mutations: string[];
}

/**
 * One mutated copy of `request` (a whole request, CRLF line ends, with a `CSeq:` line).
 * Deterministic for a given `random`.
 */
export function mutate(request: string, random: () => number): FuzzCase {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const method = request.slice(0, request.indexOf(' '));
  const mutations: string[] = [];
  let text = request;
  const cseqLine = (): { start: number; end: number } => {
    const m = /^CSeq:[^\r\n]*/im.exec(text);
    return m ? { start: m.index, end: m.index + m[0].length } : { start: -1, end: -1 };
  };
  /** A random offset outside the CSeq line. */
  const position = (): number => {
    const { start, end } = cseqLine();
    for (;;) {
      const at = Math.floor(random() * (text.length + 1));
      if (start < 0 || at < start || at > end) return at;
    }
  };
  if (GUARDED.has(method) || random() < 0.3) {
    const cseq = pick(HOSTILE_CSEQS).replace('%M', method).replace('%O', method === 'INVITE' ? 'BYE' : 'INVITE');
    text = text.replace(/^CSeq:[^\r\n]*/im, `CSeq: ${cseq}`);
    mutations.push(`CSeq: ${cseq}`);
  }
  const count = 1 + Math.floor(random() * 3);
  for (let i = 0; i < count; i++) {
    const kind = pick(['byte', 'insert', 'drop-line', 'double-line', 'cut', 'big-header'] as const);
    const lines = text.split('\r\n');
    switch (kind) {
      case 'byte': {
        const at = position();
        if (at >= text.length) break;
        const byte = String.fromCharCode(Math.floor(random() * 256));
        text = text.slice(0, at) + byte + text.slice(at + 1);
        mutations.push(`byte ${at} = ${byte.charCodeAt(0)}`);
        break;
      }
      case 'insert': {
        const at = position();
        const what = pick(INSERTS);
        text = text.slice(0, at) + what + text.slice(at);
        mutations.push(`insert ${JSON.stringify(what)} at ${at}`);
        break;
      }
      case 'drop-line': {
        const at = 1 + Math.floor(random() * Math.max(1, lines.length - 3));
        mutations.push(`drop line ${JSON.stringify(lines[at])}`);
        lines.splice(at, 1);
        text = lines.join('\r\n');
        break;
      }
      case 'double-line': {
        const at = 1 + Math.floor(random() * Math.max(1, lines.length - 3));
        mutations.push(`double line ${JSON.stringify(lines[at])}`);
        lines.splice(at, 0, lines[at]);
        text = lines.join('\r\n');
        break;
      }
      case 'cut': {
        const at = Math.floor(random() * text.length);
        text = text.slice(0, at);
        mutations.push(`cut at ${at}`);
        break;
      }
      case 'big-header': {
        const size = pick([1_000, 10_000, 30_000]);
        text = text.replace('\r\n', `\r\nX-Fuzz: ${'A'.repeat(size)}\r\n`);
        mutations.push(`header of ${size} bytes`);
        break;
      }
    }
  }
  // A datagram holds 65,507 bytes (two big headers could pass that: the kernel would refuse to send).
  return { text: text.slice(0, 60_000), mutations };
}

/** An RTP-looking packet that is not one a line can take (too short, wrong version, lengths past the end) or random bytes. */
export function malformedRtp(random: () => number): Buffer {
  const size = Math.floor(random() * 200);
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = Math.floor(random() * 256);
  const kind = Math.floor(random() * 4);
  if (kind === 0) return bytes.subarray(0, Math.min(size, 11)); // shorter than a header
  if (kind === 1 && size > 0) bytes[0] = (bytes[0] & 0x3f) | 0x40; // version 1
  if (kind === 2) return Buffer.concat([Buffer.from([0x8f]), bytes.subarray(1, Math.min(size, 71))]); // 15 CSRCs, never room for them
  if (kind === 3 && size >= 12) {
    bytes[0] = 0xa0 | (bytes[0] & 0x0f); // version 2, padding...
    bytes[size - 1] = 255; // ...of 255 bytes in fewer
  }
  return bytes;
}
