/**
 * Splits PEM text into its blocks. Text between blocks is allowed (openssl and many CA bundles put
 * "subject=..." lines or comments there); a BEGIN without its END is not, so a truncated file is noticed.
 */

export interface PemBlock {
  /** The label, e.g. "CERTIFICATE" or "RSA PRIVATE KEY". */
  type: string;
  /** The block as it appeared, BEGIN to END line. */
  pem: string;
  der: Buffer;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

/** Throws an Error naming the block (1-based) that is malformed. */
export function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const [pem, type = '', body = '', end = ''] = m;
    const n = blocks.length + 1;
    if (end !== type) throw new Error(`block ${n} begins as ${type} but ends as ${end}`);
    // Old-style encrypted keys carry "Proc-Type:"/"DEK-Info:" header lines; base64 never holds a colon.
    const compact = body
      .split('\n')
      .filter((line) => !line.includes(':'))
      .join('')
      .replace(/\s+/g, '');
    if (compact === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) throw new Error(`block ${n} (${type}) is not valid base64`);
    blocks.push({ type, pem, der: Buffer.from(compact, 'base64') });
  }
  const begins = text.match(/-----BEGIN /g)?.length ?? 0;
  if (begins !== blocks.length) throw new Error(`block ${blocks.length + 1} has no matching END line (truncated file?)`);
  return blocks;
}
