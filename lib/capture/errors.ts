/** A capture file or interface could not be opened; the message names it and the fix. */
export class CaptureError extends Error {
  override name = 'CaptureError';
}
