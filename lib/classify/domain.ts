// Domain grouping: the baseline remembers domain groups, not host names, so that
// a1.cdn.example.com and a2.cdn.example.com are one destination. A group is the registrable
// domain (eTLD+1) from the ICANN section of the Public Suffix List, except AWS names, which
// are grouped by service (ec2.amazonaws.com, s3.amazonaws.com, ...) as the alert describes.
import { getDomain } from 'tldts';
import { domainToASCII } from 'node:url';
import { awsServiceGroup } from './aws.js';

/**
 * Lower-case, no trailing dot, Unicode labels as punycode (DNS answers carry punycode, so
 * a name typed in Unicode in a config file must land on the same key).
 */
export function normalizeName(name: string): string {
  let n = name.trim().toLowerCase();
  while (n.endsWith('.')) n = n.slice(0, -1);
  if (/[^\x20-\x7e]/.test(n)) {
    const ascii = domainToASCII(n);
    if (ascii !== '') n = ascii;
  }
  return n;
}

/** True for IPv4 dotted-quad or IPv6 text (maybe bracketed): names, not addresses, are grouped by rules. */
export function isIp(name: string): boolean {
  if (name.includes(':')) return true; // no DNS name contains ':'; IPv6 (maybe bracketed)
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name);
}

function stripBrackets(name: string): string {
  return name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
}

/**
 * The registrable domain (eTLD+1) under the ICANN section of the PSL only: private
 * suffixes such as github.io or cloudfront.net are not honoured, so every user.github.io is
 * one group "github.io". undefined for IPs and for names that are themselves a public
 * suffix (co.uk, com) or a single unknown label (localhost). Hostname validation is off:
 * DNS carries names such as _sip._tcp.example.com or -x.example.com and they still group.
 */
export function registeredDomain(name: string): string | undefined {
  const n = normalizeName(name);
  if (n === '' || isIp(n)) return undefined;
  return psl(n);
}

/**
 * The domain group: AWS names grouped by service as `<service>.amazonaws.com`; else the
 * registrable domain; else the normalised name itself (a bare suffix, a single label). An
 * IP stays the IP (brackets removed, case lowered).
 */
export function domainGroup(name: string): string {
  return groupAndRegistered(name).group;
}

/** domainGroup() and registeredDomain() of a name with one Public Suffix List lookup. */
export function groupAndRegistered(name: string): { group: string; registered: string | undefined } {
  const n = normalizeName(name);
  if (isIp(n)) return { group: stripBrackets(n), registered: undefined };
  const registered = n === '' ? undefined : psl(n);
  return { group: awsServiceGroup(n) ?? registered ?? n, registered };
}

function psl(n: string): string | undefined {
  const d = getDomain(n, { allowPrivateDomains: false, validateHostname: false });
  return d === null || d === '' ? undefined : d;
}
