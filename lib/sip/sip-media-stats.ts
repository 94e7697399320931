import type { Session } from 'sip.js';
import { CallMediaStats, lossRatio } from '../call/media-stats';
import { RtpDescriptionHandler } from './rtp-description-handler';

/**
 * A SIP call's media figures (lib/call/media-stats.ts) from its RtpSession's counters: while it runs,
 * and after it closed (its stats() stay readable: the call's final figures). `undefined` when the
 * session never had media (no offer or answer was made).
 */
export function sipMediaStats(session: Session): CallMediaStats | undefined {
  const handler = RtpDescriptionHandler.of(session);
  const rtp = handler?.session;
  if (!handler || !rtp) return undefined;
  const s = rtp.stats();
  return {
    codec: handler.negotiated?.codec ?? null,
    packetsSent: s.packetsSent,
    bytesSent: s.bytesSent,
    packetsReceived: s.packetsReceived,
    bytesReceived: s.bytesReceived,
    packetsLost: s.lost,
    lossRatio: lossRatio(s.packetsReceived, s.lost),
    jitterMs: s.jitterMs,
  };
}
