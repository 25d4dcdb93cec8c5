// The refusal that means "valid perhaps, but not decodable in one pass": the caller may fall back
// to qemu-img on a seekable copy.

import { PackageError } from '../../errors.js';

/**
 * A streamOptimized VMDK (or a target) the one-pass decoder cannot handle although qemu-img
 * might: grains that go backwards on a sequential sink, tables placed where a stream cannot
 * see them in time, a grain size above what the decoder buffers. Thrown before anything is
 * written when the header tells; otherwise as soon as it is seen (for a sequential sink, before
 * the offending range is sent). Exit code 3 like any PackageError.
 */
export class NotStreamableError extends PackageError {}
