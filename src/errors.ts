// one registry of coded errors. every error a user may see carries a stable code (TDF_*)
// and a message that says what failed, where, and what to do.

export class ForwarderError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'ForwarderError';
  }
}

/** a config file, flag or env var has a bad value; message names the file, key and what was expected */
export class ConfigError extends ForwarderError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TDF_CONFIG', message, options);
    this.name = 'ConfigError';
  }
}

/** the spool reached its byte bound: ingest answers 503 + Retry-After, the poller waits */
export class SpoolFullError extends ForwarderError {
  constructor(message = 'spool is full: waiting for Datadog to accept queued records') {
    super('TDF_SPOOL_FULL', message);
    this.name = 'SpoolFullError';
  }
}

/** the spool is closed (shutting down): ingest answers 503, sources stop */
export class SpoolClosedError extends ForwarderError {
  constructor() {
    super('TDF_SPOOL_CLOSED', 'spool is closed: the forwarder is shutting down');
    this.name = 'SpoolClosedError';
  }
}

/** a request body could not be decoded; the message is sent back in the 400 body */
export class DecodeError extends ForwarderError {
  readonly status: number;
  constructor(message: string, status = 400) {
    super('TDF_DECODE', message);
    this.status = status;
    this.name = 'DecodeError';
  }
}

/** the storage directory is unusable (locked by another instance, corrupt, unwritable) */
export class StorageError extends ForwarderError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TDF_STORAGE', message, options);
    this.name = 'StorageError';
  }
}

/** a TLS file (cert, key, CA, identity) is missing, unreadable, expired or does not match */
export class TlsFileError extends ForwarderError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TDF_TLS', message, options);
    this.name = 'TlsFileError';
  }
}

/** a request to the datadog intake got no http answer (connect refused, tls failure, reset, timeout); retried */
export class IntakeNetworkError extends ForwarderError {
  readonly timeout: boolean;
  constructor(message: string, options?: { cause?: unknown; timeout?: boolean }) {
    super(options?.timeout === true ? 'TDF_INTAKE_TIMEOUT' : 'TDF_INTAKE_NETWORK', message, options);
    this.timeout = options?.timeout === true;
    this.name = 'IntakeNetworkError';
  }
}

/** a fluent.conf that fluentd itself would refuse (migrate, or start --config fluent.conf); names the file and line */
export class FluentConfigError extends ConfigError {
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, message: string, options?: { cause?: unknown }) {
    super(`${file}:${line}: ${message}`, options);
    this.name = 'FluentConfigError';
    this.file = file;
    this.line = line;
  }
}

/** `configure` cannot write its files: they exist already (without --force), or an option is invalid */
export class SetupError extends ForwarderError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TDF_SETUP', message, options);
    this.name = 'SetupError';
  }
}

/** the Teleport Auth Service keeps refusing the poller (role, identity, TLS trust): waiting will not fix it */
export class TeleportAccessError extends ForwarderError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TDF_TELEPORT_ACCESS', message, options);
    this.name = 'TeleportAccessError';
  }
}

/** a dry run routed and logged an ingest request's records but keeps nothing: answered 503, so the client keeps them */
export class DryRunNotKeptError extends ForwarderError {
  constructor() {
    super(
      'TDF_DRY_RUN',
      'dry run: the records were routed and logged but not kept, so they are not acknowledged; send them again to a forwarder that is not in dry run',
    );
    this.name = 'DryRunNotKeptError';
  }
}
