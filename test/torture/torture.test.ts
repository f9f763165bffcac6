import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, dropTestDatabase } from '../helpers/database.ts';
import { runTorture } from './torture.ts';

/** The torture test's short form for CI: 20 connectors, 3 nodes, 20 s of load with a node kill or a connection cut every few seconds. */
let databaseUrl: string;
beforeAll(async () => {
  databaseUrl = await createTestDatabase();
});
afterAll(() => dropTestDatabase(databaseUrl));

it('loses nothing, diverges nowhere and duplicates nothing while nodes die and connections break', async () => {
  const report = await runTorture({
    databaseUrl,
    nodes: 3,
    connectors: 20,
    durationMs: 20_000,
    faultEveryMs: 5_000,
    seed: 20261121,
  });
  expect(report.problems).toEqual([]);
  expect(report).toMatchObject({ lost: 0, diverged: 0, duplicates: 0, modseqRegressions: 0 });
  expect(report.acknowledged.creates).toBeGreaterThan(50);
  // Scheduling ran too: invitations made copies that survived to the end and followed their organizers.
  expect(report.scheduledCopies).toBeGreaterThan(0);
  // Acknowledged answers were checked against both copies (report.lost counts any that did not hold).
  expect(report.answersChecked).toBeGreaterThan(0);
  expect(report.faults.nodeKills + report.faults.connectionKills).toBeGreaterThan(0);
}, 120_000);
