import { createHash } from 'node:crypto';
import { DirectoryLimits, ErrorCode } from '../../protocol/index.ts';
import { DmciError } from '../errors.ts';
import type { PhotoType } from './directory.table.ts';

export interface Photo {
  data: Buffer;
  type: PhotoType;
  etag: string;
}

/**
 * Checks a photo given as bytes or base64: at most DirectoryLimits.maxPhotoBytes,
 * and JPEG or PNG by its magic bytes (the only types address books show).
 */
export function acceptPhoto(input: Uint8Array | string): Photo {
  const data = typeof input === 'string' ? Buffer.from(input, 'base64') : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (data.length > DirectoryLimits.maxPhotoBytes) {
    throw new DmciError(ErrorCode.LIMIT_EXCEEDED, `a photo may have at most ${DirectoryLimits.maxPhotoBytes} bytes (this one has ${data.length})`, {
      details: { limit: DirectoryLimits.maxPhotoBytes, actual: data.length },
    });
  }
  const type = sniff(data);
  if (!type) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, 'a photo must be a JPEG or PNG image');
  return { data: Buffer.from(data), type, etag: createHash('sha256').update(data).digest('base64url').slice(0, 22) };
}

function sniff(data: Buffer): PhotoType | undefined {
  if (data.length >= 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'image/jpeg';
  if (data.length >= 8 && data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  return undefined;
}
