// Prometheus text exposition: HELP/TYPE lines, labels escaped, one sample a line.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { metricName, renderMetrics } from '../../agent/daemon/metrics.ts';

it('renders families with escaped labels and special values', () => {
  const text = renderMetrics([
    { name: 'gdo_decisions_total', help: 'Decisions.', type: 'counter', samples: [
      { labels: { result: 'deny', reason: 'say "no"\\\nplease' }, value: 3 },
      { labels: { result: 'allow', reason: 'allowed' }, value: 1 },
    ] },
    { name: 'gdo_up', help: 'Up.\nTwo lines', type: 'gauge', samples: [{ value: 1 }, { labels: { x: 'nan' }, value: NaN }, { labels: { x: 'inf' }, value: Infinity }] },
    { name: 'gdo_empty', help: 'No samples yet.', type: 'gauge', samples: [] },
  ]);
  assert.equal(text, [
    '# HELP gdo_decisions_total Decisions.',
    '# TYPE gdo_decisions_total counter',
    'gdo_decisions_total{result="deny",reason="say \\"no\\"\\\\\\nplease"} 3',
    'gdo_decisions_total{result="allow",reason="allowed"} 1',
    '# HELP gdo_up Up.\\nTwo lines',
    '# TYPE gdo_up gauge',
    'gdo_up 1',
    'gdo_up{x="nan"} NaN',
    'gdo_up{x="inf"} +Inf',
    '# HELP gdo_empty No samples yet.',
    '# TYPE gdo_empty gauge',
    '',
  ].join('\n'));
});

it('makes metric names from free text', () => {
  assert.equal(metricName('Events Received'), 'events_received');
  assert.equal(metricName('rbsr.rounds/ok'), 'rbsr_rounds_ok');
});
