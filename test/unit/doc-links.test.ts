// Every relative link in README.md and docs/*.md leads to a file of the repository (and, into a
// Markdown page, to one of its headings), so that moving or renaming a page cannot leave a dead link.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..', '..');

/** The Markdown files checked: README.md and every page of docs/. */
function pages(): string[] {
  const docs = fs
    .readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join('docs', f));
  return ['README.md', ...docs.sort()];
}

/** The link targets of a Markdown text, outside code blocks and code spans. */
export function linkTargets(markdown: string): string[] {
  const text = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
  const targets: string[] = [];
  for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(m[1]);
  for (const m of text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)) targets.push(m[1]);
  for (const m of text.matchAll(/<(?:img|a)\s[^>]*(?:src|href)="([^"]+)"/g)) targets.push(m[1]);
  return targets;
}

/** GitHub's anchors of a Markdown page's headings (lower case, punctuation dropped, spaces → `-`, repeats `-1`, `-2`). */
export function anchors(markdown: string): Set<string> {
  const text = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = m[1]
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe('links in README.md and docs/', () => {
  it('finds the links of a page (not those in code)', () => {
    assert.deepEqual(
      linkTargets('See [a](a.md#x) and ![p](img/p.png "t").\n`[no](no.md)`\n```\n[no](no.md)\n```\n[r]: ../README.md\n<img src="img/q.png">'),
      ['a.md#x', 'img/p.png', '../README.md', 'img/q.png'],
    );
  });

  it("computes a heading's anchor as GitHub does", () => {
    assert.deepEqual(
      [...anchors('# sip.js in Node\n## Causes (`sip-cause.ts`)\n## Tests\n## Tests\n```\n# not a heading\n```')],
      ['sipjs-in-node', 'causes-sip-causets', 'tests', 'tests-1'],
    );
  });

  for (const page of pages()) {
    it(`${page}: every relative link points to an existing file (and heading)`, () => {
      const text = fs.readFileSync(path.join(root, page), 'utf8');
      const dead: string[] = [];
      for (const target of linkTargets(text)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue; // a URL, or an anchor in the page
        const [filePart, anchor] = target.split('#');
        const file = path.resolve(root, path.dirname(page), decodeURIComponent(filePart.split('?')[0]));
        if (!fs.existsSync(file)) dead.push(target);
        else if (anchor && file.endsWith('.md') && !anchors(fs.readFileSync(file, 'utf8')).has(decodeURIComponent(anchor))) dead.push(target);
      }
      assert.deepEqual(dead, [], `${page} links to files (or headings) that do not exist`);
    });
  }
});
