import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../server/ops/metrics.ts';
import { loadConfig, settingNames } from '../../server/config/config.ts';
import { REPO_ROOT } from '../helpers/run.ts';

/** docs/operations.md must name every setting with its real default, and every dmci_ metric. */
const doc = readFileSync(`${REPO_ROOT}/docs/operations.md`, 'utf8');
const tableRows = new Map(
  doc
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => [line.split('|')[1]!.trim().replaceAll('`', ''), line.split('|')[2]!.trim()] as const),
);

describe('docs/operations.md', () => {
  it.each(settingNames())('documents $name with its default', ({ name, default: fallback }) => {
    expect(tableRows.has(name), `${name} has no row in a configuration table`).toBe(true);
    const documented = tableRows.get(name)!;
    if (fallback === undefined || fallback === '') expect(documented).toMatch(/^—/);
    else expect(documented.replaceAll('`', '').split(' ')[0]).toBe(fallback);
  });

  it('documents every exported dmci_ metric', async () => {
    const text = await new Metrics().registry.metrics();
    const names = [...new Set([...text.matchAll(/^# TYPE (dmci_\w+) /gm)].map((m) => m[1]!))].filter((n) => !/^dmci_(process|nodejs)_/.test(n));
    for (const name of names) expect(doc, name).toContain(`\`${name}\``);
  });

  it('shows the real start-up error for a bad setting', () => {
    let message = '';
    try {
      loadConfig({ DMCI_PORT: 'abc' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(doc).toContain(`dmci: ${message}`);
  });
});
