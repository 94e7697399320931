/**
 * The small part of Node-RED's runtime API these nodes use (no @types/node-red is installed). Loose on
 * purpose: only what the adapters call, so that a change in Node-RED shows up here and nowhere else.
 */

/** What a node shows under itself in the editor. */
export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

/** A message travelling through a flow. */
export interface NodeMessage {
  _msgid?: string;
  topic?: string;
  payload?: unknown;
  [property: string]: unknown;
}

/** One message, or one per output (null: nothing on that output). */
export type Outgoing = NodeMessage | (NodeMessage | null)[];
export type SendFn = (msg: Outgoing) => void;
export type DoneFn = (err?: Error) => void;
export type InputHandler = (msg: NodeMessage, send: SendFn, done: DoneFn) => void;
export type CloseHandler = (removed: boolean, done: () => void) => void;

/** The properties Node-RED gives every node's definition (the flow JSON of the node). */
export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  z?: string;
}

/** A running node, as created by `RED.nodes.createNode`. */
export interface Node {
  readonly id: string;
  readonly type: string;
  name?: string;
  credentials?: Record<string, string | undefined>;
  on(event: 'input', handler: InputHandler): void;
  on(event: 'close', handler: CloseHandler): void;
  status(status: NodeStatus | Record<string, never>): void;
  send(msg: Outgoing): void;
  log(text: string): void;
  warn(text: string): void;
  error(err: string | Error, msg?: NodeMessage): void;
  debug(text: string): void;
}

/** `RED`, as handed to a node module's exported function. */
export interface NodeAPI {
  nodes: {
    createNode(node: Node, def: NodeDef): void;
    getNode(id: string): Node | null;
    registerType(
      type: string,
      constructor: (this: Node, def: never) => void,
      options?: { credentials?: Record<string, { type: 'text' | 'password' }> },
    ): void;
  };
  util: {
    cloneMessage<T>(msg: T): T;
    /** A typed-input property's value for a message (str, msg, flow, global, env...). */
    evaluateNodeProperty(value: string, type: string, node: Node, msg: NodeMessage, callback: (err: Error | null, value?: unknown) => void): void;
  };
  /** The editor's HTTP API (absent when the editor is disabled). */
  httpAdmin?: AdminApp;
  auth?: { needsPermission(permission: string): AdminHandler };
  /** Messages to the editors (the calls sidebar). */
  comms?: { publish(topic: string, data: unknown, retain: boolean): void };
  /** Node-RED's settings.js: `userDir`, and `fileWorkingDirectory` as the core file nodes read it. */
  settings?: { userDir?: string; fileWorkingDirectory?: string };
}

/** The parts of an express request and response the admin endpoints use. */
export interface AdminRequest {
  params: Record<string, string>;
}
export interface AdminResponse {
  json(body: unknown): void;
  status(code: number): AdminResponse;
}
export type AdminHandler = (req: AdminRequest, res: AdminResponse, next: () => void) => void;
export interface AdminApp {
  get(path: string, ...handlers: AdminHandler[]): void;
  post(path: string, ...handlers: AdminHandler[]): void;
}
