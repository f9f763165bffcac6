import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import { Metrics } from '../../server/ops/metrics.ts';
import { DMCI_VERSION } from '../../server/version.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** Issue 12 §8: Node's process metrics under their standard names, dmci_build_info and the readiness gauge. */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const scrape = async () => (await fetch(`${server.opsUrl}/metrics`)).text();

describe('/metrics', () => {
  it("exports Node's default process metrics under their standard names", async () => {
    const text = await scrape();
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(text, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    }
    expect(text).not.toMatch(/^# TYPE dmci_process_/m);
  });

  it('exports dmci_build_info with the version labels', async () => {
    const text = await scrape();
    expect(text).toContain(`dmci_build_info{version="${DMCI_VERSION}",protocol_version="${PROTOCOL_VERSION}",node_version="${process.version}"} 1`);
  });

  it('exports dmci_ready as 1 on a ready node', async () => {
    expect(await scrape()).toMatch(/^dmci_ready 1$/m);
  });

  it('dmci_ready follows the readiness check at each scrape', async () => {
    const metrics = new Metrics();
    let ready = true;
    metrics.watchReadiness(async () => ({ ready }));
    expect(await metrics.registry.metrics()).toMatch(/^dmci_ready 1$/m);
    ready = false;
    expect(await metrics.registry.metrics()).toMatch(/^dmci_ready 0$/m);
  });
});
