import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { Editor, NodeRed, ROOT, requireChromium, trayBuilt } from './editor-harness';

/**
 * What a Node-RED user sees of this package in the editor, in a real browser (Debian's chromium) on a
 * real Node-RED: the palette, each node's dialog and help, every example imported through
 * Import → Examples and deployed, and the demo flow's statuses as calls come and go. No page error
 * and no console error, ever (checked after each test).
 */
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const TYPES: string[] = Object.keys(PKG['node-red'].nodes);
const FLOW_TYPES = TYPES.filter((t) => t !== 'voice-line');
const EXAMPLES = fs.readdirSync(path.join(ROOT, 'examples')).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));

/** The nodes of the open workspace (and config nodes) whose `valid` is false, with the properties that failed. */
function invalidNodes(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const bad: string[] = [];
    const check = (n: any) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      if (n.valid === false) bad.push(`${n.type} ${n.name || n.id}: ${JSON.stringify(n.validationErrors)}`);
    };
    RED.nodes.eachNode(check);
    RED.nodes.eachConfig(check);
    return bad;
  });
}

/** The red triangles (the "not properly configured" mark) shown on the canvas. */
function redTriangles(page: Page): Promise<number> {
  return page.evaluate(() => $('#red-ui-workspace-chart .red-ui-flow-node-error').filter(function (this: unknown) {
    return $(this).css('display') !== 'none' && $(this).attr('visibility') !== 'hidden';
  }).length);
}

/** The status text each node of `type` shows on the canvas (what the user reads under the node). */
function statusTexts(page: Page, type: string): Promise<string[]> {
  return page.evaluate((t) => {
    const texts: string[] = [];
    RED.nodes.eachNode((n: any) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      if (n.type !== t) return;
      texts.push($('[id="' + n.id + '"] .red-ui-flow-node-status-label').text());
    });
    return texts;
  }, type);
}

async function waitStatus(page: Page, type: string, text: RegExp, timeout = 20000): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const shown = await statusTexts(page, type);
    if (shown.length > 0 && shown.every((s) => text.test(s))) return;
    if (Date.now() > deadline) throw new Error(`${type} shows ${JSON.stringify(shown)}, expected ${text}`);
    await page.waitForTimeout(100);
  }
}

/** The id of the one node of `type` in the workspace, or the node named `name`. */
function nodeId(page: Page, type: string, name?: string): Promise<string> {
  return page.evaluate(([t, nm]) => {
    const found: string[] = [];
    RED.nodes.eachNode((n: any) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      if (n.type === t && (nm === undefined || n.name === nm)) found.push(n.id);
    });
    if (found.length !== 1) throw new Error(`${found.length} nodes of type ${t}${nm ? ` named ${nm}` : ''}`);
    return found[0];
  }, [type, name] as const);
}

/** Clicks Deploy; resolves with the notifications shown until "Successfully deployed". */
async function deploy(page: Page): Promise<string[]> {
  // Only what Deploy shows: the notifications already there (the import's) are marked and left out.
  await page.evaluate(() => $('.red-ui-notification').attr('data-before-deploy', '1'));
  // Node-RED ignores Deploy while there is nothing to deploy (the button greyed): a test that clicks
  // it then has not made the change it meant to.
  await page.waitForSelector('#red-ui-header-button-deploy:not(.disabled)', { timeout: 5000 }).catch(() => {
    throw new Error('Deploy is greyed out: the editor has no change to deploy');
  });
  await page.click('#red-ui-header-button-deploy');
  const seen: string[] = [];
  const deadline = Date.now() + 15000;
  for (;;) {
    const texts = await page.evaluate(() =>
      $('.red-ui-notification:not([data-before-deploy])').map(function (this: unknown) { return $(this).text(); }).get(),
    );
    for (const t of texts) if (!seen.includes(t)) seen.push(t);
    if (texts.some((t: string) => /Successfully deployed/.test(t))) return seen;
    if (texts.some((t: string) => /not properly configured/.test(t))) return seen;
    if (Date.now() > deadline) throw new Error(`no "Successfully deployed" after Deploy; shown: ${JSON.stringify(seen)}`);
    await page.waitForTimeout(100);
  }
}

/** Types `text` into the field as a user does (Node-RED checks a field on its keyup and change events). */
async function typeInto(page: Page, selector: string, text: string): Promise<void> {
  // A typed input (the field hidden, Node-RED's widget right after it): choose "string" and type into the widget.
  const typed = await page.evaluate((sel) => $(sel).hasClass('red-ui-typedInput'), selector);
  if (typed) {
    await page.evaluate((sel) => $(sel).typedInput('type', 'str'), selector);
    const visible = page.locator(`${selector} + .red-ui-typedInput-container input.red-ui-typedInput-input`);
    await visible.fill(text);
    await visible.press('End');
    return;
  }
  await page.fill(selector, text);
  await page.press(selector, 'End');
}

/** The element that shows a field's error mark: the field, or the typed-input widget around it. */
/** For each field: typing `bad` flags it (input-error), typing `good` then clears the flag. */
async function badThenGood(page: Page, cases: ReadonlyArray<readonly [field: string, bad: string, good: string]>): Promise<void> {
  const flagged = (sel: string, on: boolean) => page.waitForFunction(([s, want]) => $(s as string).hasClass('input-error') === want, [sel, on] as const, { timeout: 5000 });
  for (const [field, bad, good] of cases) {
    await typeInto(page, field, bad);
    await flagged(field, true).catch(() => {
      throw new Error(`${field} "${bad}" is not flagged`);
    });
    await typeInto(page, field, good);
    await flagged(field, false).catch(() => {
      throw new Error(`${field} "${good}" is flagged`);
    });
  }
}

