/**
 * Provisioning over the protocol, as an HR system or an admin script would do
 * it: connect as an admin through connector-sim's client, make sure a domain
 * and its accounts exist (safe to run again and again), and disable a leaver.
 *
 *   DMCI_URL=ws://dmci.internal:8390 DMCI_USER=admin@example.com DMCI_PASSWORD=… \
 *     node --import tsx docs/examples/provision.ts
 *
 * Set PROVISION_DOMAIN to provision another domain than example.com. New
 * accounts get a random initial password, printed once.
 */
import { randomBytes } from 'node:crypto';
import { DmciClient } from '../../connector-sim/client.ts';

const domain = process.env.PROVISION_DOMAIN ?? 'example.com';
const staff = [
  { email: `alice@${domain}`, displayName: 'Alice Andersen', role: 'user' as const },
  { email: `bob@${domain}`, displayName: 'Bob Brown', role: 'user' as const },
  { email: `it@${domain}`, displayName: 'IT Desk', role: 'domain_admin' as const },
];
const leavers = [`bob@${domain}`];

const client = new DmciClient({
  url: process.env.DMCI_URL ?? 'ws://127.0.0.1:8390',
  login: process.env.DMCI_USER,
  password: process.env.DMCI_PASSWORD,
  clientName: 'provision-example',
});

try {
  await client.connect();

  const { created: domainCreated } = await client.request('Admin/domainCreate', { name: domain, ifNotExists: true });
  console.log(`domain ${domain}: ${domainCreated ? 'created' : 'exists'}`);

  for (const person of staff) {
    const password = randomBytes(12).toString('base64url');
    const { account, created } = await client.request('Admin/accountCreate', { ...person, password, ifNotExists: true });
    console.log(created ? `account ${account.email}: created, initial password ${password}` : `account ${account.email}: exists`);
  }

  for (const email of leavers) {
    const { account } = await client.request('Admin/accountDisable', { email });
    console.log(`account ${account.email}: disabled (its sessions are closed)`);
  }
} catch (error) {
  console.error(`provisioning failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await client.close();
}
