import { AllowedMethods } from 'sip.js/lib/core/user-agent-core/allowed-methods.js';
import type { SipCallContext, SipCallFeature } from './sip-call-context';
import type { SipBackendOptions } from './sip-backend';
import { sessionTimersFeature } from './session-timer';
import { SipEarlyMedia } from './sip-early-media';
import { SipExtensions } from './sip-extensions';
import { SipReason } from './sip-reason';

/**
 * Makes one feature of a SIP line, given what it may use of the backend and the line's settings (its
 * own settings come through the settings pipeline, lib/sip/sip-line-settings.ts, as backend options).
 */
export type SipFeatureFactory = (ctx: SipCallContext, options: Readonly<SipBackendOptions>) => SipCallFeature;

/**
 * The SIP line's protocol features beyond its four capabilities (DTMF, control, forwarding, audio,
 * which the backend makes itself and exposes as `dtmf`, `control`, ...): session timers, privacy,
 * honest headers... Like the emulator's feature table (lib/at/emulator/features/index.ts), a new
 * feature is one entry here; the backend calls each hook of each feature in this order, after the
 * capabilities'.
 */
export const SIP_FEATURES: readonly SipFeatureFactory[] = [
  // First: a request that requires what we lack is refused before any other feature acts on it.
  (ctx) => new SipExtensions(ctx),
  () => new SipReason(),
  // Session timers (RFC 4028): Session-Expires, refreshes by UPDATE / re-INVITE, their UPDATE, expiry.
  sessionTimersFeature,
  // Early media (RFC 3960): the media follows the 200's SDP and the answered fork.
  (ctx) => new SipEarlyMedia(ctx),
];

/** What the backend itself handles, whatever the features: calls, their ending, keep-alives. */
export const CORE_METHODS = ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS'] as const;

/** The `Supported:` option tags of a line: what its features implement, each once, in order. */
export function supportedTags(features: readonly SipCallFeature[]): string[] {
  return [...new Set(features.flatMap((f) => f.supported ?? []))];
}

/** The `Allow:` methods of a line: the core's and what its features handle, each once. */
export function allowedMethods(features: readonly SipCallFeature[]): string[] {
  return [...new Set([...CORE_METHODS, ...features.flatMap((f) => f.allow ?? [])])];
}

/**
 * sip.js 0.21 keeps one list of allowed methods per process (core/user-agent-core/allowed-methods.js,
 * marked "FIXME: Should be configurable"): it is the `Allow` of its 200s, re-INVITEs and OPTIONS
 * answers, and requests of other methods are answered 405 before any delegate sees them. It is set,
 * in place, to what the features handle (every line of a process runs the same registry, so every line
 * computes the same list). Our INVITE's own Allow (sip.js writes a fixed list there) is replaced by
 * the backend when it dials.
 */
export function applyAllowedMethods(methods: readonly string[]): void {
  const list = AllowedMethods as string[];
  if (list.length === methods.length && list.every((m, i) => m === methods[i])) return;
  list.splice(0, list.length, ...methods);
}