async function errorMarkOf(page: Page, selector: string): Promise<string> {
  const typed = await page.evaluate((sel) => $(sel).hasClass('red-ui-typedInput'), selector);
  return typed ? `${selector} + .red-ui-typedInput-container` : selector;
}

/** Presses the button of the inject node named `name`. */
async function pressInject(page: Page, name: string): Promise<void> {
  const id = await nodeId(page, 'inject', name);
  await page.click(`[id="${id}"] .red-ui-flow-node-button`);
}

/** The debug sidebar's messages as the user reads them: the debug node's name and the message's topic. */
function debugMessages(page: Page): Promise<{ node: string; topic: string }[]> {
  return page.evaluate(() =>
    $('.red-ui-debug-msg').map(function (this: unknown) {
      return {
        node: $(this).find('.red-ui-debug-msg-name').first().text().replace(/^node: /, ''),
        topic: $(this).find('.red-ui-debug-msg-topic').first().text().replace(/ : msg.*$/, '').trim(),
      };
    }).get(),
  );
}

describe('the editor in a browser', function () {
  this.timeout(180000);
  let nr: NodeRed;
  let editor: Editor;
  let page: Page;

  before(async function () {
    requireChromium(this);
    nr = await NodeRed.start();
    editor = await Editor.open(nr);
    page = editor.page;
  });

  after(async function () {
    await editor?.close();
    await nr?.stop();
  });

  afterEach(function () {
    if (!editor) return;
    const { pageErrors, consoleErrors } = editor.problems;
    const found = [...pageErrors.map((e) => `page error: ${e}`), ...consoleErrors.map((e) => `console error: ${e}`)];
    pageErrors.length = 0;
    consoleErrors.length = 0;
    assert.deepEqual(found, [], 'no page error and no console error');
  });

  /** An empty workspace, deployed, and the editor reloaded on it. */
  async function reset(flows: unknown[] = []): Promise<void> {
    await nr.setFlows(flows);
    await editor.load(nr);
  }

  /** A flow with one AT line `L1`, a new `type` node dropped on it, its dialog open with the line chosen: the node's id. */
  async function newNodeDialog(page: Page, type: string): Promise<string> {
    await reset([lineFlowNode('L1', 'sim:ec600n')]);
    await page.dragAndDrop(`.red-ui-palette-node[data-palette-type="${type}"]`, '#red-ui-workspace-chart', { targetPosition: { x: 300, y: 200 } });
    const id = await nodeId(page, type);
    await page.dblclick(`[id="${id}"] .red-ui-flow-node`);
    await trayBuilt(page);
    await page.selectOption('#node-input-line', 'L1');
    return id;
  }

  /**
   * Clicks the line's add or edit button in the open node dialog and waits for the line's dialog to
   * show `field`; when it does not, the error says what the editor shows instead.
   */
  async function openLineDialog(button: 'add' | 'edit', field: string): Promise<void> {
    await page.click(`#node-input-btn-line-${button}`);
    try {
      await trayBuilt(page, '#node-config-dialog-ok');
      await page.waitForSelector(`#node-config-input-${field}`, { state: 'visible' });
    } catch (err) {
      const shown = await page.evaluate(() => ({
        trays: $('.red-ui-tray').map(function (this: { style: { right: string } }) { return `${$(this).find('.red-ui-tray-breadcrumbs').text()} (right ${this.style.right})`; }).get(),
        backend: $('#node-config-input-backend').val(),
        notifications: $('.red-ui-notification').map(function (this: unknown) { return $(this).text(); }).get(),
      }));
      throw new Error(`${(err as Error).message.split('\n')[0]}; the editor shows ${JSON.stringify(shown)}`);
    }
  }

  it('the voice palette has every node of the package', async function () {
    const shown = await page.evaluate(() =>
      $('#red-ui-palette-container-voice .red-ui-palette-node').map(function (this: unknown) { return $(this).attr('data-palette-type'); }).get(),
    );
    assert.deepEqual([...shown].sort(), [...FLOW_TYPES].sort());
    const labels = await page.evaluate(() =>
      $('#red-ui-palette-container-voice .red-ui-palette-label').map(function (this: unknown) { return $(this).text().trim(); }).get(),
    );
    assert.equal(labels.length, FLOW_TYPES.length);
    for (const l of labels) assert.ok(l.length > 0, 'each palette node has a label');
    assert.deepEqual(await page.evaluate(() => RED.nodes.getType('voice-line')?.category), 'config');
  });

  it('each node has its help in the help sidebar', async function () {
    for (const type of TYPES) {
      // The first sentence of the node's help, as written in its .html.
      const html = fs.readFileSync(path.join(ROOT, 'nodes', `${type}.html`), 'utf8');
      const help = /data-help-name="[^"]+">\s*<p>([\s\S]*?)<\/p>/.exec(html);
      assert.ok(help, `${type}.html has help`);
      const firstWords = help[1].replace(/<[^>]+>/g, '').replace(/\s+/g, ' ').trim().split(' ').slice(0, 6).join(' ');
      await page.evaluate((t) => {
        RED.sidebar.show('help');
        RED.sidebar.help.show(t);
      }, type);
      await page.waitForFunction(
        ([words]) => $('.red-ui-help').text().replace(/\s+/g, ' ').includes(words),
        [firstWords] as const,
        { timeout: 10000 },
      ).catch(() => {
        throw new Error(`the help of ${type} does not show "${firstWords}"`);
      });
    }
  });

  it('each node\'s dialog flags a missing line at once, accepts a chosen one, and checks its own fields', async function () {
    await reset([lineFlowNode('L1', 'sim:ec600n')]);
    // A bad and a good value of a field the user types into, where the node has one.
    const FIELDS: Record<string, [string, string, string]> = {
      'voice-dial': ['#node-input-number', 'abc;1', '5551234'],
      'voice-dtmf': ['#node-input-digits', 'xyz', '123#'],
      'voice-forward': ['#node-input-number', '12;34', '+49 30 1234'],
    };
    let x = 200;
    for (const type of FLOW_TYPES) {
      // Drag the node from the palette onto the canvas, as a user does.
      await page.dragAndDrop(`.red-ui-palette-node[data-palette-type="${type}"]`, '#red-ui-workspace-chart', { targetPosition: { x, y: 200 } });
      x += 40;
      const id = await nodeId(page, type);
      await page.dblclick(`[id="${id}"] .red-ui-flow-node`);
      await page.waitForSelector('#node-input-line', { state: 'attached' });
      await trayBuilt(page);
      // No line chosen ("Add new voice-line…"): flagged.
      await page.selectOption('#node-input-line', '_ADD_');
      await page.waitForSelector('#node-input-line.input-error', { timeout: 5000 });
      await page.selectOption('#node-input-line', 'L1');
      await page.waitForSelector('#node-input-line:not(.input-error)', { timeout: 5000 });
      const field = FIELDS[type];
      if (type === 'voice-forward') await page.selectOption('#node-input-mode', 'divert'); // the mode that asks for a number
      if (field) {
        const [sel, bad, good] = field;
        const mark = await errorMarkOf(page, sel);
        await typeInto(page, sel, bad);
        await page.waitForSelector(`${mark}.input-error`, { timeout: 5000, state: 'attached' }).catch(() => {
          throw new Error(`${type}: ${sel} "${bad}" is not flagged`);
        });
        await typeInto(page, sel, good);
        await page.waitForSelector(`${mark}:not(.input-error)`, { timeout: 5000, state: 'attached' });
      }
      await page.click('#node-dialog-ok');
      await page.waitForSelector('#node-dialog-ok', { state: 'detached' });
      assert.equal(await page.evaluate((i) => RED.nodes.node(i).valid, id), true, `${type} is valid after Done`);
    }
    assert.deepEqual(await invalidNodes(page), []);
    assert.equal(await redTriangles(page), 0);
  });

  it('the line\'s dialog shows and checks the fields of the backend chosen in it', async function () {
    await reset();
    await page.dragAndDrop('.red-ui-palette-node[data-palette-type="voice-dial"]', '#red-ui-workspace-chart', { targetPosition: { x: 300, y: 200 } });
    const id = await nodeId(page, 'voice-dial');
    await page.dblclick(`[id="${id}"] .red-ui-flow-node`);
    await trayBuilt(page);
    await openLineDialog('add', 'backend');
    const flagged = (field: string) => page.evaluate((f) => $(`#node-config-input-${f}`).hasClass('input-error'), field);
    const visible = (field: string) => page.evaluate((f) => $(`#node-config-input-${f}`).is(':visible'), field);
    const value = (field: string) => page.evaluate((f) => $(`#node-config-input-${f}`).val(), field);
    const expectFlags = async (want: Record<string, boolean>) => {
      await page.waitForFunction((w) => Object.entries(w).every(([f, on]) => $(`#node-config-input-${f}`).hasClass('input-error') === on), want, { timeout: 5000 })
        .catch(async () => {
          const got: Record<string, boolean> = {};
          for (const f of Object.keys(want)) got[f] = await flagged(f);
          assert.deepEqual(got, want, 'the fields flagged');
        });
    };

    // AT (the default): the serial port is needed, the SIP fields are not shown and not checked.
    assert.equal(await value('backend'), 'at');
    assert.equal(await visible('serialPort'), true);
    assert.equal(await visible('server'), false);
    assert.equal(await value('baudRate'), '115200');
    await expectFlags({ serialPort: true, server: false, username: false });
    await typeInto(page, '#node-config-input-serialPort', 'sim:ec600n');
    await expectFlags({ serialPort: false });

    // Switch to SIP in the dialog: the SIP fields show with their defaults, an empty server and user flagged at once.
    await page.selectOption('#node-config-input-backend', 'sip');
    assert.equal(await visible('server'), true);
    assert.equal(await visible('serialPort'), false);
    assert.deepEqual(
      [await value('localPort'), await value('rtpPortMin'), await value('rtpPortMax'), await value('maxCalls'), await value('transport'), await value('mediaWorkers'), await value('mediaPriority')],
      ['5060', '10000', '20000', '0', 'udp', 'auto', 'normal'],
    );
    await expectFlags({ server: true, username: true, serialPort: false });
    await typeInto(page, '#node-config-input-server', '127.0.0.1:5090');
    await typeInto(page, '#node-config-input-username', '1001');
    await expectFlags({ server: false, username: false });
    await typeInto(page, '#node-config-input-outboundProxy', 'a b');
    await expectFlags({ outboundProxy: true });
    await typeInto(page, '#node-config-input-outboundProxy', 'sbc.example.com:5060');
    await expectFlags({ outboundProxy: false });
    await typeInto(page, '#node-config-input-rtpPortMin', '30000');
    await expectFlags({ rtpPortMin: true, rtpPortMax: true });
    await typeInto(page, '#node-config-input-rtpPortMin', '15000');
    await expectFlags({ rtpPortMin: false, rtpPortMax: false });
    await typeInto(page, '#node-config-input-localPort', '70000');
    await expectFlags({ localPort: true });
    await typeInto(page, '#node-config-input-localPort', '5090');
    await expectFlags({ localPort: false });
    // Media workers: auto, or a whole number 0–64.
    await typeInto(page, '#node-config-input-mediaWorkers', 'many');
    await expectFlags({ mediaWorkers: true });
    await typeInto(page, '#node-config-input-mediaWorkers', '65');
    await expectFlags({ mediaWorkers: true });
    await typeInto(page, '#node-config-input-mediaWorkers', '0');
    await expectFlags({ mediaWorkers: false });

    // Back to AT: the SIP fields are not checked any more; an empty serial port is.
    await typeInto(page, '#node-config-input-server', '');
    await page.selectOption('#node-config-input-backend', 'at');
    await typeInto(page, '#node-config-input-serialPort', '');
    await expectFlags({ serialPort: true, server: false });
    await typeInto(page, '#node-config-input-serialPort', 'sim:ec600n');
    await expectFlags({ serialPort: false });

    await page.click('#node-config-dialog-ok');
    await page.waitForSelector('#node-config-dialog-ok', { state: 'detached' });
    await page.click('#node-dialog-ok');
    await page.waitForSelector('#node-dialog-ok', { state: 'detached' });
    assert.deepEqual(await invalidNodes(page), []);
    const line = await page.evaluate(() => {
      let l: any; // eslint-disable-line @typescript-eslint/no-explicit-any
      RED.nodes.eachConfig((n: any) => { if (n.type === 'voice-line') l = n; }); // eslint-disable-line @typescript-eslint/no-explicit-any
      return { backend: l.backend, serialPort: l.serialPort, valid: l.valid };
    });
    assert.deepEqual(line, { backend: 'at', serialPort: 'sim:ec600n', valid: true });
  });

  it('a flow that leaves settings out (written by hand, or older) opens with no node flagged; its AT line switched to SIP gets the SIP defaults', async function () {
    // Only what each backend needs: the runtime takes the defaults for the rest.
    const flows = [
      { id: 'T1', type: 'tab', label: 'minimal' },
      { id: 'LA', type: 'voice-line', backend: 'at', serialPort: 'sim:ec600n' },
      { id: 'LS', type: 'voice-line', backend: 'sip', server: '127.0.0.1:5999', username: '1001', register: false },
      { id: 'EV', type: 'voice-events', z: 'T1', line: 'LA', x: 200, y: 100, wires: [[]] },
      // voice-dial's ring timeout is required (missing, the runtime would let it ring with no limit).
      { id: 'DA', type: 'voice-dial', z: 'T1', line: 'LA', number: '5551234', ringTimeout: 30, x: 200, y: 200, wires: [[], []] },
      { id: 'DS', type: 'voice-dial', z: 'T1', line: 'LS', ringTimeout: 30, x: 200, y: 300, wires: [[], []] },
    ];
    await reset(flows);
    assert.deepEqual(await invalidNodes(page), []);
    assert.equal(await redTriangles(page), 0);
    await page.dblclick('[id="DA"] .red-ui-flow-node');
    await trayBuilt(page);
    await openLineDialog('edit', 'backend');
    assert.equal(await page.inputValue('#node-config-input-baudRate'), '115200', 'the AT default shown');
    await page.selectOption('#node-config-input-backend', 'sip');
    const values = await page.evaluate(() =>
      ['localPort', 'rtpPortMin', 'rtpPortMax', 'maxCalls', 'transport', 'codecs', 'dtmfMode', 'incomingRefer', 'sessionExpires', 'sessionRefresher', 'mediaWorkers'].map((f) => $(`#node-config-input-${f}`).val()),
    );
    assert.deepEqual(values, ['5060', '10000', '20000', '0', 'udp', 'PCMU,PCMA', 'rfc4733', 'refuse', '1800', 'auto', 'auto']);
    await page.click('#node-config-dialog-cancel');
    await page.waitForSelector('#node-config-dialog-cancel', { state: 'detached' });
    await page.click('#node-dialog-cancel');
    await page.waitForSelector('#node-dialog-cancel', { state: 'detached' });
    // The SIP line saved without a local port binds any free port: its dialog says 0, not a new line's 5060.
    await page.dblclick('[id="DS"] .red-ui-flow-node');
    await trayBuilt(page);
    await openLineDialog('edit', 'server');
    assert.deepEqual(
      await page.evaluate(() => ['localPort', 'rtpPortMin', 'rtpPortMax', 'maxCalls'].map((f) => $(`#node-config-input-${f}`).val())),
      ['0', '10000', '20000', '0'],
    );
    assert.equal(await page.isChecked('#node-config-input-register'), false, 'the saved trunk mode kept');
    await page.click('#node-config-dialog-cancel');
    await page.waitForSelector('#node-config-dialog-cancel', { state: 'detached' });
    await page.click('#node-dialog-cancel');
    await page.waitForSelector('#node-dialog-cancel', { state: 'detached' });
  });

  it("voice-dial's call analysis: a dial saved without it opens unflagged with the defaults; the detect options show only for detect machine; a bad timeout is flagged", async function () {
    await reset([
      { id: 'T1', type: 'tab', label: 'analysis' },
      lineFlowNode('L1', 'sim:ec600n'),
      // Saved before the analysis settings existed: none of them.
      { id: 'DO', type: 'voice-dial', z: 'T1', line: 'L1', number: '5551234', numberType: 'str', ringTimeout: 30, x: 200, y: 100, wires: [[], []] },
    ]);
    assert.deepEqual(await invalidNodes(page), []);
    assert.equal(await redTriangles(page), 0);
    await page.dblclick('[id="DO"] .red-ui-flow-node');
    await trayBuilt(page);
    const shown = () => page.evaluate(() => ({
      detect: $('#node-input-detect').val(),
      detectTimeout: $('#node-input-detectTimeout').val(),
      detectStart: $('#node-input-detectStart').val(),
      detectResult: $('#node-input-detectResult').val(),
      tones: $('#node-input-tones').is(':checked'),
      sitEndsCall: $('#node-input-sitEndsCall').is(':checked'),
      optionsVisible: $('#node-input-detectTimeout').is(':visible'),
    }));
    assert.deepEqual(await shown(), { detect: 'off', detectTimeout: '5', detectStart: 'answer', detectResult: 'wait', tones: true, sitEndsCall: true, optionsVisible: false });
    await page.selectOption('#node-input-detect', 'machine');
    assert.equal((await shown()).optionsVisible, true, 'the detect options shown for detect machine');
    const timeoutFlagged = (on: boolean) =>
      page.waitForFunction((want) => $('#node-input-detectTimeout').hasClass('input-error') === want, on, { timeout: 5000 });
    for (const bad of ['0', '31', 'soon']) {
      await typeInto(page, '#node-input-detectTimeout', bad);
      await timeoutFlagged(true).catch(() => {
        throw new Error(`a detect timeout "${bad}" is not flagged`);
      });
    }
    await typeInto(page, '#node-input-detectTimeout', '8');
    await timeoutFlagged(false);
    await page.selectOption('#node-input-detectResult', 'event');
    await page.click('#node-dialog-ok');
    await page.waitForSelector('#node-dialog-ok', { state: 'detached' });
    const saved = await page.evaluate(() => {
      const n = RED.nodes.node('DO') as any; // eslint-disable-line @typescript-eslint/no-explicit-any
      return { valid: n.valid, detect: n.detect, detectTimeout: String(n.detectTimeout), detectResult: n.detectResult, tones: n.tones, sitEndsCall: n.sitEndsCall };
    });
    assert.deepEqual(saved, { valid: true, detect: 'machine', detectTimeout: '8', detectResult: 'event', tones: true, sitEndsCall: true });
    // Detection off again: the hidden timeout is not checked, even a bad one.
    await page.dblclick('[id="DO"] .red-ui-flow-node');
    await trayBuilt(page);
    await typeInto(page, '#node-input-detectTimeout', '0');
    await timeoutFlagged(true);
    await page.selectOption('#node-input-detect', 'off');
    await timeoutFlagged(false);
    assert.equal((await shown()).optionsVisible, false);
    await page.click('#node-dialog-cancel');
    await page.waitForSelector('#node-dialog-cancel', { state: 'detached' });
    assert.deepEqual(await invalidNodes(page), []);
  });

  it("voice-detect's dialog: timeout 5 s and start at the answer by default, a timeout outside 1–30 s flagged", async function () {
    const id = await newNodeDialog(page, 'voice-detect');
    assert.deepEqual(
      await page.evaluate(() => [$('#node-input-detectTimeout').val(), $('#node-input-detectStart').val()]),
      ['5', 'answer'],
    );
    const flagged = (on: boolean) => page.waitForFunction((want) => $('#node-input-detectTimeout').hasClass('input-error') === want, on, { timeout: 5000 });
    for (const bad of ['0.5', '31', 'x']) {
      await typeInto(page, '#node-input-detectTimeout', bad);
      await flagged(true).catch(() => {
        throw new Error(`a voice-detect timeout "${bad}" is not flagged`);
      });
    }
    await typeInto(page, '#node-input-detectTimeout', '12');
    await flagged(false);
    await page.selectOption('#node-input-detectStart', 'connect');
    await page.click('#node-dialog-ok');
    await page.waitForSelector('#node-dialog-ok', { state: 'detached' });
    const saved = await page.evaluate((i) => {
      const n = RED.nodes.node(i) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
      return [n.valid, String(n.detectTimeout), n.detectStart, n.line];
    }, id);
    assert.deepEqual(saved, [true, '12', 'connect', 'L1']);
  });

  it("voice-conference's dialog: join shows the room and the join options, leave neither, end and mute-all the room only; a bad leave, mute or unmute key, talk threshold, tag or whisper tag is flagged", async function () {
    const id = await newNodeDialog(page, 'voice-conference');
    const shown = () => page.evaluate(() => ({
      action: $('#node-input-action').val(),
      room: $('#node-input-room').is(':visible'),
      // The join rows all shown, or none: 'all' / 'none' ('some' would be a row left behind).
      joinOptions: (function () {
        const v = $('.voice-conference-join').map(function (this: unknown) { return $(this).is(':visible'); }).get();
        return v.every(Boolean) ? 'all' : v.some(Boolean) ? 'some' : 'none';
      })(),
    }));
    assert.deepEqual(await shown(), { action: 'join', room: true, joinOptions: 'all' });
    await page.selectOption('#node-input-action', 'leave');
    assert.deepEqual(await shown(), { action: 'leave', room: false, joinOptions: 'none' });
    await page.selectOption('#node-input-action', 'end');
    assert.deepEqual(await shown(), { action: 'end', room: true, joinOptions: 'none' });
    await page.selectOption('#node-input-action', 'mute-all');
    assert.deepEqual(await shown(), { action: 'mute-all', room: true, joinOptions: 'none' });
    await page.selectOption('#node-input-action', 'join');
    await badThenGood(page, [['#node-input-leaveDigit', 'x', '#'], ['#node-input-muteDigit', 'x', '5'], ['#node-input-unmuteDigit', 'x', '6'], ['#node-input-talkThreshold', '10', '-40'], ['#node-input-tags', 'agent, two words', 'agent, sales'], ['#node-input-whisperTo', 'a,b', 'coach']]);
    await typeInto(page, '#node-input-room', 'demo');
    await page.check('#node-input-beepOnEntry');
    await page.click('#node-dialog-ok');
    await page.waitForSelector('#node-dialog-ok', { state: 'detached' });
    const saved = await page.evaluate((i) => {
      const n = RED.nodes.node(i) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
      return [n.valid, n.action, n.room, n.leaveDigit, n.muteDigit, n.unmuteDigit, String(n.talkThreshold), n.beepOnEntry, n.line, n.tags, n.whisperTo];
    }, id);
    assert.deepEqual(saved, [true, 'join', 'demo', '#', '5', '6', '-40', true, 'L1', 'agent, sales', 'coach']);
  });

  it("voice-conference's media and room rows: shown for join only; a media that is neither a tone nor a .wav, max parties 0, a record path not .wav are flagged; Done saves them", async function () {
    const id = await newNodeDialog(page, 'voice-conference');
    const rows = () => page.evaluate(() => $('.voice-conference-media').map(function (this: unknown) { return $(this).is(':visible'); }).get());
    assert.deepEqual(await rows(), [true, true, true, true]);
    await page.selectOption('#node-input-action', 'leave');
    assert.deepEqual(await rows(), [false, false, false, false]);
    await page.selectOption('#node-input-action', 'join');
    await badThenGood(page, [
      ['#node-input-prefixMedia', 'hello', 'name.wav'],
      ['#node-input-entryMedia', 'beep:x', 'beep:300'],
      ['#node-input-exitMedia', 'dtmf:', 'dtmf:12#'],
      ['#node-input-waitMedia', 'music.mp3', 'hold.wav'],
      ['#node-input-maxParties', '0', '5'],
      ['#node-input-maxParties', '1001', '5'],
      ['#node-input-record', 'room.mp3', 'rooms/room.wav'],
    ]);
    await typeInto(page, '#node-input-folder', '/tmp/rooms');
    await page.click('#node-dialog-ok');
    await page.waitForSelector('#node-dialog-ok', { state: 'detached' });
    const saved = await page.evaluate((i) => {
      const n = RED.nodes.node(i) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
      return [n.valid, n.prefixMedia, n.entryMedia, n.exitMedia, n.waitMedia, String(n.maxParties), n.record, n.folder];
    }, id);
    assert.deepEqual(saved, [true, 'name.wav', 'beep:300', 'dtmf:12#', 'hold.wav', '5', 'rooms/room.wav', '/tmp/rooms']);
  });

  for (const example of EXAMPLES) {
    it(`Import → Examples → ${example}: no node flagged, deploys with no warning, its lines come up`, async function () {
      await reset();
      await importExample(page, example);
      assert.deepEqual(await invalidNodes(page), [], 'no node flagged invalid');
      assert.equal(await redTriangles(page), 0, 'no red triangle');
      const notices = await deploy(page);
      assert.deepEqual(notices.filter((n) => !/Successfully deployed/.test(n)), [], 'no warning on Deploy');
      // Every voice node shows its line's state; none shows an error.
      for (const type of FLOW_TYPES) {
        if ((await statusTexts(page, type)).length > 0) await waitStatus(page, type, /^(ready|registered|connected|in call|ringing)/, 30000);
      }
      await doesWhatItsCommentSays(page, example);
    });
  }

  it('the voice sidebar lists the line and its live call, and its hang-up button ends the call', async function () {
    const tab = { id: 'tab1', type: 'tab', label: 'sidebar' };
    await reset([
      tab,
      { ...lineFlowNode('line1', 'sim:ec600n'), name: 'desk phone' },
      { id: 'ev', type: 'voice-events', z: 'tab1', name: '', line: 'line1', events: [], x: 150, y: 60, wires: [[]] },
      { id: 'go', type: 'inject', z: 'tab1', name: 'call', props: [], repeat: '', once: false, topic: '', x: 150, y: 120, wires: [['dial']] },
      { id: 'dial', type: 'voice-dial', z: 'tab1', name: '', line: 'line1', number: '5551234', ringTimeout: 30, x: 350, y: 120, wires: [[], []] },
    ]);
    await page.evaluate(() => RED.sidebar.show('voice-calls'));
    const sidebar = page.locator('.voice-calls');
    await sidebar.locator('.voice-calls-line', { hasText: 'desk phone' }).waitFor({ timeout: 15000 });
    await page.waitForFunction(() => /ready/.test($('.voice-calls-status').text()), undefined, { timeout: 15000 });
    assert.match(await sidebar.locator('.voice-calls-status').innerText(), /Quectel EC600N/);
    await pressInject(page, 'call');
    const row = sidebar.locator('.voice-calls-call', { hasText: '5551234' });
    await row.locator('.voice-calls-state', { hasText: 'active' }).waitFor({ timeout: 15000 });
    assert.equal(await row.locator('.voice-calls-last').innerText(), 'answered');
    assert.match(await row.locator('.voice-calls-duration').innerText(), /^0:0\d$/);
    await row.locator('.voice-calls-hangup').click();
    await sidebar.locator('.voice-calls-none').waitFor({ timeout: 15000 });
    assert.equal(await sidebar.locator('.voice-calls-call').count(), 0);
  });

  it("the line's dialog lists the serial ports with the emulator's, and shows the deployed line's state", async function () {
    await reset([{ id: 'tab1', type: 'tab', label: 'dialog' }, lineFlowNode('line1', 'sim:generic'),
      { id: 'ev', type: 'voice-events', z: 'tab1', name: '', line: 'line1', events: [], x: 150, y: 60, wires: [[]] }]);
    await page.evaluate(() => RED.editor.editConfig('', 'voice-line', 'line1'));
    await page.waitForFunction(() => /ready/.test($('#voice-line-live').text()), undefined, { timeout: 15000 });
    assert.match(await page.locator('#voice-line-live').innerText(), /no calls/);
    await page.waitForFunction(() => $('#voice-line-sim-ports option[value="sim:ec25"]').length === 1, undefined, { timeout: 15000 });
    const ports = await page.evaluate(() => $('#voice-line-sim-ports option').map(function (this: { value: string }) { return this.value; }).get());
    for (const p of ['sim:ec600n', 'sim:ec200u', 'sim:ec25', 'sim:generic', 'sim:ec600n?demo=20']) assert.ok(ports.includes(p), `${p} in ${ports.join(' ')}`);
    await page.click('#node-config-dialog-cancel');
  });

  it('the demo flow (npm start): statuses follow the calls as they come and go', async function () {
    const demo = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts', 'demo-flow.json'), 'utf8'));
    await reset(demo);
    assert.deepEqual(await invalidNodes(page), []);
    assert.equal(await redTriangles(page), 0);
    await waitStatus(page, 'voice-answer', /^ready/);
    // The emulator's first demo call comes 5 s after the line is up: answered, hung up 5 s later.
    const seen = await watchStatuses(page, 'voice-answer', (texts) => texts.includes('in call') && texts[texts.length - 1].startsWith('ready'), 40000);
    assert.ok(seen.indexOf('in call') > 0, `voice-answer: ${JSON.stringify(seen)}`);
    // The inject dials 5551234: voice-dial rings, is in call, and is ready again after the hang-up.
    await pressInject(page, 'dial');
    const dial = await watchStatuses(page, 'voice-dial', (texts) => texts.includes('in call') && texts[texts.length - 1].startsWith('ready'), 30000);
    assert.ok(dial.includes('in call'), `voice-dial: ${JSON.stringify(dial)}`);
    await page.evaluate(() => RED.sidebar.show('debug'));
    // voice-dial's output 1 goes to the debug node "answered".
    await page.waitForFunction(() => $('.red-ui-debug-msg-name').text().includes('node: answered'), undefined, { timeout: 10000 });
    const messages = await debugMessages(page);
    assert.ok(messages.some((m) => m.node === 'answered' && m.topic === 'answered'), `the debug sidebar: ${JSON.stringify(messages)}`);
  });
});

