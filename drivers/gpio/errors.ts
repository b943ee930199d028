// Typed GPIO errors. The code is stable (callers and the status page switch on it); the message names the
// bad value and what was expected (docs/design-notes.md habit 7).

export type GpioErrorCode =
  | 'GPIO_SYSFS_MISSING' // no sysfs GPIO directory: kernel without CONFIG_GPIO_SYSFS, or not a Pi
  | 'GPIO_CHIP_NOT_FOUND' // sysfs exists but no gpiochip carries an expected label
  | 'GPIO_LINE_INVALID' // a line number that is not a non-negative integer
  | 'GPIO_LINE_OUT_OF_RANGE' // line >= the chip's ngpio
  | 'GPIO_LINE_BUSY' // the line is already open in this backend
  | 'GPIO_LINE_CLOSED' // use of a line after close()/unexport()
  | 'GPIO_EXPORT_FAILED' // the kernel refused the export or the line files are not accessible
  | 'GPIO_IO' // a read or write of an open line failed
  | 'GPIO_CONFIG_INVALID'; // backend options that cannot work together

export class GpioError extends Error {
  readonly code: GpioErrorCode;
  /** The sysfs path or line the error is about, when there is one. */
  readonly path: string | undefined;

  constructor(code: GpioErrorCode, message: string, opts: { path?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'GpioError';
    this.code = code;
    this.path = opts.path;
  }
}

export function isGpioError(err: unknown, code?: GpioErrorCode): err is GpioError {
  return err instanceof GpioError && (code === undefined || err.code === code);
}

/** BCM line numbers on every Pi header are small non-negative integers. */
export function checkLineNumber(line: number): void {
  if (!Number.isInteger(line) || line < 0 || line > 1023) {
    throw new GpioError('GPIO_LINE_INVALID', `GPIO line must be an integer 0..1023, got ${String(line)}`);
  }
}
