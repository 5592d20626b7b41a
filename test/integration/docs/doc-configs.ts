/**
 * Helpers for tests that run the configs written in docs/: pull the fenced
 * ```yaml blocks out of a Markdown file (other languages, e.g. gdnsd's or
 * PowerDNS's formats, are fenced as ```text and left alone) and find the
 * line each starts on, so a failure names the block.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../helpers/server.js';

export interface DocBlock {
  /** 1-based line of the opening fence in the Markdown file. */
  line: number;
  text: string;
}

export function yamlBlocks(doc: string): DocBlock[] {
  const lines = readFileSync(path.join(ROOT, doc), 'utf8').split('\n');
  const out: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```yaml\s*$/.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]); j++) body.push(lines[j].slice(indent));
    out.push({ line: i + 1, text: `${body.join('\n')}\n` });
    i = j;
  }
  return out;
}