/** A voice-line flow node with every setting (as the examples carry them). */
function lineFlowNode(id: string, serialPort: string): Record<string, unknown> {
  return {
    id, type: 'voice-line', name: '', backend: 'at', serialPort, baudRate: 115200, modem: 'auto', pcmPort: '', server: '', transport: 'udp',
    username: '', domain: '', displayName: '', register: true, localPort: 5060, rtpPortMin: 10000, rtpPortMax: 20000, outboundProxy: '',
    codecs: 'PCMU,PCMA', dtmfMode: 'rfc4733', maxCalls: 0, incomingRefer: 'refuse', sessionExpires: 1800, sessionRefresher: 'auto', tlsVerify: true, tlsCa: '', autoAnswer: 0,
    autoReject: false, resetOnHang: false,
  };
}

/** Menu → Import → Examples → this package → `name` → Import, then a click on the canvas drops the nodes. */
export async function importExample(page: Page, name: string): Promise<void> {
  await page.click('#red-ui-header-button-sidemenu');
  await page.click('#menu-item-import');
  await page.click('#red-ui-clipboard-dialog-import-tab-examples a, a[href="#red-ui-clipboard-dialog-import-tab-examples"]');
  const tab = page.locator('#red-ui-clipboard-dialog-import-tab-examples');
  await tab.getByText(PKG.name, { exact: true }).click();
  // A click on the example fetches its flow and then enables Import; on a busy machine a click that
  // lands while the tree still expands selects nothing, so it is made again until Import is enabled.
  for (let attempt = 1; ; attempt++) {
    await tab.getByText(name, { exact: true }).click();
    try {
      await page.waitForSelector('#red-ui-clipboard-dialog-ok:enabled', { timeout: 15_000 });
      break;
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
  await page.click('#red-ui-clipboard-dialog-ok');
  await page.waitForSelector('#red-ui-clipboard-dialog-ok', { state: 'hidden' });
  // The editor imports after its dialog closed; on a busy machine that is later than the next steps
  // (a click meant to place the nodes that lands before them, a Deploy with nothing to deploy). The
  // import is done when the nodes follow the mouse (they do until a click places them).
  await page.waitForFunction(() => RED.view.state() === RED.state.IMPORT_DRAGGING);
  const box = (await page.locator('#red-ui-workspace-chart').boundingBox())!;
  await page.mouse.move(box.x + 150, box.y + 100);
  await page.mouse.click(box.x + 150, box.y + 100);
  await page.waitForFunction(() => RED.view.state() === RED.state.DEFAULT);
}

/** Polls the status text of the one node of `type` until `done(texts seen)`; returns the distinct texts in order. */
async function watchStatuses(page: Page, type: string, done: (texts: string[]) => boolean, timeout: number): Promise<string[]> {
  const seen: string[] = [];
  const deadline = Date.now() + timeout;
  for (;;) {
    const [text] = await statusTexts(page, type);
    if (text !== undefined && seen[seen.length - 1] !== text) seen.push(text);
    if (done(seen)) return seen;
    if (Date.now() > deadline) throw new Error(`${type}: statuses ${JSON.stringify(seen)} in ${timeout} ms`);
    await page.waitForTimeout(100);
  }
}

/** For the examples a person tries by clicking: the click does what the comment says. */
async function doesWhatItsCommentSays(page: Page, example: string): Promise<void> {
  if (example === 'dial-out') {
    await pressInject(page, 'call 5551234');
    await page.waitForFunction(() => $('.red-ui-debug-msg-name').text().includes('node: answered'), undefined, { timeout: 20000 });
  }
  if (example === 'leave-a-message') {
    // 2002 answers as a machine: the answered message carries its verdict, then its beep, then 1001 plays the message and hangs up.
    await pressInject(page, 'call 2002');
    await page.waitForFunction(() => $('.red-ui-debug-msg-topic').text().includes('ended'), undefined, { timeout: 45000 });
    const topics = (await debugMessages(page)).map((m) => m.topic);
    for (const t of ['answered', 'far-end', 'beep', 'ended']) assert.ok(topics.includes(t), `the debug sidebar shows ${t}: ${topics.join(', ')}`);
    assert.ok(topics.indexOf('beep') < topics.indexOf('ended'), topics.join(', '));
    // Open the answered message's payload in the debug sidebar, as a user does, and read it.
    await page.evaluate(() => RED.sidebar.show('debug'));
    const answered = await page.evaluate(() => {
      const msg = $('.red-ui-debug-msg').filter(function (this: unknown) {
        return $(this).find('.red-ui-debug-msg-topic').first().text().includes('answered');
      }).first();
      msg.find('.red-ui-debug-msg-expandable').first().trigger('click');
      msg.find('.red-ui-debug-msg-object-key').filter(function (this: unknown) { return $(this).text() === 'payload'; })
        .last().closest('.red-ui-debug-msg-expandable').trigger('click');
      return msg.text();
    });
    assert.match(answered, /farEnd[^,]*machine/, `the answered message says machine: ${answered}`);
  }
  if (example === 'conference-room') {
    // Caller 1 dials 2002, which answers and joins the call to room demo: the room starts.
    await pressInject(page, 'caller 1');
    await page.waitForFunction(() => $('.red-ui-debug-msg-topic').text().includes('room-start'), undefined, { timeout: 30000 });
    const topics = (await debugMessages(page)).filter((m) => m.node === 'room events').map((m) => m.topic).filter((t) => t !== 'talking' && t !== 'silent');
    assert.deepEqual(topics.slice(0, 2), ['join', 'room-start']);
  }
  if (example === 'all-events') {
    // The emulator's demo call rings in (5 s after the line is up); a click then still dials.
    await waitStatus(page, 'voice-events', /^ringing/, 30000);
    await pressInject(page, 'call 5551234');
    // voice-dial follows its own call: "in call" is the dialled call answered.
    await watchStatuses(page, 'voice-dial', (t) => t.includes('in call'), 20000);
    await page.waitForFunction(() => $('.red-ui-debug-msg-topic').text().includes('answered'), undefined, { timeout: 10000 });
    // The debug sidebar: the incoming call, its end (declined), then the outgoing call's progress.
    const topics = (await debugMessages(page)).map((m) => m.topic).filter((t) => !t.startsWith('line-'));
    assert.deepEqual(topics.slice(0, 5), ['incoming', 'ended', 'dialing', 'ringing', 'answered']);
  }
}
