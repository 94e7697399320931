/**
 * The browser suite's machinery (test/browser/*.test.ts and `npm run screenshots`): a real Node-RED
 * started as `npm start` starts it (scripts/demo-settings.js: this repository as a nodes directory),
 * but on a random port with a temporary user directory, and its editor driven in Debian's chromium
 * through playwright-core (no browser download: the system's chromium is the browser).
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { chooseNodeRed } from '../../scripts/node-red-runtime';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const ROOT = findRoot(__dirname);

function findRoot(dir: string): string {
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'examples')) && fs.existsSync(path.join(d, 'package.json'))) return d;
  }
  throw new Error(`no repository above ${dir}`);
}

/**
 * For a `before` hook: skips the suite (saying why) when chromium is missing; on CI (`CI=true`) a
 * missing chromium is a failure.
 */
export function requireChromium(ctx: Mocha.Context): void {
  if (fs.existsSync(CHROMIUM)) return;
  if (process.env.CI === 'true') throw new Error(`chromium is required on CI (apt-get install chromium) but ${CHROMIUM} is missing`);
  // eslint-disable-next-line no-console
  console.warn(`      skipped: ${CHROMIUM} not found (apt-get install chromium, or set CHROMIUM_PATH)`);
  ctx.skip();
}

/** A free TCP port on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** One Node-RED process with this package, as `npm start` runs it. */
export class NodeRed {
  private constructor(
    readonly url: string,
    readonly userDir: string,
    private readonly child: ChildProcess,
    readonly log: string[],
  ) {}

  /**
   * Starts Node-RED; `flows` is deployed at start (the demo flow, say), else the workspace is empty.
   * `startTimeoutMs`: how long it may take to report "Started flows" (several at once on a busy machine take longer).
   */
  static async start(flows: unknown[] = [], startTimeoutMs = 30000): Promise<NodeRed> {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'nodes', 'voice-line.js'))) throw new Error('dist/ is missing: run `npm run build` first');
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'voice-editor-'));
    const port = await freePort();
    fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));
    const settings = path.join(userDir, 'settings.js');
    fs.writeFileSync(
      settings,
      `module.exports = Object.assign({}, require(${JSON.stringify(path.join(ROOT, 'scripts', 'demo-settings.js'))}), ` +
        `{ uiHost: '127.0.0.1', uiPort: ${port}, userDir: ${JSON.stringify(userDir)} });\n` +
        // Offline: no palette catalogue from the internet (the fetch would fail and log a console error).
        `module.exports.editorTheme = Object.assign({}, module.exports.editorTheme, { palette: { catalogues: [] } });\n`,
    );
    const child = spawn(process.execPath, [chooseNodeRed().launcher, '--settings', settings], {
      cwd: userDir,
      env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL || 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log: string[] = [];
    const url = `http://127.0.0.1:${port}/`;
    const nr = new NodeRed(url, userDir, child, log);
    let exited: string | null = null;
    child.on('exit', (code, signal) => (exited = `exited (${code ?? signal})`));
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.setEncoding('utf8');
      stream.on('data', (text: string) => log.push(...text.split('\n').filter((l) => l.trim() !== '')));
    }
    const deadline = Date.now() + startTimeoutMs;
    while (!log.some((l) => /Started flows/.test(l))) {
      if (exited) throw new Error(`Node-RED ${exited} before it started:\n${log.join('\n')}`);
      if (Date.now() > deadline) {
        await nr.stop();
        throw new Error(`Node-RED did not start in ${startTimeoutMs / 1000} s:\n${log.join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return nr;
  }

  /** Replaces the deployed flows (the admin API, as a full deploy does). */
  async setFlows(flows: unknown[]): Promise<void> {
    const res = await fetch(`${this.url}flows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify(flows),
    });
    if (!res.ok) throw new Error(`POST /flows: ${res.status} ${await res.text()}`);
  }

  /** SIGKILL, as a crash: nothing of Node-RED runs its close handlers (the user directory is removed). */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const gone = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGKILL');
      await gone;
    }
    fs.rmSync(this.userDir, { recursive: true, force: true });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const gone = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGINT');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    }
    fs.rmSync(this.userDir, { recursive: true, force: true });
  }
}

/** What the page reported that a user would call broken: uncaught errors and console errors. */
export interface PageProblems {
  pageErrors: string[];
  consoleErrors: string[];
}

/** Chromium on the editor of `nr`, in a fresh profile. */
export class Editor {
  readonly problems: PageProblems = { pageErrors: [], consoleErrors: [] };

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    private readonly profile: string,
  ) {}

  static async open(nr: NodeRed, viewport = { width: 1440, height: 900 }): Promise<Editor> {
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'voice-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    // EDITOR_CPU_SLOWDOWN=N runs the page N times slower (Chromium's CPU throttling), as on a loaded
    // CI machine: the way to bring out a test that races the editor.
    const slowdown = Number(process.env.EDITOR_CPU_SLOWDOWN ?? 1);
    if (slowdown > 1) await (await context.newCDPSession(page)).send('Emulation.setCPUThrottlingRate', { rate: slowdown });
    const editor = new Editor(context, page, profile);
    page.on('pageerror', (err) => editor.problems.pageErrors.push(String(err)));
    page.on('console', (m) => {
      // "Failed to load resource" names no URL: the response handler below says which.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) editor.problems.consoleErrors.push(m.text());
    });
    page.on('response', (r) => {
      if (r.status() >= 400) editor.problems.consoleErrors.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
    });
    await editor.load(nr);
    return editor;
  }

  /** (Re)loads the editor and waits until the palette and the workspace are there. */
  async load(nr: NodeRed): Promise<void> {
    // Generous: on a loaded machine the editor (2.6 MB of script, Monaco) takes tens of seconds.
    this.page.setDefaultTimeout(60000);
    await this.page.goto(nr.url, { timeout: 120000 });
    await this.page.waitForSelector('.red-ui-palette-node[data-palette-type="voice-dial"]', { state: 'attached', timeout: 120000 });
    await this.page.waitForFunction(
      () => typeof RED !== 'undefined' && !!RED.workspaces?.active() && $('#red-ui-header-button-deploy').is(':visible') && !$('#red-ui-loading-progress').is(':visible'),
      undefined,
      { timeout: 120000 },
    );
  }

  async close(): Promise<void> {
    await this.context.close();
    fs.rmSync(this.profile, { recursive: true, force: true });
  }
}

/**
 * Waits until the edit tray whose OK button is `ok` is built: Node-RED shows a tray's buttons before
 * it builds the dialog in it (a node with credentials, as the line, waits for them from the runtime
 * first), and until then it ignores a click on the line's edit or add button (`buildingEditDialog`).
 * The tray slides in (`right: 0`) only once it is built.
 */
export async function trayBuilt(page: Page, ok = '#node-dialog-ok'): Promise<void> {
  await page.waitForFunction((sel) => {
    const tray = $(sel).closest('.red-ui-tray');
    return tray.length === 1 && tray[0].style.right === '0px';
  }, ok);
}

// The editor's globals, for page.evaluate callbacks (they run in the page, where these exist).
declare global {
  const $: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  const RED: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}
