/**
 * The answer to a request sip.js cannot parse.
 *
 * sip.js parses some headers as it reads a message (Via, From, To, Call-ID, CSeq, Contact,
 * Record-Route, Content-Type, Content-Length, Max-Forwards, Refer-To: core/messages/parser.js) and
 * drops the whole message, without a word, when one of them does not fit its grammar
 * (api/user-agent.js onTransportMessage: "Failed to parse incoming message. Dropping."). For a
 * request that silence is wrong: the sender re-sends it for 32 s and then gives up on the dialog
 * (an in-dialog REFER with `Refer-To: not a uri` would make the other side end a working call).
 * RFC 3261 §8.2 / §21.4.1 wants 400 Bad Request, with Via, From, To, Call-ID and CSeq copied.
 * Written here because sip.js offers no hook between its parser and its drop.
 *
 * How a drop is noticed without parsing every message twice: sip.js parses what the transport hands
 * it synchronously, inside `onMessage`, and says so through its logger, which the user agent
 * (lib/sip/sip-user-agent.ts, `logConnector`) watches for {@link isSipJsParseDrop}: it then calls
 * `NodeTransport.unparsable()`, which marks the message being delivered; once `onMessage` returns,
 * the transport asks {@link badRequestFor} for the 400 (transport-base.ts `deliver`). So the
 * second parse happens only for the messages sip.js already refused, never on the hot path (it cost
 * 9 % of the process at 200 calls: docs/benchmarks.md "SIP load"), and "cannot parse" means exactly
 * what sip.js's parser decided, not a guess of ours. A cheap pre-check of our own was the other
 * way; it would have to know which values sip.js's grammar refuses, i.e. be a second grammar.
 * If a sip.js version words its log line differently, requests it cannot parse are dropped again as
 * sip.js does (test/integration/sip-robustness.test.ts checks the 400s).
 */
import { randomBytes } from 'node:crypto';
import { Core } from 'sip.js';

/** Where sip.js's parser writes its complaints: nowhere (the transport logs the outcome once). */
const QUIET = { error: () => undefined, warn: () => undefined, log: () => undefined, debug: () => undefined } as unknown as Parameters<typeof Core.Parser.parseMessage>[1];

/** The headers a response copies from its request (RFC 3261 §8.2.6.2), by their full and compact names. */
const COPIED = /^(via|v|from|f|to|t|call-id|i|cseq)[ \t]*:/i;

/** What sip.js's user agent logs (category `sip.UserAgent`, level warn) when it drops a message it cannot parse. */
const SIPJS_PARSE_DROP = 'Failed to parse incoming message. Dropping.';

/** True for sip.js's log line that says it dropped the message being delivered because it could not parse it. */
export function isSipJsParseDrop(category: string, content: unknown): boolean {
  return category === 'sip.UserAgent' && content === SIPJS_PARSE_DROP;
}

/**
 * For a message sip.js could not parse (the caller knows: {@link isSipJsParseDrop}) that is a
 * request and can still be answered: the 400 Bad Request to send back (Via, From, To, Call-ID, CSeq
 * copied, a To tag added when there is none). `undefined` for everything else: a response, an ACK
 * (never answered), and a request whose own Via, From, To, Call-ID or CSeq cannot be read (no
 * response could reach its sender's transaction: dropped, as sip.js does). It does not parse
 * `text` as a whole again: a caller MUST NOT ask for a message sip.js parsed. Never throws.
 */
export function badRequestFor(text: string): string | undefined {
  try {
    if (text.startsWith('SIP/') || /^ACK /i.test(text)) return undefined;
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
