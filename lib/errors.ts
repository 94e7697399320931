/**
 * Typed errors of the core. Their messages are written for the person who drew the flow: they say what
 * was wrong and what to do, and never carry a secret.
 */
export class VoiceError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A value from a flow (a number, a digit string, an option) is not acceptable. Nothing was sent. */
export class InvalidInputError extends VoiceError {
  constructor(message: string) {
    super(message, 'EINVAL');
  }
}

/** The call named in the message does not exist on this line (or has ended). */
export class UnknownCallError extends VoiceError {
  constructor(message: string) {
    super(message, 'ENOCALL');
  }
}

/** The call exists but is not in a state where this action makes sense (answering an active call...). */
export class CallStateError extends VoiceError {
  constructor(message: string) {
    super(message, 'ESTATE');
  }
}

/** The line is not connected (port closed, modem not ready). */
export class LineNotReadyError extends VoiceError {
  constructor(message: string) {
    super(message, 'ENOTREADY');
  }
}

/** This line (its backend, or its module) cannot do what was asked. */
export class NotSupportedError extends VoiceError {
  constructor(message: string) {
    super(message, 'ENOTSUP');
  }
}

/** The modem or server refused a command. */
export class CommandFailedError extends VoiceError {
  constructor(
    message: string,
    readonly evidence?: string,
  ) {
    super(message, 'EFAILED');
  }
}

/**
 * A file cannot be used: it does not exist or cannot be opened, it is not a regular file (a folder,
 * a FIFO, a device), it is over the size limit, or it is an existing file that is not a WAV where a
 * recording would overwrite it.
 */
export class FileAccessError extends VoiceError {
  constructor(message: string) {
    super(message, 'EFILE');
  }
}

/**
 * A path from a message is not allowed: it leads outside the node's folder (`../`, an absolute path
 * elsewhere, a symbolic link out), or the node does not take paths from messages.
 */
export class PathNotAllowedError extends VoiceError {
  constructor(message: string) {
    super(message, 'EPATH');
  }
}

/** The message itself cannot be read: a property whose getter or Proxy throws, a structure that cannot be walked. */
export class BadMessageError extends VoiceError {
  constructor(message: string) {
    super(message, 'EBADMSG');
  }
}
