import http from 'node:http';
import { isIPv6 } from 'node:net';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { DialAbortedError, DialTimeoutError } from '../errors.js';
import { KubeletCertificateError } from './kubelet-certificate-error.js';
import { upgradeToTls } from './tls-upgrade.js';
import type { CertificateInfo } from './certificate-info.js';
import { checkKubeletTls, kubeletIdentityCheck } from './verify-kubelet.js';

/**
 * One HTTPS request to a kubelet over an already-open tunnel stream, with a verdict on its certificate:
 * what the health checker and the CLI's `check` run. Nothing is sent to the kubelet before its certificate
 * has been judged.
 */

export interface KubeletProbeNode {
  name: string;
  address: string;
}

export interface KubeletProbeResult {
  status: number;
  /** From sending the request to its response headers. */
  rttMs: number;
  /** From the start of the probe to the end of the TLS handshake. */
  handshakeMs: number;
  certificate: CertificateInfo;
  /** False only when verification was turned off (`rejectUnauthorized: false`) and it would have failed. */
  authorized: boolean;
  reason?: string;
}

/** TLS alerts a kubelet sends about our client certificate (missing, unknown CA, expired...). */
const CLIENT_CERT_ALERTS = new Set([
  'CERTIFICATE_REQUIRED',
  'BAD_CERTIFICATE',
  'UNKNOWN_CA',
  'CERTIFICATE_UNKNOWN',
  'CERTIFICATE_EXPIRED',
  'CERTIFICATE_REVOKED',
  'UNSUPPORTED_CERTIFICATE',
  'ACCESS_DENIED',
]);

/**
 * Runs TLS over `stream` (e.g. from `dialer.dial({ kind: 'kubelet', node })`) and sends `GET <path>`.
 * The certificate must chain to `tlsOptions.ca` and name the node's address or name; unless
 * `rejectUnauthorized: false` is given, a failure rejects with KubeletCertificateError. `timeoutMs` covers
 * handshake and response (DialTimeoutError); `signal` aborts (DialAbortedError). Always consumes `stream`:
 * it is closed when the probe ends.
 */
export function probeKubelet(
  stream: Duplex,
  node: KubeletProbeNode,
  tlsOptions: tls.ConnectionOptions,
  path = '/healthz',
  timeoutMs = 5000,
  signal?: AbortSignal,
): Promise<KubeletProbeResult> {
  const enforce = tlsOptions.rejectUnauthorized !== false;
  const names = [node.address, node.name];
  const port = (stream as { remotePort?: unknown }).remotePort;
  const authority = `${isIPv6(node.address) ? `[${node.address}]` : node.address}${typeof port === 'number' ? `:${port}` : ''}`;
  const target = `https://${authority}${path}`;
  const started = performance.now();

  return new Promise((resolve, reject) => {
    let stage = 'TLS handshake with the kubelet';
    let settled = false;
    let secure: tls.TLSSocket;
    try {
      // Verification is ours, after the handshake, so a refusal can say what the kubelet presented.
      secure = upgradeToTls(stream, node.address, {
        ...tlsOptions,
        rejectUnauthorized: false,
        checkServerIdentity: kubeletIdentityCheck(names),
        ALPNProtocols: ['http/1.1'],
      });
    } catch (err) {
      // tls.connect throws at once on unusable options (a malformed cert or key).
      stream.destroy();
      reject(err);
      return;
    }
    const finish = (err: Error | undefined, result?: KubeletProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      secure.destroy();
      stream.destroy();
      if (err) reject(err);
      else resolve(result!);
    };
    const fail = (err: Error): void => finish(explainTlsError(err, node.name, tlsOptions));
    const timer = setTimeout(
      () => finish(new DialTimeoutError(target, timeoutMs, stage, { node: node.name })),
      timeoutMs,
    );
    const onAbort = (): void => finish(new DialAbortedError(target, { node: node.name, cause: signal?.reason }));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    secure.on('error', fail);
    secure.once('secureConnect', () => {
      try {
        request(performance.now() - started);
      } catch (err) {
        fail(err as Error);
      }
    });

    const request = (handshakeMs: number): void => {
      const verdict = checkKubeletTls(secure, names);
      if (!verdict.certificate || (!verdict.authorized && enforce)) {
        const problem = verdict.problem ?? 'no-certificate';
        finish(new KubeletCertificateError(node.name, problem, verdict.reason ?? problem, { certificate: verdict.certificate }));
        return;
      }
      const certificate = verdict.certificate;
      stage = `waiting for the kubelet to answer GET ${path}`;
      const sent = performance.now();
      const req = http.request(
        {
          createConnection: () => secure,
          method: 'GET',
          path,
          setHost: false,
          headers: { host: authority, connection: 'close', 'user-agent': 'ssh-egress' },
        },
        (res) => {
          res.on('error', () => undefined); // we close it below, which would otherwise raise "aborted"
          res.resume();
          finish(undefined, {
            status: res.statusCode ?? 0,
            rttMs: performance.now() - sent,
            handshakeMs,
            certificate,
            authorized: verdict.authorized,
            ...(verdict.reason === undefined ? {} : { reason: verdict.reason }),
          });
        },
      );
      req.on('error', fail);
      req.end();
    };
  });
}

/** A kubelet refusing our client certificate shows up as a TLS alert, in TLS 1.3 only after the handshake. */
function explainTlsError(err: Error, node: string, tlsOptions: tls.ConnectionOptions): Error {
  const alert = /ALERT_([A-Z_]+)$/.exec(String((err as NodeJS.ErrnoException).code ?? ''))?.[1];
  if (alert === undefined || !CLIENT_CERT_ALERTS.has(alert)) return err;
  const words = alert.toLowerCase().replace(/_/g, ' ');
  const ours = tlsOptions.cert !== undefined || tlsOptions.pfx !== undefined;
  const reason = ours
    ? `kubelet refused our client certificate (TLS alert: ${words})`
    : `kubelet requires a client certificate and none is configured (TLS alert: ${words})`;
  return new KubeletCertificateError(node, 'client-cert-refused', reason, { cause: err });
}
