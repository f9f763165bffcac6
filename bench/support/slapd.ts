import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { subschemaValues } from '../../server/ldap/ldap-schema.ts';
import { freePort } from './database.ts';

/**
 * OpenLDAP's slapd (the Debian package), started for a comparison with dmci:
 * its own directory, a slapd.conf with the mdb backend, a schema generated
 * from dmci's own (the same attribute types, matching rules and object
 * classes cn=Subschema publishes), the data loaded offline with slapadd,
 * and a free port on 127.0.0.1. Indexes as an administrator would set them
 * for address-book searches (eq and sub on names and addresses).
 */
export const SLAPD = ['/usr/sbin/slapd', '/usr/lib/slapd'].find((path) => existsSync(path)) ?? 'slapd';
const SLAPADD = ['/usr/sbin/slapadd'].find((path) => existsSync(path)) ?? 'slapadd';
const SLAPTEST = ['/usr/sbin/slaptest'].find((path) => existsSync(path)) ?? 'slaptest';
export const SLAPD_ROOT_PASSWORD = 'differential';

/** Attribute types and object classes slapd defines itself (RFC 4512 operational ones, top, subschema). */
const BUILT_IN = new Set(['2.5.4.0', '2.5.18.1', '2.5.18.2', '1.3.6.1.1.16.4', '1.3.6.1.1.20', '2.5.18.10', '2.5.18.9', '2.5.6.0', '2.5.20.1']);

export function slapdSchema(skip: ReadonlySet<string> = new Set()): string {
  const { attributeTypes, objectClasses } = subschemaValues();
  const oid = (value: string) => value.slice(2).split(' ')[0]!;
  return [
    // The DIT's own naming attribute and class for the suffix entries.
    "attributetype ( 0.9.2342.19200300.100.1.25 NAME ( 'dc' 'domainComponent' ) EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 SINGLE-VALUE )",
    ...attributeTypes.filter((v) => !BUILT_IN.has(oid(v)) && !skip.has(oid(v))).map((v) => `attributetype ${v}`),
    "objectclass ( 1.3.6.1.4.1.1466.344 NAME 'dcObject' SUP top AUXILIARY MUST dc )",
    ...objectClasses.filter((v) => !BUILT_IN.has(oid(v)) && !skip.has(oid(v))).map((v) => `objectclass ${v}`),
    '',
  ].join('\n');
}

export interface RunningSlapd {
  url: string;
  /** Bind as this with SLAPD_ROOT_PASSWORD. */
  rootDn: string;
  port: number;
  /** Milliseconds slapadd took to load the data. */
  loadMs: number;
  stop(): Promise<void>;
}

/** Starts slapd with `suffix` (e.g. dc=diff,dc=test) holding `ou=gal,<suffix>` and the LDIF's entries. */
export async function startSlapd(suffix: string, ldif: string): Promise<RunningSlapd> {
  const dir = await mkdtemp(join(tmpdir(), 'dmci-slapd-'));
  const dbDir = join(dir, 'db');
  await mkdir(dbDir);
  const schemaFile = join(dir, 'dmci.schema');
  const conf = join(dir, 'slapd.conf');
  const dc = /^dc=([^,]+)/.exec(suffix)![1]!;
  const rootDn = `cn=admin,${suffix}`;
  await writeFile(
    conf,
    [
      `include ${schemaFile}`,
      `pidfile ${join(dir, 'slapd.pid')}`,
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      'sizelimit unlimited',
      'database mdb',
      `suffix "${suffix}"`,
      `rootdn "${rootDn}"`,
      `rootpw ${SLAPD_ROOT_PASSWORD}`,
      `directory ${dbDir}`,
      'maxsize 4294967296',
      'index objectClass eq',
      'index cn,sn,givenName,displayName,mail,otherMailbox,proxyAddresses eq,sub,approx',
      'index title,ou,departmentNumber,department,o,company,physicalDeliveryOfficeName,telephoneNumber eq,sub',
      '',
    ].join('\n'),
  );
  // slapd defines a few of these types itself (cn, for its own entries): leave out what it reports as duplicate.
  const skip = new Set<string>();
  for (;;) {
    await writeFile(schemaFile, slapdSchema(skip));
    const tested = spawnSync(SLAPTEST, ['-u', '-f', conf], { encoding: 'utf8' });
    const duplicate = /Duplicate (?:attributeType|objectClass): "([\d.]+)"/.exec(tested.stderr)?.[1];
    if (tested.status === 0) break;
    if (!duplicate || skip.has(duplicate)) throw new Error(`slapd rejects the generated configuration: ${tested.stderr}`);
    skip.add(duplicate);
  }
  const base = `dn: ${suffix}\nobjectClass: organizationalUnit\nobjectClass: dcObject\nou: ${dc}\ndc: ${dc}\n\ndn: ou=gal,${suffix}\nobjectClass: organizationalUnit\nou: gal\n\n`;
  const dataFile = join(dir, 'data.ldif');
  await writeFile(dataFile, base + ldif);
  const loadStarted = performance.now();
  const added = spawnSync(SLAPADD, ['-q', '-f', conf, '-l', dataFile], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (added.status !== 0) throw new Error(`slapadd failed (${added.status}): ${added.stderr}`);
  const loadMs = performance.now() - loadStarted;
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(SLAPD, ['-f', conf, '-h', `${url}/`, '-d', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await waitForPort(port, child, () => stderr);
  return {
    url,
    rootDn,
    port,
    loadMs,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`slapd exited with ${child.exitCode}: ${stderr()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`slapd did not listen on ${port}: ${stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
