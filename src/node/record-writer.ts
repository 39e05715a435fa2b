import { Buffer } from 'node:buffer';
import type { Sibling, VersionedRecord } from '../core/siblings.ts';
import type { VersionVector } from '../core/version-vector.ts';
import { ARRAY_LENGTH, BIN_LENGTH, STR_LENGTH, type LengthForms } from './msgpack-lengths.ts';

/**
 * Writes a plain record (no document) in exactly the bytes msgpackr writes for
 * `recordToWire(record)` (record-codec.ts), straight from the record: no positional copy of it
 * first, no generic type dispatch per value. Every coordinated write encodes its record once.
 *
 * Exactly the same bytes, not just an equivalent encoding: replicas compare stored encodings byte
 * for byte (`sameBytes`), so one record must have one encoding whichever writer wrote it. The
 * rules below are msgpackr's (pack.js, `useRecords: false`): objects as map16 with their own keys
 * in enumeration order, integers in the smallest form (`>>> 0` / `>> 0` tests, so -0 is 0),
 * other numbers as float64, strings as UTF-8 with lone surrogates as U+FFFD and the smallest
 * header for their byte length, byte arrays as bin. test/node/record-writer.test.ts compares
 * the two on arbitrary records.
 */
export function writeRecord(r: VersionedRecord): Buffer {
  at = 0;
  mapHeader16(2);
  fixKey(0x63); // 'c'
  vector(r.context);
  fixKey(0x73); // 's'
  const n = r.siblings.length;
  length(ARRAY_LENGTH, n);
  for (let i = 0; i < n; i++) sibling(r.siblings[i]!);
  const out = Buffer.allocUnsafe(at);
  out.set(scratch.subarray(0, at));
  return out;
}

/** Where records are written before being copied out (grown for large values, kept). */
let scratch = Buffer.allocUnsafe(4096);
let at = 0;

function room(n: number): void {
  if (at + n <= scratch.length) return;
  const grown = Buffer.allocUnsafe(Math.max(2 * scratch.length, at + n));
  scratch.copy(grown, 0, 0, at);
  scratch = grown;
}

function sibling(s: Sibling): void {
  length(ARRAY_LENGTH, 7);
  text(s.dot.actor);
  number(s.dot.counter);
  vector(s.seen);
  bin(s.value);
  text(s.contentType);
  room(1);
  scratch[at++] = s.deleted ? 0xc3 : 0xc2;
  number(s.writtenAtMs);
}

/** A vector as msgpackr writes any object: map16, own keys in enumeration order. */
function vector(vv: VersionVector): void {
  const start = at;
  mapHeader16(0);
  let size = 0;
  for (const actor in vv) {
    text(actor);
    number(vv[actor]!);
    size++;
  }
  scratch[start + 1] = size >> 8;
  scratch[start + 2] = size & 0xff;
}

function mapHeader16(size: number): void {
  room(3);
  scratch[at++] = 0xde;
  scratch[at++] = size >> 8;
  scratch[at++] = size & 0xff;
}

function fixKey(letter: number): void {
  room(2);
  scratch[at++] = 0xa1;
  scratch[at++] = letter;
}

/** `n` in the smallest of the length forms `forms` has (msgpackr's choice too). */
function length(forms: LengthForms, n: number): void {
  room(5);
  if (n < forms.fixCount) scratch[at++] = forms.fix + n;
  else if (n < 0x100 && forms.c8 !== 0) {
    scratch[at++] = forms.c8;
    scratch[at++] = n;
  } else if (n < 0x10000) {
    scratch[at++] = forms.c16;
    scratch[at++] = n >> 8;
    scratch[at++] = n & 0xff;
  } else {
    scratch[at++] = forms.c32;
    at = scratch.writeUInt32BE(n, at);
  }
}

function number(value: number): void {
  room(9);
  if (value >>> 0 === value) {
    if (value < 0x80) scratch[at++] = value;
    else if (value < 0x100) {
      scratch[at++] = 0xcc;
      scratch[at++] = value;
    } else if (value < 0x10000) {
      scratch[at++] = 0xcd;
      scratch[at++] = value >> 8;
      scratch[at++] = value & 0xff;
    } else {
      scratch[at++] = 0xce;
      at = scratch.writeUInt32BE(value >>> 0, at);
    }
  } else if (value >> 0 === value) {
    if (value >= -0x20) scratch[at++] = 0x100 + value;
    else if (value >= -0x80) {
      scratch[at++] = 0xd0;
      scratch[at++] = value + 0x100;
    } else if (value >= -0x8000) {
      scratch[at++] = 0xd1;
      at = scratch.writeInt16BE(value, at);
    } else {
      scratch[at++] = 0xd2;
      at = scratch.writeInt32BE(value, at);
    }
  } else {
    scratch[at++] = 0xcb;
    at = scratch.writeDoubleBE(value, at);
  }
}

function bin(value: Uint8Array): void {
  const n = value.length;
  length(BIN_LENGTH, n);
  room(n);
  scratch.set(value, at);
  at += n;
}

/** A string: ASCII copied as it is, anything else through Buffer's UTF-8 (U+FFFD for lone surrogates). */
function text(s: string): void {
  const units = s.length;
  let ascii = true;
  for (let i = 0; i < units; i++) {
    if (s.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  const n = ascii ? units : Buffer.byteLength(s, 'utf8');
  length(STR_LENGTH, n);
  room(n);
  if (ascii) for (let i = 0; i < units; i++) scratch[at++] = s.charCodeAt(i);
  else at += scratch.write(s, at, 'utf8');
}
