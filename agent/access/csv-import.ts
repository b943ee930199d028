// Bulk import of members and their badges from CSV, as one atomic batch: every line becomes
// events appended in one transaction, and one bad line refuses the whole file, named by its
// line number. Columns (header line required, any order):
//   id, name, email, groups (separated by ';' or '|'), until (YYYY-MM-DD, end of that day in the
//   site's time zone as the caller's endOfDay reads it, UTC by default, or empty), badge (card UID in hex, optional; several separated by ';').
// Existing members are updated (name, email, groups, until); badges already assigned to the same
// member are left as they are.
import { LedgerError, type RejectionCode } from '../ledger/errors.ts';
import type { Signer } from '../ledger/crypto.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { badgeKey, type Badge } from '../../dapps/badge/index.ts';
import { memberKey, type Member } from '../../dapps/member/index.ts';
import { follows } from '../../dapps/shared/guards.ts';
import type { Json } from '../ledger/canonical-json.ts';
import { badgeHash, parseUid } from './badge-hash.ts';

export class CsvImportError extends Error {
  /** `rejection`: the ledger's code when a dapp refused the line's event (the CLI exits 3 then, 2 for a bad file). */
  constructor(readonly line: number, message: string, readonly rejection?: RejectionCode) { super(`line ${line}: ${message}`); }
}

/** RFC 4180 fields: quotes, doubled quotes, commas and newlines inside quotes. */
export function parseCsv(text: string): Array<{ line: number; fields: string[] }> {
  const rows: Array<{ line: number; fields: string[] }> = [];
  let field = '';
  let fields: string[] = [];
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let any = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (ch === '"') quoted = false;
      else { if (ch === '\n') line++; field += ch; }
      continue;
    }
    if (ch === '"' && field === '') { quoted = true; any = true; } else if (ch === ',') { fields.push(field); field = ''; any = true; } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      if (any || field !== '') { fields.push(field); rows.push({ line: rowLine, fields }); }
      fields = []; field = ''; any = false; line++; rowLine = line;
    } else { field += ch; any = true; }
  }
  if (quoted) throw new CsvImportError(rowLine, 'a quoted field is not closed');
  if (any || field !== '') { fields.push(field); rows.push({ line: rowLine, fields }); }
  return rows;
}

const COLUMNS = ['id', 'name', 'email', 'groups', 'until', 'badge'] as const;

export interface ImportSummary { members_added: number; members_updated: number; badges_assigned: number; events: number }

/** The events a CSV file makes, each with the line it came from (errors name it). */
/** The end of a CSV `until` day, epoch ms; `gdo access import` passes the site zone's (agent/cli/time-args.ts). */
export type EndOfDay = (date: string) => number;
const endOfDayUtc: EndOfDay = (d) => Date.parse(`${d}T23:59:59.999Z`);

export function planCsvImport(ledger: Ledger, text: string, secret: Buffer, endOfDay: EndOfDay = endOfDayUtc): { items: Array<{ dapp: string; type: string; body: Json }>; lines: number[]; summary: ImportSummary } {
  const rows = parseCsv(text.replace(/^\uFEFF/, ''));
  if (rows.length === 0) throw new CsvImportError(1, 'the file is empty (a header line is required)');
  const header = rows[0]!.fields.map((h) => h.trim().toLowerCase());
  for (const h of header) if (!(COLUMNS as readonly string[]).includes(h)) throw new CsvImportError(1, `unknown column '${h}' (expected: ${COLUMNS.join(', ')})`);
  for (const need of ['id', 'name']) if (!header.includes(need)) throw new CsvImportError(1, `missing column '${need}'`);
  const items: Array<{ dapp: string; type: string; body: Json }> = [];
  const lines: number[] = [];
  const summary: ImportSummary = { members_added: 0, members_updated: 0, badges_assigned: 0, events: 0 };
  const seenIds = new Map<string, number>();
  const seenBadges = new Map<string, number>();
  for (const { line, fields } of rows.slice(1)) {
    if (fields.length !== header.length) throw new CsvImportError(line, `${fields.length} fields, the header has ${header.length}`);
    const get = (c: string): string => (header.includes(c) ? fields[header.indexOf(c)]!.trim() : '');
    const id = get('id');
    if (!id) throw new CsvImportError(line, 'id is empty');
    if (seenIds.has(id)) throw new CsvImportError(line, `member '${id}' is also on line ${seenIds.get(id)}`);
    seenIds.set(id, line);
    const body: Record<string, Json> = { id, name: get('name') };
    if (get('email')) body['email'] = get('email');
    const groups = get('groups');
    if (groups) body['groups'] = groups.split(/[;|]/).map((g) => g.trim()).filter(Boolean);
    const until = get('until');
    if (until) {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(until) || !Number.isFinite(Date.parse(`${until}T00:00:00Z`))) throw new CsvImportError(line, `until '${until}' is not a date YYYY-MM-DD`);
      body['until'] = endOfDay(until);
    }
    const existing = ledger.get<Member>(memberKey(id));
    items.push({ dapp: 'member', type: existing ? 'update' : 'add', body });
    lines.push(line);
    if (existing) summary.members_updated++; else summary.members_added++;
    for (const uidText of get('badge').split(/[;|]/).map((x) => x.trim()).filter(Boolean)) {
      let hash: string;
      try { hash = badgeHash(secret, parseUid(uidText)); } catch (e) { throw new CsvImportError(line, (e as Error).message); }
      if (seenBadges.has(hash)) throw new CsvImportError(line, `the same badge is also on line ${seenBadges.get(hash)}`);
      seenBadges.set(hash, line);
      const b = ledger.get<Badge>(badgeKey(hash));
      if (b && !b.revoked && b.member === id) continue;
      if (b && !b.revoked) throw new CsvImportError(line, `badge is already assigned to member '${b.member}'`);
      items.push({ dapp: 'badge', type: 'assign', body: { badge: hash, member: id, ...follows(b) } });
      lines.push(line);
      summary.badges_assigned++;
    }
  }
  summary.events = items.length;
  return { items, lines, summary };
}

/** Plans, then appends all of it or nothing; a refused event is reported with the CSV line it came from. */
export function importCsv(ledger: Ledger, signer: Signer, text: string, secret: Buffer, endOfDay: EndOfDay = endOfDayUtc): ImportSummary {
  const { items, lines, summary } = planCsvImport(ledger, text, secret, endOfDay);
  if (items.length === 0) return summary;
  const { results } = ledger.appendBatch(signer, items, { atomic: true });
  const bad = results.findIndex((r) => r.status === 'rejected');
  if (bad >= 0) {
    const r = results[bad]!;
    throw new CsvImportError(lines[bad] ?? 0, `${r.code}: ${r.message} (nothing was imported)`, r.code);
  }
  if (results.some((r) => r.status !== 'accepted')) throw new LedgerError('BAD_BUNDLE', 'import did not apply (nothing was imported)');
  return summary;
}
