// examples/prometheus-alerts.yaml and examples/grafana-dashboard.json: well formed, and every ssh_egress_ series
// they query is one the daemon's metrics registry exports, so a renamed metric breaks this test, not a dashboard.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Histogram, Summary } from 'prom-client';
import { parse } from 'yaml';
import { z } from 'zod';
import { Dialer } from '../../src/dialer/dialer.js';
import { EgressMetrics } from '../../src/frontends/metrics.js';
import type { AgentServer } from '../../src/ssh/agent-server.js';
import { TunnelPool } from '../../src/tunnel/pool.js';

const example = (name: string): string => readFileSync(fileURLToPath(new URL(`../../examples/${name}`, import.meta.url)), 'utf8');
/** Series Prometheus makes itself, not the daemon. */
const PROMETHEUS_SERIES = new Set(['up']);

let pool: TunnelPool;
let metrics: EgressMetrics;
let exported: Set<string>;

before(() => {
  pool = new TunnelPool({ user: 'egress', tunnel: 'reverse' }); // no credentials needed: nothing connects
  metrics = new EgressMetrics(pool, new Dialer(pool));
  metrics.addAgentServer({} as AgentServer); // registers the agent metrics; they read the server only when scraped
  metrics.addInventory(() => undefined); // and the inventory's
  exported = new Set(
    metrics.registry.getMetricsAsArray().flatMap((m) => {
      const { name } = m as unknown as { name: string };
      if (m instanceof Histogram) return [`${name}_bucket`, `${name}_sum`, `${name}_count`];
      if (m instanceof Summary) return [name, `${name}_sum`, `${name}_count`];
      return [name];
    }),
  );
});

after(async () => {
  metrics.close();
  await pool.close();
});

/** The metric names a PromQL expression reads: identifiers not followed by "(" (functions) and outside label matchers and strings. */
function seriesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'le', 'inf', 'nan']);
  return [...bare.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)].map((m) => m[1]!).filter((word) => !keywords.has(word.toLowerCase()));
}

function assertKnownSeries(where: string, expr: string): void {
  const series = seriesIn(expr);
  assert.ok(series.length > 0, `${where}: no metric in ${JSON.stringify(expr)}`);
  for (const name of series) {
    assert.ok(exported.has(name) || PROMETHEUS_SERIES.has(name), `${where}: ${name} is not a metric the daemon exports (${JSON.stringify(expr)})`);
  }
}

test('the expression scanner finds metric names, not functions, labels or keywords', () => {
  assert.deepEqual(
    seriesIn('sum by (instance) (rate(a_total{result="failure",x=~"b|c"}[5m])) / clamp_min(sum(b), 1) > 0.05 and on (x) c_bucket'),
    ['a_total', 'b', 'c_bucket'],
  );
});

describe('examples/prometheus-alerts.yaml', () => {
  const rule = z.strictObject({
    alert: z.string().regex(/^SshEgress[A-Za-z]+$/),
    expr: z.string().min(1),
    for: z.string().regex(/^\d+[smh]$/).optional(),
    labels: z.strictObject({ severity: z.enum(['warning', 'critical']) }),
    annotations: z.strictObject({ summary: z.string().min(1), description: z.string().min(1) }),
  });
  const file = z.strictObject({ groups: z.array(z.strictObject({ name: z.string(), rules: z.array(rule).min(1) })).min(1) });
  const rules = file.parse(parse(example('prometheus-alerts.yaml'))).groups.flatMap((g) => g.rules);

  test('has the alerts an operator needs, each named once', () => {
    const names = rules.map((r) => r.alert);
    assert.equal(new Set(names).size, names.length);
    for (const name of ['SshEgressTunnelsNotReady', 'SshEgressDialFailureRatio', 'SshEgressHostKeyMismatch', 'SshEgressAgentAuthFailures']) {
      assert.ok(names.includes(name), `${name} missing`);
    }
  });

  test('every metric an alert reads exists in /metrics', () => {
    for (const r of rules) assertKnownSeries(r.alert, r.expr);
  });
});

describe('examples/grafana-dashboard.json', () => {
  const dashboard = JSON.parse(example('grafana-dashboard.json')) as { uid: string; panels: Array<{ id: number; title: string; targets?: Array<{ expr: string }> }> };

  test('panels have unique ids and queries', () => {
    assert.equal(dashboard.uid, 'ssh-egress');
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const p of dashboard.panels) assert.ok((p.targets ?? []).length > 0, `panel "${p.title}" has no query`);
  });

  test('every metric a panel reads exists in /metrics', () => {
    for (const p of dashboard.panels) for (const t of p.targets ?? []) assertKnownSeries(`panel "${p.title}"`, t.expr.replaceAll('$__rate_interval', '5m'));
  });
});
