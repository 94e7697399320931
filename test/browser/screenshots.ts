/**
 * `npm run screenshots`: regenerates the README's pictures of the editor (docs/img/*.png) with the
 * browser suite's machinery: a real Node-RED with the `npm start` demo flow, Debian's chromium.
 * Each picture is taken at a moment the flow reaches by itself (a call in progress), not after a
 * fixed time.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CHROMIUM, Editor, NodeRed, ROOT } from './editor-harness';

const OUT = path.join(ROOT, 'docs', 'img');

async function waitStatus(editor: Editor, type: string, text: RegExp, timeout = 60000): Promise<void> {
  await editor.page.waitForFunction(
    ([t, source]) => {
      const re = new RegExp(source);
      let ok = false;
      RED.nodes.eachNode((n: any) => { // eslint-disable-line @typescript-eslint/no-explicit-any
        if (n.type === t && re.test($('[id="' + n.id + '"] .red-ui-flow-node-status-label').text())) ok = true;
      });
      return ok;
    },
    [type, text.source] as const,
    { timeout },
  );
}

async function main(): Promise<void> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install chromium (or set CHROMIUM_PATH)`);
  fs.mkdirSync(OUT, { recursive: true });
  const demo = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts', 'demo-flow.json'), 'utf8'));
  const nr = await NodeRed.start(demo);
  const editor = await Editor.open(nr, { width: 1440, height: 620 });
  try {
    const { page } = editor;
    await page.evaluate(() => RED.sidebar.show('debug'));
    // The demo: the emulator's call comes in and is answered; the picture shows it in call, with the
    // debug sidebar's events.
    await waitStatus(editor, 'voice-answer', /^in call/);
    await page.waitForFunction(() => $('.red-ui-debug-msg-topic').text().includes('answered'));
    await page.mouse.move(0, 0);
    await page.screenshot({ path: path.join(OUT, 'demo-flow.png') });
    console.log(`wrote ${path.relative(ROOT, path.join(OUT, 'demo-flow.png'))}`);

    // The voice sidebar: the line and the call in progress (the demo's next call, answered).
    await page.evaluate(() => RED.sidebar.show('voice-calls'));
    await page.waitForSelector('.voice-calls-call .voice-calls-state:text("active")', { timeout: 60000 });
    await page.mouse.move(0, 0);
    await page.screenshot({ path: path.join(OUT, 'voice-sidebar.png') });
    console.log(`wrote ${path.relative(ROOT, path.join(OUT, 'voice-sidebar.png'))}`);

    // The line's dialog, SIP chosen: the fields of that backend, an empty server flagged.
    const lineId = demo.find((n: { type: string }) => n.type === 'voice-line').id;
    await page.evaluate((id) => RED.editor.editConfig('', 'voice-line', id), lineId);
    await page.waitForSelector('#node-config-input-backend', { state: 'visible' });
    await page.selectOption('#node-config-input-backend', 'sip');
    await page.waitForSelector('#node-config-input-server.input-error');
    await page.screenshot({ path: path.join(OUT, 'line-dialog-sip.png') });
    console.log(`wrote ${path.relative(ROOT, path.join(OUT, 'line-dialog-sip.png'))}`);
  } finally {
    await editor.close();
    await nr.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
