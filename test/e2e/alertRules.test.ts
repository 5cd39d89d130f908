/**
 * The shipped alert rules, checked by Prometheus' own promtool: `check rules` (syntax, PromQL, templates) and
 * `test rules` (ops/prometheus/psgraph-alerts.test.yml: each alert fires on the series it is for and not on
 * healthy ones). That the rules and the dashboard name only metrics psgraph serves is checked against a real
 * scrape in metrics.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../support/processes.js';
import { PROMTOOL, requirePrerequisite } from '../support/systemPrerequisites.js';

const RULES_DIR = join(REPO_ROOT, 'ops', 'prometheus');

function promtool(...args: string[]) {
  return spawnSync(requirePrerequisite(PROMTOOL), args, { cwd: RULES_DIR, encoding: 'utf8' });
}

describe('the Prometheus alert rules', () => {
  it('pass promtool check rules', () => {
    const result = promtool('check', 'rules', 'psgraph-alerts.yml');
    expect(result.stdout + result.stderr).toContain('SUCCESS: 13 rules found');
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  it('pass their promtool unit tests', () => {
    const result = promtool('test', 'rules', 'psgraph-alerts.test.yml');
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('SUCCESS');
  });

  it('test every alert they define', () => {
    const rules = parse(readFileSync(join(RULES_DIR, 'psgraph-alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string }> }> };
    const tests = parse(readFileSync(join(RULES_DIR, 'psgraph-alerts.test.yml'), 'utf8')) as {
      tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    };
    const defined = rules.groups.flatMap((group) => group.rules.map((rule) => rule.alert)).sort();
    const firedInTests = new Set(
      tests.tests.flatMap((test) => test.alert_rule_test.filter((check) => check.exp_alerts.length > 0).map((check) => check.alertname)),
    );
    expect(defined).toHaveLength(13);
    expect(defined.filter((alert) => !firedInTests.has(alert))).toEqual([]);
  });

  it('fail promtool when a rule is broken, so the checks above can fail', () => {
    const broken = spawnSync(requirePrerequisite(PROMTOOL), ['check', 'rules', '/dev/stdin'], {
      input: 'groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: sum(rate(psgraph_gateway_request_duration_seconds_count[5m]) >\n',
      encoding: 'utf8',
    });
    expect(broken.status).not.toBe(0);
  });
});
