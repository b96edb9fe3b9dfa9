/** The human-readable validation report. */
import type { CheckResult, ValidationReport } from './types.js';
import { ms } from './format.js';

export function renderCheck(c: CheckResult): string {
  const lines = [`${c.status === 'PASS' ? 'PASS' : 'FAIL'}  ${c.title}  (${ms(c.durationMs)})`];
  if (c.error) lines.push(`        error: ${c.error}`);
  for (const p of c.probes) lines.push(`  ${p.status.padEnd(4)}  ${p.name}: ${p.detail}`);
  return lines.join('\n');
}

export function renderReport(r: ValidationReport): string {
  const failed = r.checks.filter((c) => c.status !== 'PASS').length;
  const warned = r.checks.flatMap((c) => c.probes).filter((p) => p.status === 'WARN').length;
  const lines = [
    `cubby validate ${r.image}${r.version ? ` (version ${r.version})` : ''}`,
    '',
    ...r.checks.flatMap((c) => [renderCheck(c), '']),
    `cleanup: launched ${r.cleanup.launched} microVM(s), terminated ${r.cleanup.terminated} at the end; ` +
      (r.cleanup.leftOver.length === 0 ? 'nothing left running' : `LEFT RUNNING: ${r.cleanup.leftOver.join(', ')}`),
    '',
    r.passed
      ? `RESULT: PASS (${r.checks.length} checks${warned ? `, ${warned} warning(s)` : ''})`
      : `RESULT: FAIL (${failed} of ${r.checks.length} checks failed${r.cleanup.leftOver.length ? ', microVMs left running' : ''})`,
  ];
  return lines.join('\n') + '\n';
}
