// The TLS files of forwarding (--collector-ca, --collector-cert, --collector-key), shared by
// the HTTP and the syslog forwarders: read once at start and handed to OpenSSL there, so a bad
// path or a file that is not PEM fails the start with the flag named, instead of every later
// connection failing. (OpenSSL takes a CA file with no certificate in it without a word.)
import fs from 'node:fs';
import tls from 'node:tls';

export class TlsFilesError extends Error {
  override name = 'TlsFilesError';
}

export interface TlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

const FLAG: Record<keyof TlsFiles, string> = { caFile: '--collector-ca', certFile: '--collector-cert', keyFile: '--collector-key' };

/** The files' contents, checked by OpenSSL; throws TlsFilesError naming the flag and the fix. */
export function readTlsFiles(files: TlsFiles): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    throw new TlsFilesError('--collector-cert and --collector-key go together (fix: set both for client authentication, or neither)');
  }
  const read = (k: keyof TlsFiles): Buffer | undefined => {
    const file = files[k];
    if (file === undefined) return undefined;
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new TlsFilesError(`cannot read ${FLAG[k]} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)} (fix: point ${FLAG[k]} at a readable PEM file)`);
    }
  };
  const out = { ca: read('caFile'), cert: read('certFile'), key: read('keyFile') };
  if (out.ca !== undefined && !out.ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new TlsFilesError(`${FLAG.caFile} ${files.caFile} holds no PEM certificate (fix: the collector's CA certificate, "-----BEGIN CERTIFICATE-----" ...)`);
  }
  try {
    tls.createSecureContext(out);
  } catch (err) {
    const given = (Object.keys(FLAG) as (keyof TlsFiles)[]).filter((k) => files[k] !== undefined).map((k) => `${FLAG[k]} ${files[k]}`).join(', ');
    throw new TlsFilesError(`cannot use ${given}: ${(err as Error).message} (fix: PEM files: the CA certificate, the client certificate and its private key)`);
  }
  return out;
}
