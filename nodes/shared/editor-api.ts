import { SerialPort } from 'serialport';
import { EMULATOR_PROFILES } from '../../lib/at/emulator/profiles';
import { SIM_PATH_PREFIX } from '../../lib/at/emulator/sim-port';
import { LineDirectory } from './line-directory';
import type { AdminRequest, AdminResponse, NodeAPI } from './red-types';

/** The lines of this Node-RED process (one runtime per process). */
export const lineDirectory = new LineDirectory();

/** comms topic of the calls sidebar: every line and its calls, retained for editors that open later. */
export const LINES_TOPIC = 'voice/lines';
const PUBLISH_EVERY_MS = 200;

const registered = new WeakSet<object>();

/** What the line dialog's port picker lists: the machine's serial ports, then the emulator's profiles. */
export interface PortChoice {
  path: string;
  label: string;
}

export async function listPorts(): Promise<PortChoice[]> {
  let ports: PortChoice[] = [];
  try {
    ports = (await SerialPort.list()).map((p) => ({
      path: p.path,
      label: [p.manufacturer, p.vendorId && p.productId ? `${p.vendorId}:${p.productId}` : '', p.serialNumber].filter(Boolean).join(' ') || p.path,
    }));
  } catch {
    // No serial ports can be listed here (no udev...): the emulator's are still offered.
  }
  const sims = Object.keys(EMULATOR_PROFILES).map((name) => ({ path: `${SIM_PATH_PREFIX}${name}`, label: `built-in emulator (${name})` }));
  sims.push({ path: `${SIM_PATH_PREFIX}ec600n?demo=20`, label: 'built-in emulator (ec600n), an incoming call every 20 s' });
  return [...ports, ...sims];
}

/**
 * The editor's side of the package, registered once per Node-RED (by the `voice-line` node module):
 * `GET voice/serial-ports` (the port picker), `GET voice/lines[/:id]` (the line dialog's live state,
 * the sidebar), `POST voice/lines/:id/calls/:call/hangup` (the sidebar's hang-up button), and the
 * `voice/lines` comms topic that keeps the sidebar live. Reading needs `voice-line.read`, hanging up
 * `voice-line.write` (Node-RED's adminAuth permissions).
 */
export function registerEditorApi(RED: NodeAPI): void {
  const app = RED.httpAdmin;
  if (!app || registered.has(app)) return;
  registered.add(app);
  const read = RED.auth?.needsPermission('voice-line.read') ?? pass;
  const write = RED.auth?.needsPermission('voice-line.write') ?? pass;

  app.get('/voice/serial-ports', read, (_req, res) => {
    void listPorts().then((ports) => res.json(ports));
  });
  app.get('/voice/lines', read, (_req, res) => {
    res.json(lineDirectory.views());
  });
  // A line not deployed yet (a new one in its dialog) is an answer, not an error: `{ deployed: false }`.
  app.get('/voice/lines/:id', read, (req, res) => {
    res.json(lineDirectory.view(req.params.id) ?? { id: req.params.id, deployed: false });
  });
  app.post('/voice/lines/:id/calls/:call/hangup', write, (req, res) => {
    const line = lineDirectory.line(req.params.id);
    if (!line) {
      res.status(404).json({ error: 'no such line is deployed' });
      return;
    }
    line.hangup(req.params.call).then(
      (call) => res.json({ call: call.snapshot() }),
      (err: Error & { code?: string }) => res.status(409).json({ error: err.message, code: err.code }),
    );
  });

  publisher = (views) => RED.comms?.publish(LINES_TOPIC, views, true);
}

/** Where the sidebar's updates go: the comms of the Node-RED that registered last (one per process). */
let publisher: ((views: ReturnType<LineDirectory['views']>) => void) | null = null;
let publishTimer: NodeJS.Timeout | null = null;
// Live: one retained message with every line, at most every PUBLISH_EVERY_MS.
lineDirectory.on('changed', () => {
  if (publishTimer) return;
  publishTimer = setTimeout(() => {
    publishTimer = null;
    publisher?.(lineDirectory.views());
  }, PUBLISH_EVERY_MS);
  publishTimer.unref();
});

function pass(_req: AdminRequest, _res: AdminResponse, next: () => void): void {
  next();
}
