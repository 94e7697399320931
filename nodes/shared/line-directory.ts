import { EventEmitter } from 'node:events';
import type { CallSnapshot } from '../../lib/call/call';
import type { VoiceEvent, VoiceLine } from '../../lib/line/voice-line';
import { AtBackend } from '../../lib/at/modem-backend';

/** One line as the editor shows it (the line's dialog and the calls sidebar). JSON-safe, no secrets. */
export interface LineView {
  id: string;
  name: string;
  backend: 'at' | 'sip';
  /** `idle`, `connecting`, `ready`, `error`, `closed`. */
  state: string;
  /** The line's status text ("ready: Quectel EC600N", "registered as alice@pbx", "error: ..."). */
  text: string;
  /** AT: the module identified (`Quectel EC600N (EC600NCNLCR03A21M08)`), once it is. */
  module?: string;
  /** The line's live calls, each with the topic of its last event. */
  calls: Array<CallSnapshot & { lastEvent?: string }>;
}

interface Entry {
  name: string;
  line: VoiceLine | null;
  /** Why the node's settings could not make a line. */
  problem?: string;
  lastEvent: Map<string, string>;
  unlisten: () => void;
}

/**
 * Every deployed `voice-line`, for the editor: the admin endpoints (`/voice/lines`) and the live calls
 * sidebar read it, and `changed` says when something they show changed. The line config nodes add
 * themselves when created and remove themselves when closed; nothing here opens or closes a line.
 */
export class LineDirectory extends EventEmitter {
  private readonly entries = new Map<string, Entry>();

  add(id: string, name: string, line: VoiceLine | null, problem?: string): void {
    this.remove(id);
    const lastEvent = new Map<string, string>();
    const onEvent = (e: VoiceEvent): void => {
      if (e.call) {
        if (e.call.state === 'ended') lastEvent.delete(e.call.id);
        else lastEvent.set(e.call.id, e.topic);
      }
      this.emit('changed');
    };
    const onStatus = (): void => {
      this.emit('changed');
    };
    line?.on('event', onEvent);
    line?.on('status', onStatus);
    const unlisten = (): void => {
      line?.off('event', onEvent);
      line?.off('status', onStatus);
    };
    this.entries.set(id, { name, line, problem, lastEvent, unlisten });
    this.emit('changed');
  }

  remove(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.unlisten();
    this.entries.delete(id);
    this.emit('changed');
  }

  line(id: string): VoiceLine | null {
    return this.entries.get(id)?.line ?? null;
  }

  view(id: string): LineView | null {
    const entry = this.entries.get(id);
    if (!entry) return null;
    const line = entry.line;
    if (!line) {
      return { id, name: entry.name, backend: 'at', state: 'error', text: entry.problem ?? 'no line', calls: [] };
    }
    const backend = line.backend;
    const identity = backend instanceof AtBackend ? backend.identity : null;
    return {
      id,
      name: entry.name,
      backend: line.config.backend,
      state: line.status.state,
      text: line.status.text,
      ...(identity ? { module: `${identity.manufacturer} ${identity.model}${identity.revision ? ` (${identity.revision})` : ''}`.trim() } : {}),
      calls: line.activeCalls().map((c) => ({ ...c.snapshot(), lastEvent: entry.lastEvent.get(c.id) })),
    };
  }

  views(): LineView[] {
    return [...this.entries.keys()].map((id) => this.view(id)).filter((v): v is LineView => v !== null);
  }
}
