/**
 * What lib/sip/sip-grammar.ts and lib/sip/sip-merged-request.ts share: both replace a piece of sip.js
 * 0.21.2 at load, recompiled from sip.js's own text with exact anchors, and leave sip.js as it is when
 * an anchor is missing (another sip.js version) or a step fails. sip.js is pinned and unmaintained
 * (design §5) and a package cannot patch its users' node_modules, hence this way.
 */
import path from 'node:path';

/** What installing a replacement did: `installed`, or why not (words for a debug log). */
export interface SipJsPatchOutcome {
  installed: boolean;
  reason: string;
}

/** A file of sip.js's package (`lib/...`), found through its package.json. */
export function sipJsFile(...parts: string[]): string {
  return path.join(path.dirname(require.resolve('sip.js/package.json')), ...parts);
}

/** The one place of `anchor` in `text`; throws (naming the anchor) when it occurs zero or several times. */
function onlyPlace(text: string, anchor: string): number {
  const at = text.indexOf(anchor);
  if (at < 0 || text.indexOf(anchor, at + 1) >= 0) throw new Error(`anchor ${JSON.stringify(anchor.trim().slice(0, 40))} ${at < 0 ? 'not found' : 'found twice'}`);
  return at;
}

/** `text` with its only occurrence of `anchor` replaced; throws when it occurs zero or several times. */
export function replaceOnce(text: string, anchor: string, by: string): string {
  const at = onlyPlace(text, anchor);
  return text.slice(0, at) + by + text.slice(at + anchor.length);
}

/** Splits `text` at the only occurrence of `anchor` (dropped); throws when it occurs zero or several times. */
export function splitOnce(text: string, anchor: string): [string, string] {
  const at = onlyPlace(text, anchor);
  return [text.slice(0, at), text.slice(at + anchor.length)];
}

/**
 * `install` run once per process: later calls give the first outcome. Never throws: when `install`
 * does, sip.js's own code stays and the outcome says why (`<what>: <stays> (<error>)`).
 */
export function patchOnce(what: string, done: string, stays: string, install: () => void): () => SipJsPatchOutcome {
  let outcome: SipJsPatchOutcome | undefined;
  return () => {
    if (outcome) return outcome;
    try {
      install();
      outcome = { installed: true, reason: `${what}: ${done}` };
    } catch (err) {
      outcome = { installed: false, reason: `${what}: ${stays} (${err instanceof Error ? err.message : String(err)})` };
    }
    return outcome;
  };
}
