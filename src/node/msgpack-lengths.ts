/**
 * How msgpack writes the length of a map, an array, a string or a byte array: a "fix" form that
 * carries small lengths in its first byte, then forms with an 8-, 16- or 32-bit big-endian length
 * after their code. The direct record reader and writer (record-reader.ts, record-writer.ts)
 * share these tables, so each knows every form from one place.
 */
export interface LengthForms {
  /** First code of the fix form; the length is added to it. */
  readonly fix: number;
  /** Lengths the fix form carries (0: the kind has none). */
  readonly fixCount: number;
  /** Codes of the 8-, 16- and 32-bit forms (0: the kind has no 8-bit form). */
  readonly c8: number;
  readonly c16: number;
  readonly c32: number;
}

export const MAP_LENGTH: LengthForms = { fix: 0x80, fixCount: 16, c8: 0, c16: 0xde, c32: 0xdf };
export const ARRAY_LENGTH: LengthForms = { fix: 0x90, fixCount: 16, c8: 0, c16: 0xdc, c32: 0xdd };
export const STR_LENGTH: LengthForms = { fix: 0xa0, fixCount: 32, c8: 0xd9, c16: 0xda, c32: 0xdb };
export const BIN_LENGTH: LengthForms = { fix: 0, fixCount: 0, c8: 0xc4, c16: 0xc5, c32: 0xc6 };
