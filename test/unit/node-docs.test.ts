// docs/nodes.md's per-node reference is generated from each node's help (scripts/node-docs.ts):
// this fails when the two differ, so that they cannot drift apart.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BEGIN, END, helpToMarkdown, nodeTypes, renderNodesDoc } from '../../scripts/node-docs';

const root = path.resolve(__dirname, '..', '..', '..');

describe('node docs generator (scripts/node-docs.ts)', () => {
  it('docs/nodes.md is what `npm run docs:nodes` writes from the node help', () => {
    const current = fs.readFileSync(path.join(root, 'docs', 'nodes.md'), 'utf8');
    assert.ok(
      renderNodesDoc(root) === current,
      'docs/nodes.md differs from the node help in nodes/*.html: run `npm run docs:nodes` and commit docs/nodes.md',
    );
  });

  it('the generated part has every node of package.json, in palette order', () => {
    const current = fs.readFileSync(path.join(root, 'docs', 'nodes.md'), 'utf8');
    const generated = current.slice(current.indexOf(BEGIN), current.indexOf(END));
    const headings = [...generated.matchAll(/^### (\S+)$/gm)].map((m) => m[1]);
    assert.deepEqual(headings, nodeTypes(root));
  });

  it('converts the tags the help uses', () => {
    const md = helpToMarkdown(`
      <p>Plays <b>audio</b> into a <i>call</i>: <code>AT+VTS="1",&lt;n&gt;</code> &amp; <a href="https://x.example/">more</a>.</p>
      <h3>Inputs</h3>
      <dl class="message-properties">
        <dt class="optional">call <span class="property-type">object | string</span></dt>
        <dd>The   call,
            or its id.</dd>
        <dt>topic</dt><dd>kept</dd>
      </dl>
      <ol class="node-ports"><li>Answered<dl><dt>call</dt><dd>the call</dd></dl></li></ol>
      <ul><li>one, *not* emphasis</li></ul>`);
    assert.equal(
      md,
      [
        'Plays **audio** into a *call*: `AT+VTS="1",<n>` & [more](https://x.example/).',
        '#### Inputs',
        '- **call** (object | string, optional): The call, or its id.\n- **topic**: kept',
        '1. Answered\n   - **call**: the call',
        '- one, \\*not\\* emphasis',
      ].join('\n\n'),
    );
  });

  it('refuses a tag it does not convert, and a tag left open', () => {
    assert.throws(() => helpToMarkdown('<p>a <img src="x"></p>'), /<img>/);
    assert.throws(() => helpToMarkdown('<p>a <b>b</p>'), /closes <b>/);
    assert.throws(() => helpToMarkdown('<p>a'), /not closed/);
  });
});
