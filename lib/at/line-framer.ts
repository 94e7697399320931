import { Transform, TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** What the framer emits, as a line of its own, when a modem asks for data (`AT+CMGS`, ...). */
export const DATA_PROMPT = '> ';

export const DEFAULT_MAX_LINE_LENGTH = 4096;

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

  constructor(options: LineFramerOptions = {}) {
    const maxLineLength = validateOptions(options);
    super({ readableObjectMode: true, writableObjectMode: false });
    this.maxLineLength = maxLineLength;
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.consume(typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.consume(this.decoder.end());
    this.endLine();
    callback();
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
        this.endLine();
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

  private endLine(): void {
    const line = this.partial;
    this.partial = '';
    this.discarding = false;
    if (line !== '') this.push(line === '>' ? DATA_PROMPT : line);
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
