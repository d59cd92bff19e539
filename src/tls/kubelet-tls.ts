import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type tls from 'node:tls';
import { describeFsError, readPrivateFile } from '../fs/file-permissions.js';
import { describeCertificates } from './certificate-info.js';
import { pemBlocks } from './pem.js';
import { TlsConfigError } from './tls-config-error.js';

/**
 * The files kube-apiserver takes for talking to kubelets: `--kubelet-certificate-authority` (caFile) and
 * `--kubelet-client-certificate` / `--kubelet-client-key` (certFile / keyFile).
 */
export interface KubeletTlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/**
 * Reads and checks the files now, so a bad path, an unreadable certificate, an unsafe key or a key that
 * does not match its certificate fails at startup with a TlsConfigError naming the file, not at the
 * first kubelet probe.
 *
 * Without caFile the result carries `rejectUnauthorized: false`, as kube-apiserver does not verify kubelets
 * without `--kubelet-certificate-authority`: probes still report that the certificate is unverified.
 */
export async function loadKubeletTls(files: KubeletTlsFiles): Promise<tls.ConnectionOptions> {
  const options: tls.ConnectionOptions = {};
  if (files.caFile !== undefined) {
    options.ca = await loadCertificates(files.caFile, 'kubelet CA bundle');
  } else {
    options.rejectUnauthorized = false;
  }
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    throw new TlsConfigError('give both certFile and keyFile (the kubelet client certificate and its key), or neither', {
      file: files.certFile ?? files.keyFile,
    });
  }
  if (files.certFile !== undefined && files.keyFile !== undefined) {
    const chain = await loadCertificates(files.certFile, 'kubelet client certificate');
    const key = await loadKey(files.keyFile);
    assertPair(chain[0]!, key, files.certFile, files.keyFile);
    options.cert = chain.join('\n');
    options.key = key.export({ type: 'pkcs8', format: 'pem' });
  }
  return options;
}

/** Every block must be a readable certificate; returns them as PEM, one per element. */
async function loadCertificates(file: string, what: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new TlsConfigError(`${what} ${file} ${describeFsError(err)}`, { file, cause: err });
  }
  try {
    describeCertificates(text, `${what} ${file}`);
  } catch (err) {
    if (err instanceof TlsConfigError) throw new TlsConfigError(err.message, { file, cause: err.cause });
    throw err;
  }
  return pemBlocks(text).map((b) => b.pem);
}

async function loadKey(file: string): Promise<KeyObject> {
  const bytes = await readPrivateFile(file, 'kubelet client key', (message, cause) => new TlsConfigError(message, { file, cause }));
  try {
    return createPrivateKey(bytes);
  } catch (err) {
    // Node's message for an encrypted key without passphrase; never echo key bytes.
    const why = /passphrase/i.test((err as Error).message) ? 'it is encrypted (give an unencrypted key, as kube-apiserver needs)' : 'not a PEM or DER private key';
    throw new TlsConfigError(`kubelet client key ${file} cannot be used: ${why}`, { file });
  }
}

/** Node would only say "key values mismatch" at the first connection. */
function assertPair(certPem: string, key: KeyObject, certFile: string, keyFile: string): void {
  if (!new X509Certificate(certPem).checkPrivateKey(key)) {
    throw new TlsConfigError(`kubelet client key ${keyFile} does not belong to the certificate in ${certFile}`, { file: keyFile });
  }
}
