// Prometheus text exposition (format 0.0.4) for /metrics: a few families written from a snapshot taken
// at scrape time, so nothing here keeps state of its own.

export type Labels = Record<string, string>;

export interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: { labels?: Labels; value: number }[];
}

export function renderMetrics(families: Family[]): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    out.push(`# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) out.push(`${f.name}${labelText(s.labels)} ${numberText(s.value)}`);
  }
  return `${out.join('\n')}\n`;
}

function labelText(labels: Labels | undefined): string {
  if (!labels || Object.keys(labels).length === 0) return '';
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return `{${parts.join(',')}}`;
}

function numberText(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** A metric name part from free text (a sync counter name): [a-z0-9_] only. */
export function metricName(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
}
