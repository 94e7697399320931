/**
 * A call's media figures, as a flow gets them: the `media` of a SIP call's `ended` payload and the
 * `voice-control` action `get-stats` (docs/sip-backend.md, "Media statistics"). The same shape on
 * every backend that has them; an AT line has none (the audio does not pass through this host).
 */
export interface CallMediaStats {
  /** The codec in use (`PCMU`, `PCMA`), or `null` before an offer/answer exchange completed. */
  codec: string | null;
  /** RTP packets sent (audio and RFC 4733 events) and their bytes, RTP header included. */
  packetsSent: number;
  bytesSent: number;
  /** RTP packets received from the other side, and their bytes. */
  packetsReceived: number;
  bytesReceived: number;
  /** Packets that never arrived (sequence numbers skipped; one that came too late is counted too). */
  packetsLost: number;
  /** packetsLost / (packetsReceived + packetsLost), 0 to 1 (4 decimals); 0 when nothing was expected. */
  lossRatio: number;
  /** RFC 3550 interarrival jitter of the received audio, in ms. */
  jitterMs: number;
}

/** The loss ratio of `lost` packets among `received + lost`, 4 decimals. */
export function lossRatio(received: number, lost: number): number {
  const expected = received + lost;
  return expected === 0 ? 0 : Math.round((lost / expected) * 10_000) / 10_000;
}
