/**
 * The bytes an HTTP CONNECT front end writes. kube-apiserver demands status 200 exactly and fails if any
 * byte follows the head before it speaks, so success is the bare status line and an empty line.
 */
export const CONNECTION_ESTABLISHED: Buffer = Buffer.from('HTTP/1.1 200 Connection established\r\n\r\n', 'latin1');

export const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  403: 'Forbidden',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** A complete refusal: status line, plain-text body with a one-line reason, `Connection: close`. */
export function errorResponse(status: number, reason: string, extraHeaders: Readonly<Record<string, string>> = {}): Buffer {
  // The reason may quote the client's target: keep it to one printable line.
  const body = `${reason.replace(/[\x00-\x1f\x7f]+/g, ' ').slice(0, 512)}\n`;
  const headers = {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    ...extraHeaders,
    Connection: 'close',
  };
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return Buffer.from(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n${head}\r\n${body}`, 'utf8');
}
