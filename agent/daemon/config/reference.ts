// The Markdown configuration reference, generated from the schema so the README cannot drift from what
// the agent accepts (`gdo config reference` prints it).
import { agentSchema } from './index.ts';
import { walk, type Node } from './schema.ts';

export function renderConfigReference(): string {
  const lines: string[] = [
    '| key | type | default | description |',
    '|---|---|---|---|',
  ];
  for (const { path, node, required } of walk(agentSchema)) {
    lines.push(`| \`${path}\` | ${typeText(node)} | ${defaultText(node, required)} | ${cell(node.description)} |`);
  }
  return `${lines.join('\n')}\n`;
}

function typeText(node: Node): string {
  switch (node.type) {
    case 'string': return node.enum ? node.enum.map((v) => `\`${v}\``).join(' \\| ') : 'string';
    case 'integer': return `integer ${node.minimum}..${node.maximum}${node.nullable ? ' or null' : ''}`;
    case 'boolean': return 'boolean';
    case 'object': return 'object';
    case 'array': return 'list';
  }
}

function defaultText(node: Node, required: boolean): string {
  if (required) return 'required';
  if (node.derived) return cell(node.derived);
  if (node.default === undefined) return node.type === 'object' ? '' : 'not set';
  if (Array.isArray(node.default) && node.default.length === 0) return '`[]`';
  return `\`${JSON.stringify(node.default)}\``;
}

/** Table-safe: pipes escaped, and angle brackets too ("door:<id>" is not an HTML tag). */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\n/g, ' ');
}
