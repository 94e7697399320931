/**
 * sip.js's merged-request check (RFC 3261 8.2.2.2) by Call-ID, not by a scan of every server transaction.
 *
 * Why this exists: sip.js 0.21.2's `UserAgentCore.receiveRequest` checks each request without a To tag
 * against every user agent server the core holds: `Array.from(this.userAgentServers.values()).some(...)`
 * (core/user-agent-core/user-agent-core.js). A server stays in that map until its transaction ends:
 * ~32 s after the final response over UDP (Timer L for an INVITE, Timer J for a BYE or INFO), so each
 * INVITE scanned every transaction of the last half minute: O(calls per second × 32), each through two
 * getters of several classes. At 500 calls it was 6.7 % of the main thread (docs/benchmarks.md,
 * "Call set-up cost", session 8). sip.js is pinned and unmaintained (design §5) and we cannot patch
 * node_modules for our users, so, the way lib/sip/sip-grammar.ts replaces the grammar, at load this module:
 *
 * 1. reads user-agent-core.js's own text (through sip.js's package folder) and takes `receiveRequest`
 *    out of it between exact anchors;
 * 2. replaces the scan (exact text) with a call of {@link mergedRequest}, which runs sip.js's very
 *    predicate (From tag, Call-ID and CSeq equal) over the servers whose request has that Call-ID
 *    only: a request that matches has that Call-ID, so the answer is the same;
 * 3. requires that the method uses none of the module's names but `C` and `AllowedMethods` (which it
 *    is given, the same objects sip.js uses), compiles it once with `vm.compileFunction`, strict as the
 *    ES module was, and installs it as `UserAgentCore.prototype.receiveRequest`.
 *
 * The index: the first request a core checks replaces its `userAgentServers` Map by a
 * {@link UserAgentServers} (a Map that also files each server by its request's Call-ID on `set` and
 * forgets it on `delete` and `clear`, the only ways sip.js changes the map; everything else of sip.js
 * reads it as the Map it is). sip.js reads `core.userAgentServers` afresh on every use, never keeps it.
 *
 * If any anchor is missing (another sip.js version) or a step fails, nothing is installed and sip.js's
 * own method stays: slower, never wrong. test/unit/sip-merged-request.test.ts runs both methods on the
 * same requests (the 405, 416, 404, 400 and 482 answers, in and out of dialog).
 */
import { readFileSync } from 'node:fs';
import { compileFunction } from 'node:vm';
import { Core } from 'sip.js';
import { AllowedMethods } from 'sip.js/lib/core/user-agent-core/allowed-methods.js';
import { patchOnce, replaceOnce, sipJsFile, SipJsPatchOutcome, splitOnce } from './sipjs-source';

/** What {@link installMergedRequestIndex} did: `installed`, or why not (words for a debug log). */
export type MergedRequestOutcome = SipJsPatchOutcome;

/** The fields of a request the check reads (sip.js's IncomingRequestMessage). */
interface RequestKeys {
  fromTag?: string;
  callId: string;
  cseq: number;
}

/** A user agent server as the check reads it. */
interface ServerLike {
  transaction: { request: RequestKeys };
}

/** What the installed method reads of the core. */
interface CoreLike {
  userAgentServers: Map<string, ServerLike>;
}

/** sip.js's `receiveRequest(message)`, called with the core as `this`. */
export type ReceiveRequest = (this: unknown, message: unknown) => void;

const SOURCE_FILE = ['lib', 'core', 'user-agent-core', 'user-agent-core.js'];
const METHOD_START = '\n    receiveRequest(message) {\n';
/** The doc comment of the method after it (receiveInsideDialogRequest). */
const METHOD_END = '\n    /**\n     * Once a dialog has been established between two UAs, either of them\n';
const SCAN = `                const mergedRequest = Array.from(this.userAgentServers.values()).some((uas) => uas.transaction.request.fromTag === message.fromTag &&
                    uas.transaction.request.callId === message.callId &&
                    uas.transaction.request.cseq === message.cseq);
`;
const INDEXED = '                const mergedRequest = mergedRequest$(this, message);\n';
/** The module's names the method may use; the compiled function gets them as parameters. */
const GIVEN = ['C', 'AllowedMethods'];

/** sip.js's own method, as loaded (before any install): the tests compare the two. */
export const sipJsReceiveRequest = (Core.UserAgentCore.prototype as unknown as { receiveRequest: ReceiveRequest }).receiveRequest;

export function userAgentCoreSourcePath(): string {
  return sipJsFile(...SOURCE_FILE);
}

/**
 * `core.userAgentServers` with the servers filed by their request's Call-ID too. sip.js changes the map
 * with `set` (a server's init, its transaction already made) and `delete` / `clear` only.
 */
export class UserAgentServers extends Map<string, ServerLike> {
  private readonly byCallId = new Map<string, Set<ServerLike>>();

