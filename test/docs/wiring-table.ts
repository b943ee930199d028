// Reading docs/wiring.md, the one wiring table, and checking a node config against it: shared by the
// wiring test (test/docs/wiring.test.ts) and the provisioning examples test.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

export const read = (rel: string): string => readFileSync(new URL(`../../${rel}`, import.meta.url), 'utf8');

/** The 40-pin header: BCM number of each header pin (pinout of every Pi since the Model B+). */
const HEADER: Record<number, number> = {
  3: 2, 5: 3, 7: 4, 8: 14, 10: 15, 11: 17, 12: 18, 13: 27, 15: 22, 16: 23, 18: 24, 19: 10, 21: 9, 22: 25,
  23: 11, 24: 8, 26: 7, 27: 0, 28: 1, 29: 5, 31: 6, 32: 12, 33: 13, 35: 19, 36: 16, 37: 26, 38: 20, 40: 21,
};
const GND = new Set([6, 9, 14, 20, 25, 30, 34, 39]);
const V33 = new Set([1, 17]);
/** Reset-default pulls (BCM2835 ARM Peripherals 6.2, BCM2711 ARM Peripherals 5.3): 0-8 up, 9-27 down. */
const pullOf = (bcm: number): 'up' | 'down' => (bcm <= 8 ? 'up' : 'down');

export interface Row { fn: string; bcm: string; header: string; level: string; pull: string; key: string }

/** The rows of the first table under `## heading`. */
export function tableRows(md: string, heading: string): string[][] {
  const at = md.indexOf(`\n${heading}\n`);
  assert.ok(at >= 0, `missing heading ${heading}`);
  const lines = md.slice(at + heading.length + 2).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const l of lines.slice(first)) {
    if (!l.startsWith('|')) break;
    rows.push(l.slice(1, -1).split('|').map((c) => c.trim()));
  }
  return rows.slice(2); // header and separator
}

export function wiringRows(md: string, heading: string): Row[] {
  return tableRows(md, heading).map(([fn = '', bcm = '', header = '', level = '', pull = '', key = '']) => ({ fn, bcm, header, level, pull, key }));
}

/** `doors[].pins.strike` -> BCM, `readers[].reset_line` -> BCM, `readers[].path` -> device. */
export function keyed(rows: Row[]): { lines: Map<string, number>; activeLow: Set<string>; path: string | undefined } {
  const lines = new Map<string, number>();
  const activeLow = new Set<string>();
  let path: string | undefined;
  for (const r of rows) {
    const key = /^`([^`]+)`/.exec(r.key)?.[1];
    if (key === undefined) continue;
    const dev = /= `([^`]+)`/.exec(r.key)?.[1];
    if (key === 'readers[].path') { path = dev; continue; }
    if (!/^\d+$/.test(r.bcm)) continue;
    lines.set(key, Number(r.bcm));
    if (r.level.includes('`active_low: true`')) activeLow.add(key);
  }
  return { lines, activeLow, path };
}

