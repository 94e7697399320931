/**
 * lib/sip/sip-merged-request.ts: sip.js's `receiveRequest` with the merged-request check by Call-ID must
 * answer every request exactly as sip.js's own (the scan of every server transaction): the same reply
 * (405, 416, 404, 400, 482 or none) and the same routing (in or out of dialog), whatever servers the
 * core holds and however they come and go.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { Core, URI } from 'sip.js';
import { AllowedMethods } from 'sip.js/lib/core/user-agent-core/allowed-methods.js';
import {
  compileReceiveRequest,
  installMergedRequestIndex,
  mergedRequest,
  ReceiveRequest,
  sipJsReceiveRequest,
  transformReceiveRequest,
  userAgentCoreSourcePath,
  UserAgentServers,
} from '../../lib/sip/sip-merged-request';

const source = readFileSync(userAgentCoreSourcePath(), 'utf8');
const indexed = compileReceiveRequest(source, userAgentCoreSourcePath());
const QUIET = { error: () => undefined, warn: () => undefined, log: () => undefined, debug: () => undefined } as unknown as Parameters<typeof Core.Parser.parseMessage>[1];

interface Keys {
  fromTag?: string;
  callId: string;
  cseq: number;
}

/** A stand-in for sip.js's UserAgentCore: what receiveRequest reads and calls, and a log of what it did. */
function stubCore(): { core: Record<string, unknown> & { userAgentServers: Map<string, unknown> }; did: string[] } {
  const did: string[] = [];
  const core = {
    configuration: { aor: new URI('sip', 'bob', 'example.com'), contact: { uri: new URI('sip', 'bob', '127.0.0.1', 5060) } },
    logger: { warn: () => did.push('warn') },
    userAgentServers: new Map<string, unknown>(),
    replyStateless: (_message: unknown, options: { statusCode: number; reasonPhrase?: string; extraHeaders?: string[] }) => {
      did.push(`reply ${options.statusCode}${options.reasonPhrase ? ` ${options.reasonPhrase}` : ''}${options.extraHeaders ? ` ${options.extraHeaders.join('|')}` : ''}`);
    },
    receiveInsideDialogRequest: () => did.push('inside'),
    receiveOutsideDialogRequest: () => did.push('outside'),
  };
  return { core, did };
}

interface RequestSpec {
  method: string;
  ruri: string;
  branch: string;
  callId: string;
  fromTag?: string;
  toTag?: string;
  cseq: number;
  contact: boolean;
}