  override set(id: string, uas: ServerLike): this {
    const old = super.get(id);
    if (old !== undefined) this.unfile(old);
    super.set(id, uas);
    const callId = uas.transaction.request.callId;
    let servers = this.byCallId.get(callId);
    if (!servers) this.byCallId.set(callId, (servers = new Set()));
    servers.add(uas);
    return this;
  }

  override delete(id: string): boolean {
    const old = super.get(id);
    if (old !== undefined) this.unfile(old);
    return super.delete(id);
  }

  override clear(): void {
    this.byCallId.clear();
    super.clear();
  }

  /** The servers whose request has this Call-ID (none: undefined). */
  withCallId(callId: string): ReadonlySet<ServerLike> | undefined {
    return this.byCallId.get(callId);
  }

  private unfile(uas: ServerLike): void {
    const callId = uas.transaction.request.callId;
    const servers = this.byCallId.get(callId);
    if (!servers) return;
    servers.delete(uas);
    if (servers.size === 0) this.byCallId.delete(callId);
  }
}

/** The core's servers as a {@link UserAgentServers} (replacing its plain Map the first time). */
function serversOf(core: CoreLike): UserAgentServers {
  const current = core.userAgentServers;
  if (current instanceof UserAgentServers) return current;
  const indexed = new UserAgentServers();
  for (const [id, uas] of current) indexed.set(id, uas);
  core.userAgentServers = indexed;
  return indexed;
}

/** sip.js's merged-request predicate, over the servers with the request's Call-ID only. */
export function mergedRequest(core: CoreLike, message: RequestKeys): boolean {
  const servers = serversOf(core).withCallId(message.callId);
  if (!servers) return false;
  for (const uas of servers) {
    const request = uas.transaction.request;
    if (request.fromTag === message.fromTag && request.callId === message.callId && request.cseq === message.cseq) return true;
  }
  return false;
}

/** The names the module declares at its top level (imports, consts, classes, functions). */
function moduleNames(source: string): string[] {
  const names: string[] = [];
  for (const m of source.matchAll(/^import \{([^}]*)\} from /gm)) names.push(...m[1].split(',').map((n) => n.trim().split(/\s+as\s+/).pop() as string));
  for (const m of source.matchAll(/^(?:export )?(?:const|let|var|class|function) ([A-Za-z_$][\w$]*)/gm)) names.push(m[1]);
  return names.filter(Boolean);
}

/**
 * The transformation alone: user-agent-core.js's text in, the body of a function of
 * `(C, AllowedMethods, mergedRequest$)` that returns the new `receiveRequest` out. Throws (naming the
 * anchor or the name) when the text is not the one this was written for.
 */
export function transformReceiveRequest(source: string): string {
  const after = splitOnce(source, METHOD_START)[1];
  const end = after.indexOf(METHOD_END);
  if (end < 0) throw new Error('anchor "Once a dialog has been established" not found after receiveRequest');
  const method = after.slice(0, end);
  if (!method.endsWith('\n    }')) throw new Error('receiveRequest does not end where expected');
  const body = replaceOnce(method.slice(0, -'\n    }'.length), SCAN, INDEXED);
  for (const name of moduleNames(source)) {
    if (!GIVEN.includes(name) && new RegExp(`(?<![\\w$.])${name.replace(/\$/g, '\\$')}(?![\\w$])`).test(body)) throw new Error(`receiveRequest uses the module's ${name}`);
  }
  for (const name of GIVEN) if (!moduleNames(source).includes(name)) throw new Error(`the module has no ${name}`);
  return `"use strict";\nreturn function receiveRequest(message) {\n${body}\n};\n`;
}

/** Compiles the transformed method once, with sip.js's own `C` and `AllowedMethods`. */
export function compileReceiveRequest(source: string, filename: string): ReceiveRequest {
  const factory = compileFunction(transformReceiveRequest(source), ['C', 'AllowedMethods', 'mergedRequest$'], { filename: `${filename} (merged requests by Call-ID: lib/sip/sip-merged-request.ts)` });
  // The very list sip.js reads (lib/sip/sip-features.ts edits it in place).
  if (!Array.isArray(AllowedMethods)) throw new Error('sip.js has no AllowedMethods');
  const method = factory(Core.C, AllowedMethods, mergedRequest) as unknown;
  if (typeof method !== 'function') throw new Error('the compiled method is not a function');
  return method as ReceiveRequest;
}

/**
 * Installs the compiled method as `UserAgentCore.prototype.receiveRequest`, once per process (later
 * calls return the first outcome). Never throws: when it cannot, sip.js's method stays and `reason` says why.
 */
export const installMergedRequestIndex: () => MergedRequestOutcome = patchOnce(
  'sip.js merged-request check',
  'by Call-ID (lib/sip/sip-merged-request.ts)',
  'its own scan stays',
  () => {
    const file = userAgentCoreSourcePath();
    const method = compileReceiveRequest(readFileSync(file, 'utf8'), file);
    const proto = Core.UserAgentCore.prototype as unknown as { receiveRequest: ReceiveRequest };
    if (typeof proto.receiveRequest !== 'function') throw new Error('UserAgentCore has no receiveRequest');
    proto.receiveRequest = method;
  },
);
