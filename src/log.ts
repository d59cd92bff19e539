import winston from 'winston';

export type Logger = winston.Logger;

/** Field names whose values are never written to a log, whatever component logs them. */
const SECRET_FIELDS = /^(passphrase|password|privateKey|key|token|secret|authorization)$/i;

const redactSecrets = winston.format((info) => {
  for (const field of Object.keys(info)) {
    if (SECRET_FIELDS.test(field)) info[field] = '[redacted]';
  }
  return info;
});

export interface LoggerOptions {
  level?: string;
  format?: 'json' | 'text';
}

/** The root logger: structured JSON (or readable text) to stderr, secrets redacted. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return winston.createLogger(loggerSettings(options));
}

/**
 * Applies new options to a logger made by createLogger, in place and at once (a reload): every child
 * logger (each component's) follows, as they write through this one.
 */
export function reconfigureLogger(logger: Logger, options: LoggerOptions): void {
  logger.configure(loggerSettings(options));
}

function loggerSettings(options: LoggerOptions): winston.LoggerOptions {
  const format =
    options.format === 'text'
      ? winston.format.combine(
          redactSecrets(),
          winston.format.timestamp(),
          winston.format.printf(({ timestamp, level, message, component, ...rest }) => {
            const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
            return `${String(timestamp)} ${level} ${component ? `[${String(component)}] ` : ''}${String(message)}${extra}`;
          }),
        )
      : winston.format.combine(redactSecrets(), winston.format.timestamp(), winston.format.json());
  return {
    level: options.level ?? process.env.SSH_EGRESS_LOG_LEVEL ?? 'info',
    format,
    transports: [new winston.transports.Console({ stderrLevels: Object.keys(winston.config.npm.levels) })],
  };
}

/** A logger that discards everything: the library default, so importing it prints nothing. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
