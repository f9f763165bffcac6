import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/run.ts';

/**
 * docs/examples/dmci.service passes `systemd-analyze verify` with no warning
 * (unknown keys and bad values are warnings, not failures, so stderr is
 * checked too). Node's path is this machine's; the rest is the file as shipped.
 */
const hasSystemdAnalyze = spawnSync('sh', ['-c', 'command -v systemd-analyze']).status === 0;
if (!hasSystemdAnalyze) console.warn('systemd-analyze not found: the systemd unit is not verified here (Debian/Ubuntu: apt-get install systemd)');

describe.skipIf(!hasSystemdAnalyze)('docs/examples/dmci.service', () => {
  it('verifies cleanly', () => {
    const unit = readFileSync(join(REPO_ROOT, 'docs/examples/dmci.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/node \/opt\/dmci\/bin\/dmci\.mjs start$/m);
    const dir = mkdtempSync(join(tmpdir(), 'dmci-unit-'));
    try {
      const file = join(dir, 'dmci.service');
      writeFileSync(file, unit.replace('/usr/bin/node', process.execPath));
      const result = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr.split('\n').filter((line) => line.includes('dmci.service')), result.stderr).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
