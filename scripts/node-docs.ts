// Writes the per-node reference of docs/nodes.md from the help in each node's .html (the one source),
// between the markers below. `npm run docs:nodes` runs it; test/unit/node-docs.test.ts fails when
// docs/nodes.md is not what it would write.
//
// The help is our own HTML with a fixed handful of tags (p, h3, dl/dt/dd, ol/ul/li, code, b, i, a,
// span.property-type). The converter is written by hand rather than taken from an HTML library:
// it must be strict (an unknown tag is an error, not silently dropped text) and its output must stay
// byte-for-byte stable, and a general HTML→Markdown converter would bring its own formatting choices
// and a dependency for ~150 lines of work.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const BEGIN = '<!-- generated: node help (npm run docs:nodes) -->';
export const END = '<!-- end generated -->';

interface Element {
  tag: string;
  attrs: Record<string, string>;
  children: Node[];
}
type Node = Element | string;

const VOID = new Set(['br']);
const INLINE = new Set(['code', 'b', 'i', 'a', 'span', 'br']);
const KNOWN = new Set([...INLINE, 'p', 'h3', 'dl', 'dt', 'dd', 'ol', 'ul', 'li']);

function decode(text: string): string {
  return text.replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (all, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return String.fromCodePoint(code);
    }
    const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'", nbsp: ' ' };
    const value = named[name.toLowerCase()];
    if (value === undefined) throw new Error(`unknown HTML entity ${all}`);
    return value;
  });
}

