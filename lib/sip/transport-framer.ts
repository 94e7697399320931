/**
 * SIP over a byte stream (TCP, TLS): bytes in, whole messages out. RFC 3261 §18.3: a message is a header
 * block ending in an empty line, then exactly Content-Length bytes of body (counted in bytes, not
 * characters). RFC 5626 §3.5.1 keep-alives sit between messages: a double CRLF "ping" (answered with a
 * single CRLF "pong") and the pong itself.
 *
 * A chunk may hold part of a message, several messages, or both; a multi-byte character may be split
 * between chunks (the framer keeps bytes until a message is whole, and only then decodes it).
 * A stream that cannot be framed (a header block that never ends, a Content-Length that is not a
 * number or is too large) cannot be resynchronised: the framer fails with a {@link SipFramingError}
 * and the transport closes the connection.
 */
import { Transform, TransformCallback } from 'node:stream';

export type FramedItem = { kind: 'message'; text: string } | { kind: 'ping' } | { kind: 'pong' };

export class SipFramingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SipFramingError';
  }
}

export interface SipStreamFramerOptions {
  /** Largest header block accepted, in bytes. Default 64 KiB. */
  maxHeaderBytes?: number;
  /** Largest body accepted, in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
}

const CR = 13;
const LF = 10;
const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /^(?:content-length|l)[ \t]*:[ \t]*(.*?)[ \t]*$/gim;

/** Object-mode readable side: one {@link FramedItem} per message or keep-alive. */
export class SipStreamFramer extends Transform {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly maxHeaderBytes: number;
  private readonly maxBodyBytes: number;

  constructor(options: SipStreamFramerOptions = {}) {
    super({ readableObjectMode: true });
    this.maxHeaderBytes = options.maxHeaderBytes ?? 64 * 1024;
    this.maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    try {
      this.drain();
      callback();
    } catch (err) {
      callback(err instanceof SipFramingError ? err : new SipFramingError(String(err)));
    }
  }

  override _flush(callback: TransformCallback): void {
    // Bytes left at the end of the stream are an incomplete message: nothing to deliver.
    this.buffer = Buffer.alloc(0);
    callback();
  }

  private drain(): void {
    for (;;) {
      if (!this.skipKeepAlives()) return;
      const headerEnd = this.buffer.indexOf(HEADER_END);
      if (headerEnd < 0) {
        if (this.buffer.length > this.maxHeaderBytes) throw new SipFramingError(`no end of headers within ${this.maxHeaderBytes} bytes`);
        return;
      }
      if (headerEnd > this.maxHeaderBytes) throw new SipFramingError(`header block larger than ${this.maxHeaderBytes} bytes`);
      const head = this.buffer.subarray(0, headerEnd).toString('latin1');
      const bodyLength = this.contentLength(head);
      const total = headerEnd + HEADER_END.length + bodyLength;
      if (this.buffer.length < total) return;
      const text = this.buffer.subarray(0, total).toString('utf8');
      this.buffer = this.buffer.subarray(total);
      this.push({ kind: 'message', text } satisfies FramedItem);
    }
  }

  /**
   * Consumes CRLFs before a message: CRLFCRLF is a ping, a lone CRLF a pong (reported at once: a ping
   * split exactly between its two CRLFs reads as two pongs, which only costs its answer). Returns true
   * when message bytes follow.
   */
  private skipKeepAlives(): boolean {
    const b = this.buffer;
    const crlfAt = (at: number): boolean => at + 1 < b.length && b[at] === CR && b[at + 1] === LF;
    let i = 0;
    while (crlfAt(i)) {
      if (crlfAt(i + 2)) {
        this.push({ kind: 'ping' } satisfies FramedItem);
        i += 4;
      } else {
        this.push({ kind: 'pong' } satisfies FramedItem);
        i += 2;
      }
    }
    if (i > 0) this.buffer = b.subarray(i);
    // A lone CR at the end may be the start of a keep-alive: wait for the next byte.
    return this.buffer.length > 0 && !(this.buffer.length === 1 && this.buffer[0] === CR);
  }

  private contentLength(head: string): number {
    let found: number | undefined;
    for (const match of head.matchAll(CONTENT_LENGTH)) {
      if (!/^\d{1,10}$/.test(match[1])) throw new SipFramingError(`Content-Length "${match[1].slice(0, 20)}" is not a number`);
      const n = Number(match[1]);
      if (found !== undefined && found !== n) throw new SipFramingError('two different Content-Length headers');
      found = n;
    }
    // RFC 3261 §18.3 requires Content-Length on streams; a message without one has no body.
    const length = found ?? 0;
    if (length > this.maxBodyBytes) throw new SipFramingError(`Content-Length ${length} is larger than ${this.maxBodyBytes}`);
    return length;
  }
}
