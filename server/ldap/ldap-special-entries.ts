import { wantsName, type AttributeSelection } from './ldap-attributes.ts';
import { galBaseDn, GAL_OU, SUBSCHEMA_DN } from './ldap-dn.ts';
import type { LdapEntry } from './ldap-entry.ts';
import { PAGED_RESULTS_OID } from './ldap-paging.ts';
import { subschemaValues } from './ldap-schema.ts';

/**
 * The entries that are not directory rows: the root DSE (RFC 4512 §5.1), the
 * subschema entry (§4.2) and each domain's `ou=gal` base entry. Their
 * attributes are operational in the RFC, but many address-book clients read
 * the root DSE without asking for them by name, so dmci returns them all for
 * an empty, `*` or `+` attribute list.
 */
export interface Synthetic {
  dn: string;
  attributes: Record<string, string[]>;
}

export const VENDOR_NAME = 'dmci';

/** The StartTLS extended operation (RFC 4511 §4.14), advertised when the plain port offers it. */
export const STARTTLS_OID = '1.3.6.1.4.1.1466.20037';

export function rootDse(namingContexts: string[], vendorVersion: string, supportedExtension: string[] = []): Synthetic {
  return {
    dn: '',
    attributes: {
      objectClass: ['top', 'extensibleObject'],
      namingContexts,
      supportedLDAPVersion: ['3'],
      supportedControl: [PAGED_RESULTS_OID],
      supportedExtension,
      supportedFeatures: ['1.3.6.1.4.1.4203.1.5.1' /* all operational attributes: "+" (RFC 3673) */],
      supportedSASLMechanisms: [],
      subschemaSubentry: [SUBSCHEMA_DN],
      vendorName: [VENDOR_NAME],
      vendorVersion: [vendorVersion],
    },
  };
}

export function subschemaEntry(): Synthetic {
  const { attributeTypes, objectClasses } = subschemaValues();
  return {
    dn: SUBSCHEMA_DN,
    attributes: { objectClass: ['top', 'subentry', 'subschema'], cn: ['Subschema'], objectClasses, attributeTypes },
  };
}

export function galBaseEntry(domain: string): Synthetic {
  return {
    dn: galBaseDn(domain),
    attributes: {
      objectClass: ['top', 'organizationalUnit'],
      ou: [GAL_OU],
      description: [`Global Address List of ${domain}`],
      hasSubordinates: ['TRUE'],
      subschemaSubentry: [SUBSCHEMA_DN],
    },
  };
}

const OPERATIONAL = new Set(['hassubordinates', 'subschemasubentry']);

export function syntheticToEntry(entry: Synthetic, selection: AttributeSelection, typesOnly: boolean, lenient: boolean): LdapEntry {
  const attributes: LdapEntry['attributes'] = [];
  for (const [name, values] of Object.entries(entry.attributes)) {
    if (values.length === 0) continue;
    const lower = name.toLowerCase();
    const operational = !lenient && OPERATIONAL.has(lower);
    const wanted = wantsName(selection, lower, operational) || (lenient && (selection.allUser || selection.allOperational));
    if (wanted) attributes.push({ type: name, values: typesOnly ? [] : values });
  }
  return { dn: entry.dn, attributes };
}