/** Parses the help HTML into a tree; throws on a tag it does not know or a tag left open. */
export function parseHelp(html: string): Node[] {
  const root: Element = { tag: '#root', attrs: {}, children: [] };
  const stack: Element[] = [root];
  const token = /<(\/?)([a-zA-Z0-9]+)((?:\s+[a-zA-Z-]+(?:="[^"]*")?)*)\s*(\/?)>|([^<]+)|(<)/g;
  for (const m of html.matchAll(token)) {
    const top = stack[stack.length - 1];
    if (m[5] !== undefined) {
      top.children.push(decode(m[5]));
      continue;
    }
    if (m[6] !== undefined) throw new Error(`a "<" that starts no tag at offset ${m.index}`);
    const tag = m[2].toLowerCase();
    if (!KNOWN.has(tag)) throw new Error(`the help uses <${tag}>, which the node docs generator does not convert`);
    if (m[1]) {
      if (top.tag !== tag) throw new Error(`</${tag}> closes <${top.tag}>`);
      stack.pop();
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of m[3].matchAll(/([a-zA-Z-]+)(?:="([^"]*)")?/g)) attrs[a[1].toLowerCase()] = decode(a[2] ?? '');
    const el: Element = { tag, attrs, children: [] };
    top.children.push(el);
    if (!VOID.has(tag) && !m[4]) stack.push(el);
  }
  if (stack.length !== 1) throw new Error(`<${stack[stack.length - 1].tag}> is not closed`);
  return root.children;
}

function escapeText(text: string): string {
  return text.replace(/[\\`*_[\]<]/g, (c) => (c === '<' ? '&lt;' : `\\${c}`));
}

/** Wraps inner text in a marker, keeping the surrounding spaces outside it (`* x *` is not emphasis). */
function wrap(inner: string, open: string, close = open): string {
  const lead = /^\s/.test(inner) ? ' ' : '';
  const trail = /\s$/.test(inner) ? ' ' : '';
  const core = inner.trim();
  return core ? `${lead}${open}${core}${close}${trail}` : lead || trail;
}

function textOf(nodes: Node[]): string {
  return nodes.map((n) => (typeof n === 'string' ? n : textOf(n.children))).join('');
}

function inline(nodes: Node[]): string {
  let out = '';
  for (const n of nodes) {
    if (typeof n === 'string') {
      out += escapeText(n);
      continue;
    }
    switch (n.tag) {
      case 'code': {
        const text = textOf(n.children).replace(/\s+/g, ' ');
        const fence = text.includes('`') ? '``' : '`';
        const pad = fence.length > 1 ? ' ' : '';
        out += wrap(text, `${fence}${pad}`, `${pad}${fence}`);
        break;
      }
      case 'b':
        out += wrap(inline(n.children), '**');
        break;
      case 'i':
        out += wrap(inline(n.children), '*');
        break;
      case 'a':
        out += `[${inline(n.children).trim()}](${n.attrs.href ?? ''})`;
        break;
      case 'br':
        out += ' ';
        break;
      case 'span':
        out += inline(n.children);
        break;
      default:
        throw new Error(`<${n.tag}> inside a line of text`);
    }
  }
  return out;
}

function line(nodes: Node[]): string {
  return inline(nodes).replace(/\s+/g, ' ').trim();
}

function elements(nodes: Node[], where: string): Element[] {
  const out: Element[] = [];
  for (const n of nodes) {
    if (typeof n === 'string') {
      if (n.trim()) throw new Error(`text "${n.trim().slice(0, 40)}" directly inside <${where}>`);
    } else out.push(n);
  }
  return out;
}

function definitionList(dl: Element, indent: string): string[] {
  const out: string[] = [];
  let term: string | undefined;
  for (const el of elements(dl.children, 'dl')) {
    if (el.tag === 'dt') {
      if (term !== undefined) out.push(`${indent}- ${term}`);
      const type = el.children.find((c): c is Element => typeof c !== 'string' && c.tag === 'span');
      const name = line(el.children.filter((c) => c !== type));
      const notes = [type ? line(type.children) : '', /\boptional\b/.test(el.attrs.class ?? '') ? 'optional' : '']
        .filter(Boolean)
        .join(', ');
      term = `**${name}**${notes ? ` (${notes})` : ''}`;
    } else if (el.tag === 'dd') {
      if (term === undefined) throw new Error('<dd> without its <dt>');
      out.push(`${indent}- ${term}: ${line(el.children)}`);
      term = undefined;
    } else throw new Error(`<${el.tag}> inside <dl>`);
  }
  if (term !== undefined) out.push(`${indent}- ${term}`);
  return out;
}

function list(el: Element, indent: string): string[] {
  const out: string[] = [];
  let n = 0;
  for (const li of elements(el.children, el.tag)) {
    if (li.tag !== 'li') throw new Error(`<${li.tag}> inside <${el.tag}>`);
    n++;
    const marker = el.tag === 'ol' ? `${n}. ` : '- ';
    const text = li.children.filter((c) => typeof c === 'string' || INLINE.has(c.tag));
    const blocks = li.children.filter((c): c is Element => typeof c !== 'string' && !INLINE.has(c.tag));
    out.push(`${indent}${marker}${line(text)}`);
    for (const b of blocks) {
      if (b.tag !== 'dl') throw new Error(`<${b.tag}> inside <li>`);
      out.push(...definitionList(b, indent + ' '.repeat(marker.length)));
    }
  }
  return out;
}

/** The Markdown of one node's help; `level` is the heading level of its h3 sections. */
export function helpToMarkdown(html: string, level = 4): string {
  const blocks: string[] = [];
  for (const el of elements(parseHelp(html), 'help')) {
    switch (el.tag) {
      case 'p':
        blocks.push(line(el.children));
        break;
      case 'h3':
        blocks.push(`${'#'.repeat(level)} ${line(el.children)}`);
        break;
      case 'dl':
        blocks.push(definitionList(el, '').join('\n'));
        break;
      case 'ol':
      case 'ul':
        blocks.push(list(el, '').join('\n'));
        break;
      default:
        throw new Error(`<${el.tag}> at the top of a help text`);
    }
  }
  return blocks.join('\n\n');
}

/** The help section of a node's .html: the `<script type="text/html" data-help-name="…">` body. */
export function helpOf(html: string, type: string): string {
  const m = html.match(new RegExp(`<script type="text/html" data-help-name="${type}">([\\s\\S]*?)</script>`));
  if (!m) throw new Error(`nodes/${type}.html has no data-help-name="${type}" section`);
  return m[1];
}

/** The node types in package.json's node-red.nodes order. */
export function nodeTypes(root: string): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  return Object.keys(pkg['node-red'].nodes);
}

/** The generated part: every node's help, in palette order. */
export function generatedReference(root: string): string {
  const parts = nodeTypes(root).map((type) => {
    const html = fs.readFileSync(path.join(root, 'nodes', `${type}.html`), 'utf8');
    try {
      return `### ${type}\n\n${helpToMarkdown(helpOf(html, type))}`;
    } catch (err) {
      throw new Error(`nodes/${type}.html: ${(err as Error).message}`);
    }
  });
  return parts.join('\n\n');
}

/** docs/nodes.md as the script would write it: the text outside the markers kept, inside replaced. */
export function renderNodesDoc(root: string): string {
  const file = path.join(root, 'docs', 'nodes.md');
  const current = fs.readFileSync(file, 'utf8');
  const begin = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`docs/nodes.md has no "${BEGIN}" … "${END}" markers`);
  return `${current.slice(0, begin + BEGIN.length)}\n\n${generatedReference(root)}\n\n${current.slice(end)}`;
}

if (require.main === module) {
  const root = path.resolve(__dirname, '..', '..');
  const file = path.join(root, 'docs', 'nodes.md');
  const next = renderNodesDoc(root);
  if (next === fs.readFileSync(file, 'utf8')) console.log('docs/nodes.md is up to date');
  else {
    fs.writeFileSync(file, next);
    console.log('docs/nodes.md written from the node help');
  }
}
