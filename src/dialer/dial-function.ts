import type { Duplex } from 'node:stream';
import type { AddressTarget } from './target.js';

/**
 * Opens a stream to host:port. The HTTP adapters take this, not the Dialer (as undici's connector is a
 * plain function), so they depend on nothing but a way to dial.
 */
export type DialFunction = (target: AddressTarget) => Promise<Duplex>;