function requestText(r: RequestSpec): string {
  return [
    `${r.method} ${r.ruri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=${r.branch}`,
    `From: <sip:alice@127.0.0.1>${r.fromTag === undefined ? '' : `;tag=${r.fromTag}`}`,
    `To: <sip:bob@example.com>${r.toTag === undefined ? '' : `;tag=${r.toTag}`}`,
    `Call-ID: ${r.callId}`,
    `CSeq: ${r.cseq} ${r.method}`,
    ...(r.contact ? ['Contact: <sip:alice@127.0.0.1:5070>'] : []),
    'Max-Forwards: 70',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

function parse(r: RequestSpec): unknown {
  const message = Core.Parser.parseMessage(requestText(r), QUIET);
  assert.ok(message, `parses: ${requestText(r)}`);
  return message;
}

const server = (keys: Keys): { transaction: { request: Keys } } => ({ transaction: { request: keys } });

/** What `method` does with `message` on a core holding `servers` (id → request keys). */
function run(method: ReceiveRequest, servers: Array<[string, Keys]>, spec: RequestSpec): string[] {
  const { core, did } = stubCore();
  for (const [id, keys] of servers) core.userAgentServers.set(id, server(keys));
  method.call(core, parse(spec));
  return did;
}

const INVITE: RequestSpec = { method: 'INVITE', ruri: 'sip:bob@example.com', branch: 'z9hG4bKnew', callId: 'c1', fromTag: 'f1', cseq: 1, contact: true };
const HELD: Array<[string, Keys]> = [
  ['z9hG4bKold', { fromTag: 'f1', callId: 'c1', cseq: 1 }],
  ['z9hG4bKother', { fromTag: 'f2', callId: 'c2', cseq: 7 }],
];

describe('sip-merged-request: sip.js merged-request check by Call-ID', () => {
  it('is installed on sip.js 0.21.2, and only once', () => {
    const first = installMergedRequestIndex();
    assert.equal(first.installed, true, first.reason);
    assert.equal(installMergedRequestIndex(), first);
    assert.notEqual((Core.UserAgentCore.prototype as unknown as { receiveRequest: ReceiveRequest }).receiveRequest, sipJsReceiveRequest);
  });

  it('answers each request of a fixed list as sip.js does, the 482 for a merged request among them', () => {
    const cases: Array<[string, RequestSpec, string[]]> = [
      ['a merged request (same From tag, Call-ID, CSeq; another branch)', INVITE, ['reply 482']],
      ['the retransmission of a held one (its branch)', { ...INVITE, branch: 'z9hG4bKold' }, ['outside']],
      ['another CSeq', { ...INVITE, cseq: 2 }, ['outside']],
      ['another From tag', { ...INVITE, fromTag: 'f9' }, ['outside']],
      ['no From tag', { ...INVITE, fromTag: undefined }, ['outside']],
      ['another Call-ID', { ...INVITE, callId: 'c9' }, ['outside']],
      ['in dialog (a To tag)', { ...INVITE, toTag: 't1' }, ['inside']],
      // The list as it is now (lib/sip/sip-features.ts edits sip.js's one list in place when a line starts).
      ['a method sip.js does not take', { ...INVITE, method: 'FOO' }, [`reply 405 Allow: ${AllowedMethods.toString()}`]],
      ['a sips: Request-URI', { ...INVITE, ruri: 'sips:bob@example.com' }, ['reply 416']],
      ['someone else', { ...INVITE, ruri: 'sip:carol@example.com' }, ['warn', 'reply 404']],
      ['an ACK for someone else', { ...INVITE, method: 'ACK', ruri: 'sip:carol@example.com' }, ['warn']],
      ['an INVITE without Contact', { ...INVITE, contact: false }, ['reply 400 Missing Contact Header']],
      ['a merged OPTIONS', { ...INVITE, method: 'OPTIONS', contact: false }, ['reply 482']],
    ];
    for (const [what, spec, expected] of cases) {
      assert.deepEqual(run(sipJsReceiveRequest, HELD, spec), expected, `sip.js: ${what}`);
      assert.deepEqual(run(indexed, HELD, spec), expected, `indexed: ${what}`);
    }
  });

  it('answers as sip.js does whatever servers come and go (property)', () => {
    const keys = fc.record({ fromTag: fc.option(fc.constantFrom('f1', 'f2'), { nil: undefined }), callId: fc.constantFrom('c1', 'c2', 'c3'), cseq: fc.integer({ min: 1, max: 3 }) });
    const id = fc.constantFrom('z9hG4bKa', 'z9hG4bKb', 'z9hG4bKc', 'z9hG4bKd');
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), id, keys }),
      fc.record({ kind: fc.constant('delete' as const), id }),
      fc.record({ kind: fc.constant('clear' as const) }),
      fc.record({ kind: fc.constant('request' as const), branch: id, keys, toTag: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const [theirs, mine] = [stubCore(), stubCore()];
        for (const o of ops) {
          for (const [method, { core }] of [[sipJsReceiveRequest, theirs], [indexed, mine]] as const) {
            // As sip.js does: the core's map read afresh for each change (the first request replaces it).
            if (o.kind === 'set') core.userAgentServers.set(o.id, server(o.keys));
            else if (o.kind === 'delete') core.userAgentServers.delete(o.id);
            else if (o.kind === 'clear') core.userAgentServers.clear();
            else method.call(core, parse({ ...INVITE, branch: o.branch, ...o.keys, toTag: o.toTag ? 't1' : undefined }));
          }
          assert.deepEqual(mine.did, theirs.did);
          assert.deepEqual([...mine.core.userAgentServers.keys()], [...theirs.core.userAgentServers.keys()]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps its Call-ID index in step with the map (set over an id, delete, clear)', () => {
    const core = { userAgentServers: new Map<string, { transaction: { request: Keys } }>() };
    core.userAgentServers.set('a', server({ fromTag: 'f', callId: 'c', cseq: 1 }));
    const req = { fromTag: 'f', callId: 'c', cseq: 1 };
    assert.equal(mergedRequest(core, req), true);
    assert.ok(core.userAgentServers instanceof UserAgentServers, 'the first check files the servers by Call-ID');
    core.userAgentServers.set('a', server({ fromTag: 'f', callId: 'd', cseq: 1 }));
    assert.equal(mergedRequest(core, req), false, 'a server replaced under its id is filed under its new Call-ID');
    assert.equal(mergedRequest(core, { ...req, callId: 'd' }), true);
    core.userAgentServers.delete('a');
    assert.equal(mergedRequest(core, { ...req, callId: 'd' }), false);
    assert.equal((core.userAgentServers as UserAgentServers).withCallId('d'), undefined, 'an empty Call-ID is forgotten');
    core.userAgentServers.set('b', server(req));
    core.userAgentServers.clear();
    assert.equal(mergedRequest(core, req), false);
  });

  it('refuses another sip.js text (anchor missing, or the method using a name it is not given)', () => {
    assert.throws(() => transformReceiveRequest(source.replace('Array.from(this.userAgentServers.values())', 'Array.from(this.userAgentServers)')), /anchor/);
    assert.throws(() => transformReceiveRequest(source.replace('    receiveRequest(message) {\n', '    receiveRequest(msg) {\n')), /anchor/);
    assert.throws(() => transformReceiveRequest(source.replace('if (message.method === C.INVITE) {', 'if (message.method === C.INVITE && acceptedBodyTypes) {')), /acceptedBodyTypes/);
  });
});
