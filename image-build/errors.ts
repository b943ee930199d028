// Typed errors for the image builder. Codes are stable: the CLI maps them to exit messages and tests
// match on them, so never rename one; add new codes instead (docs/design-notes.md habit 7).

export type ImageErrorCode =
  | 'IMAGE_MISSING' // the base image path does not exist or is not a regular file
  | 'IMAGE_TRUNCATED' // the file ends before its partitions do, or the .xz stream ends early
  | 'IMAGE_LAYOUT' // not MBR + FAT 'bootfs' + ext4 'rootfs'
  | 'IMAGE_TOO_SMALL' // too small to hold an MBR, or bootfs has no room for what gdo adds
  | 'IMAGE_CORRUPT' // a filesystem check or the .xz decoder failed on the base
  | 'IMAGE_NO_SPACE' // the output directory cannot hold the work files and the output
  | 'IMAGE_BUNDLE_MISSING' // dist/gdo.js (or the given bundle) is missing: `npm run build` first
  | 'IMAGE_SITE' // the --site file is unreadable or not a JSON object
  | 'IMAGE_OUTPUT' // the output path is unusable (same as the base, directory missing)
  | 'IMAGE_TOOL_MISSING' // a host tool (sfdisk, mtools, e2fsprogs, xz, cross compiler) is not installed
  | 'IMAGE_TOOL_FAILED' // a host tool failed on our own intermediate files
  | 'IMAGE_RUNTIME' // the arm64 Node runtime could not be fetched or is malformed
  | 'IMAGE_ADDONS' // arm64 native addons could not be built or the injected ones are incomplete
  | 'IMAGE_VERIFY'; // the finished image failed its checks; it was not published

export class ImageError extends Error {
  readonly code: ImageErrorCode;
  readonly detail: string | undefined;

  constructor(code: ImageErrorCode, message: string, detail?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageError';
    this.code = code;
    this.detail = detail;
  }
}

export function isImageError(err: unknown, code?: ImageErrorCode): err is ImageError {
  return err instanceof ImageError && (code === undefined || err.code === code);
}

/** Node's ENOSPC / EDQUOT while writing become IMAGE_NO_SPACE; anything else passes through. */
export function mapWriteError(err: unknown, where: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new ImageError('IMAGE_NO_SPACE', `no space left while writing ${where}`, undefined, { cause: err });
  }
  return err;
}
