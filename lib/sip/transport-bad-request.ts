/**
 * The answer to a request sip.js cannot parse.
 *
 * sip.js parses some headers as it reads a message (Via, From, To, Call-ID, CSeq, Contact,
 * Record-Route, Content-Type, Content-Length, Max-Forwards, Refer-To: core/messages/parser.js) and
 * drops the whole message, without a word, when one of them does not fit its grammar
 * (api/user-agent.js onTransportMessage: "Failed to parse incoming message. Dropping."). For a
 * request that silence is wrong: the sender re-sends it for 32 s and then gives up on the dialog
 * (an in-dialog REFER with `Refer-To: not a uri` would make the other side end a working call).
 * RFC 3261 §8.2 / §21.4.1 wants 400 Bad Request. So the transport tries sip.js's own parser first,
 * and when it fails for a request whose Via, From, To, Call-ID and CSeq are fine, answers 400 itself.
 * Written here because sip.js offers no hook between its parser and its drop.
 */
import { randomBytes } from 'node:crypto';
import { Core } from 'sip.js';

/** Where sip.js's parser writes its complaints: nowhere (the transport logs the outcome once). */
const QUIET = { error: () => undefined, warn: () => undefined, log: () => undefined, debug: () => undefined } as unknown as Parameters<typeof Core.Parser.parseMessage>[1];

/** The headers a response copies from its request (RFC 3261 §8.2.6.2), by their full and compact names. */
const COPIED = /^(via|v|from|f|to|t|call-id|i|cseq)[ \t]*:/i;

/**
 * For a request sip.js cannot parse but can still be answered: the 400 Bad Request to send back
 * (Via, From, To, Call-ID, CSeq copied, a To tag added when there is none). `undefined` for
 * everything else: a request sip.js parses, a response, an ACK (never answered), and a request whose
 * own Via, From, To, Call-ID or CSeq cannot be read (no response could reach its sender's
 * transaction: dropped, as before). Never throws.
 */
export function badRequestFor(text: string): string | undefined {
  try {
    if (text.startsWith('SIP/') || /^ACK /i.test(text)) return undefined;
    if (Core.Parser.parseMessage(text, QUIET)) return undefined;
    const head = text.split(/\r\n\r\n/, 1)[0].split('\r\n');
    const copied = head.slice(1).filter((line) => COPIED.test(line));
    // Would the response's own headers parse? Only then can the sender match it to its request.
    const minimal = `${head[0]}\r\n${copied.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`;
    const readable = Core.Parser.parseMessage(minimal, QUIET);
    if (!readable || !readable.hasHeader('via') || !readable.hasHeader('from') || !readable.hasHeader('to') || !readable.hasHeader('call-id') || !readable.hasHeader('cseq')) {
      return undefined;
    }
    const lines = ['SIP/2.0 400 Bad Request'];
    for (const line of copied) {
      // The To of a response that ends a transaction carries a tag (RFC 3261 §8.2.6.2).
      if (/^(to|t)[ \t]*:/i.test(line) && !readable.toTag) lines.push(`${line};tag=${randomBytes(5).toString('hex')}`);
      else lines.push(line);
    }
    lines.push('Content-Length: 0');
    return `${lines.join('\r\n')}\r\n\r\n`;
  } catch {
    return undefined;
  }
}