/** What the table says of itself: header pins, pulls, config.txt. Returns each disagreement. */
export function checkTable(md: string): string[] {
  const bad: string[] = [];
  const outputsHigh = new Set<number>();
  const inputs = new Set<number>();
  for (const heading of ['## Door node', '## Machine node']) {
    for (const r of wiringRows(md, heading)) {
      const headers = r.header.split(',').map((h) => h.trim()).filter((h) => h !== '').map(Number);
      if (/^\d+$/.test(r.bcm)) {
        const bcm = Number(r.bcm);
        if (headers.length !== 1 || HEADER[headers[0]!] !== bcm) bad.push(`${heading} ${r.fn}: BCM ${bcm} is not on header pin ${r.header}`);
        if (r.level.startsWith('output') || r.level.startsWith('input')) {
          if (!r.pull.startsWith(pullOf(bcm))) bad.push(`${heading} ${r.fn}: BCM ${bcm} powers up pulled ${pullOf(bcm)}, the table says "${r.pull}"`);
          // Harmless at power-up: an active-high output on a pulled-down pin, a switch to GND on a pulled-up one.
          if (r.level.startsWith('output, high =') && pullOf(bcm) !== 'down') bad.push(`${heading} ${r.fn}: an active-high output on pulled-up BCM ${bcm} is on during boot`);
          if (r.level.startsWith('input') && pullOf(bcm) !== 'up') bad.push(`${heading} ${r.fn}: a switch to GND on pulled-down BCM ${bcm} needs its own pull-up`);
          if (r.level.startsWith('output, high =')) outputsHigh.add(bcm);
          if (r.level.startsWith('input')) inputs.add(bcm);
        }
      } else if (r.bcm === 'GND' && !headers.every((h) => GND.has(h))) {
        bad.push(`${heading} ${r.fn}: header pins ${r.header} are not all GND`);
      } else if (r.bcm === '3V3' && !headers.every((h) => V33.has(h))) {
        bad.push(`${heading} ${r.fn}: header pin ${r.header} is not 3V3`);
      }
    }
  }
  const gpioLine = (suffix: string): Set<number> => new Set((new RegExp(`^gpio=([\\d,]+)=${suffix}$`, 'm').exec(md)?.[1] ?? '').split(',').filter((x) => x !== '').map(Number));
  const same = (a: Set<number>, b: Set<number>): boolean => a.size === b.size && [...a].every((x) => b.has(x));
  if (!same(gpioLine('op,dl'), outputsHigh)) bad.push(`config.txt gpio=...=op,dl must list the active-high outputs ${[...outputsHigh].join(',')}`);
  if (!same(gpioLine('ip,pu'), inputs)) bad.push(`config.txt gpio=...=ip,pu must list the inputs ${[...inputs].join(',')}`);
  return bad;
}

export type Pins = Record<string, { line: number; active_low?: boolean } | undefined>;
export interface NodeJson { readers?: Array<{ path?: string; reset_line?: number | null }>; doors?: Array<{ pins: Pins }>; machines?: Array<{ pins: Pins; mode?: string }> }

/** A node config (an example, a simulated node) against the table: every pin the table names, at its line. */
export function checkNode(name: string, cfg: NodeJson, kind: 'doors' | 'machines', rows: Row[], opts: { reader: boolean }): string[] {
  const bad: string[] = [];
  const { lines, activeLow, path } = keyed(rows);
  const pins = cfg[kind]?.[0]?.pins ?? {};
  for (const [key, bcm] of lines) {
    const m = new RegExp(`^${kind}\\[\\]\\.pins\\.(\\w+)$`).exec(key);
    if (m) {
      const p = pins[m[1]!];
      if (p?.line !== bcm) bad.push(`${name}: ${kind}[0].pins.${m[1]}.line is ${p?.line ?? 'missing'}, docs/wiring.md says ${bcm}`);
      else if ((p.active_low === true) !== activeLow.has(key)) bad.push(`${name}: ${kind}[0].pins.${m[1]}.active_low is ${p.active_low ?? false}, docs/wiring.md says ${activeLow.has(key)}`);
    } else if (key === 'readers[].reset_line' && opts.reader) {
      const r = cfg.readers?.[0]?.reset_line;
      if (r !== undefined && r !== null && r !== bcm) bad.push(`${name}: readers[0].reset_line is ${r}, docs/wiring.md says ${bcm}`);
    }
  }
  for (const n of Object.keys(pins)) if (!lines.has(`${kind}[].pins.${n}`)) bad.push(`${name}: ${kind}[0].pins.${n} is not in docs/wiring.md`);
  if (opts.reader && path !== undefined && cfg.readers?.[0]?.path !== path) bad.push(`${name}: readers[0].path is ${cfg.readers?.[0]?.path}, docs/wiring.md says ${path}`);
  return bad;
}

