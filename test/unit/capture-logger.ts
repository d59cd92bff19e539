// A winston logger that keeps every entry in memory, for tests that assert on what was logged.
import { Writable } from 'node:stream';
import winston from 'winston';
import type { Logger } from '../../src/log.js';

export interface LogEntry {
  level: string;
  message: string;
  [field: string]: unknown;
}

export function captureLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const stream = new Writable({
    objectMode: true,
    write(info: LogEntry, _encoding, done) {
      entries.push({ ...info });
      done();
    },
  });
  const logger = winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream })] });
  return { logger, entries };
}
