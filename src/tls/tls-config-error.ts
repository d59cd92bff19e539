import { EgressError, type EgressErrorDetails } from '../errors.js';

/** A CA bundle, certificate or key file for TLS that cannot be used; `file` names it. */
export class TlsConfigError extends EgressError {
  readonly file: string | undefined;
  constructor(message: string, details: EgressErrorDetails & { file?: string } = {}) {
    super('ERR_TLS_CONFIG', message, details);
    this.file = details.file;
  }
}
