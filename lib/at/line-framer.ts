import { Transform, TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** What the framer emits, as a line of its own, when a modem asks for data (`AT+CMGS`, ...). */
export const DATA_PROMPT = '> ';

export const DEFAULT_MAX_LINE_LENGTH = 4096;

/** The largest binary block {@link LineFramer.expectBinary} accepts (a module's file is far smaller). */
export const MAX_BINARY_LENGTH = 256 * 1024 * 1024;

/** `CONNECT` or `CONNECT <n>`: the line after which a module sends raw bytes. */
const CONNECT_LINE = /^CONNECT(?:\s+(\d+))?$/;

/**
 * Binary mode: `armed` waits for the `CONNECT` line; `reading` collects the bytes that follow it.
 * `skipLf`: the `CONNECT` line ended with CR, so an LF right after it is still the line break.
 */
type BinaryState =
  | { readonly phase: 'armed'; readonly length: number | undefined }
  | { readonly phase: 'reading'; remaining: number; readonly parts: Buffer[]; skipLf: boolean };

export interface LineFramerOptions {
  /**
   * The longest line kept, in characters (default 4096, at least 2). A longer line is emitted cut at
   * this length and the rest of it, up to the next line break, is dropped, so that a device that
   * never ends its line cannot make the framer buffer without bound.
   */
  maxLineLength?: number;
}

/**
 * Frames the bytes of a modem's serial port into lines, the way node-serialport's parsers do: write
 * bytes in, read strings out.
 *
 * - Any run of CR and LF is one line break (CR, LF, CRLF, LFCR, and a CRLF split across two chunks),
 *   so empty lines never come out.
 * - Bytes are decoded as UTF-8 with a `StringDecoder`, so a character split across chunks survives.
 *   NUL bytes are dropped.
 * - The data prompt: a modem that wants data sends `\r\n> ` and then waits, without ending the line.
 *   When a chunk leaves exactly `> ` (or `>`) as the unfinished line, it is emitted at once as the
 *   line {@link DATA_PROMPT}. A whole line `>` is emitted as {@link DATA_PROMPT} too.
 * - At the end of the input, an unfinished last line is emitted.
 * - Binary transfers (a file download: `AT+QFDWL`, `AT+QFREAD`): after {@link expectBinary}, the next
 *   `CONNECT` or `CONNECT <n>` line is emitted as a line and the exact number of raw bytes that follow
 *   its line break (`<n>`, else the length given to `expectBinary`) are emitted as ONE `Buffer`, not
 *   decoded, whatever they contain (`OK\r\n`, CR, LF, NUL); then framing goes on as lines. The
 *   framer decides this itself, in the same pass over a chunk, because the bytes after `CONNECT`
 *   usually arrive in the same chunk as the line. A `CONNECT` without a length, when none was given,
 *   ends binary mode (the bytes are then read as text: the command fails rather than hangs).
 */
export class LineFramer extends Transform {
  readonly maxLineLength: number;
  private readonly decoder = new StringDecoder('utf8');
  /** The line being assembled (no line break yet). */
  private partial = '';
  /** The current line was already emitted cut at `maxLineLength`: drop the rest of it. */
  private discarding = false;
  /** A bare `>` prompt was emitted: a space arriving next belongs to it. */
  private promptSpacePending = false;
  /** Binary mode, null when the framer only frames lines. */
  private binary: BinaryState | null = null;

  constructor(options: LineFramerOptions = {}) {
    const maxLineLength = validateOptions(options);
    super({ readableObjectMode: true, writableObjectMode: false });
    this.maxLineLength = maxLineLength;
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.binary) this.consumeBinary(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    else this.consume(typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    // The input ended in the middle of a binary block: what arrived of it is dropped (it is incomplete).
    this.binary = null;
    this.consume(this.decoder.end());
    this.endLine(false);
    callback();
  }

  /**
   * Binary mode for the next `CONNECT` line: the `<n>` bytes after `CONNECT <n>`, or `length` bytes
   * after a bare `CONNECT`, come out as one Buffer. Replaces an earlier request that has not started.
   */
  expectBinary(length?: number): void {
    if (length !== undefined && (!Number.isSafeInteger(length) || length < 0 || length > MAX_BINARY_LENGTH)) {
      throw new TypeError(`the binary length must be a whole number from 0 to ${MAX_BINARY_LENGTH}, got ${String(length)}`);
    }
    if (this.binary?.phase === 'reading') throw new Error('a binary block is being read already');
    this.binary = { phase: 'armed', length };
  }

  /** Leaves binary mode (the command timed out or ended); bytes not yet read are framed as lines. */
  cancelBinary(): void {
    this.binary = null;
  }

  /** True while binary mode waits for `CONNECT` or reads its bytes. */
  get binaryPending(): boolean {
    return this.binary !== null;
  }

  /**
   * A chunk while binary mode is on: text up to each line break goes through the line framing (so a
   * `CONNECT` line is seen before the bytes after it are looked at), raw bytes go into the block.
   */
  private consumeBinary(buf: Buffer): void {
    let at = 0;
    while (at < buf.length && this.binary) {
      const b = this.binary;
      if (b.phase === 'reading') {
        if (b.skipLf) {
          b.skipLf = false;
          if (buf[at] === 0x0a) {
            at++;
            continue;
          }
        }
        const n = Math.min(b.remaining, buf.length - at);
        b.parts.push(Buffer.from(buf.subarray(at, at + n)));
        b.remaining -= n;
        at += n;
        if (b.remaining === 0) this.endBinary(b.parts);
        continue;
      }
      let end = at;
      while (end < buf.length && buf[end] !== 0x0d && buf[end] !== 0x0a) end++;
      const stop = Math.min(end + 1, buf.length);
      this.consume(this.decoder.write(buf.subarray(at, stop)));
      at = stop;
    }
    if (at < buf.length) this.consume(this.decoder.write(buf.subarray(at)));
  }

  private endBinary(parts: Buffer[]): void {
    this.binary = null;
    this.push(parts.length === 1 ? parts[0] : Buffer.concat(parts));
  }

  /** After a line was emitted: a `CONNECT` line starts the binary block the framer is armed for. */
  private startBinary(line: string, endedWithCr: boolean): void {
    const armed = this.binary;
    if (armed?.phase !== 'armed') return;
    const m = CONNECT_LINE.exec(line);
    if (!m) return;
    const length = m[1] !== undefined ? Number(m[1]) : armed.length;
    if (length === undefined || !Number.isSafeInteger(length) || length > MAX_BINARY_LENGTH) {
      this.binary = null;
      return;
    }
    this.binary = { phase: 'reading', remaining: length, parts: [], skipLf: endedWithCr };
    if (length === 0) this.endBinary([]);
  }

  private consume(decoded: string): void {
    let text = decoded.includes('\0') ? decoded.replace(/\0/g, '') : decoded;
    if (text === '') return;
    if (this.promptSpacePending && text.startsWith(' ')) text = text.slice(1);
    this.promptSpacePending = false;
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x0d || c === 0x0a) {
        this.append(text.slice(start, i));
        this.endLine(c === 0x0d);
        start = i + 1;
      }
    }
    this.append(text.slice(start));
    if (this.partial === '> ' || this.partial === '>') {
      this.promptSpacePending = this.partial === '>';
      this.partial = '';
      this.push(DATA_PROMPT);
    }
  }

  private append(piece: string): void {
    if (this.discarding || piece === '') return;
    const room = this.maxLineLength - this.partial.length;
    if (piece.length < room) {
      this.partial += piece;
      return;
    }
    // Cut at the limit, but never between the two halves of a surrogate pair.
    const high = piece.charCodeAt(room - 1);
    const cut = high >= 0xd800 && high <= 0xdbff ? room - 1 : room;
    const line = this.partial + piece.slice(0, cut);
    this.partial = '';
    this.discarding = true;
    this.push(line);
  }

  private endLine(endedWithCr: boolean): void {
    const line = this.partial;
    this.partial = '';
    this.discarding = false;
    if (line === '') return;
    this.push(line === '>' ? DATA_PROMPT : line);
    if (this.binary) this.startBinary(line, endedWithCr);
  }
}

function validateOptions(options: LineFramerOptions): number {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`LineFramer options must be an object, got ${options === null ? 'null' : typeof options}`);
  }
  const max = options.maxLineLength === undefined ? DEFAULT_MAX_LINE_LENGTH : options.maxLineLength;
  if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 2) {
    throw new TypeError(`"maxLineLength" must be a whole number of at least 2, got ${String(max)}`);
  }
  return max;
}
