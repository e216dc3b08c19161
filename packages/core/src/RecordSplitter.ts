/**
 * Uncompressed Live Stream body bytes to record texts: CRLF-separated, a record may span chunks,
 * and so may a UTF-8 character or the CR and LF of one separator. Pure and synchronous.
 *
 * @since 0.1.0
 */
import * as Hit from "./Hit.ts"

/**
 * The default limit on one record's length: 1 MiB. Live Stream hits are a few KB; a record far
 * longer is a broken or hostile server, and holding it would let one record take the memory.
 *
 * @since 0.1.0
 */
export const defaultMaxRecordBytes = 1024 * 1024

const previewLength = 120

// UTF-8 length of decoded text. Only called for records near the limit: below a third of it in
// UTF-16 units a record is under the limit whatever its characters.
const utf8Length = (text: string): number => {
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    bytes += c < 0x80 ? 1 : c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 2 : 3
  }
  return bytes
}

/**
 * What the splitter emits: a record's text, or a record skipped for its length.
 *
 * @since 0.1.0
 */
export type Split = string | Hit.MalformedRecord

/**
 * Splits uncompressed body bytes into record texts. Keeps the incomplete tail of the last chunk
 * until the next one completes it.
 *
 * A record longer than `maxRecordBytes` is skipped as it streams in: once its received part is
 * past the limit, its bytes are counted and dropped up to the next line feed, and a
 * `MalformedRecord` with reason `TooLong` and its size stands in its place. Memory is bounded by
 * the limit, not by the record; the records after it come through as usual.
 *
 * @since 0.1.0
 */
export class RecordSplitter {
  // `stream: true` keeps a multi-byte character split across chunks until its last byte.
  private decoder = new TextDecoder("utf-8")
  private tail = ""
  /** Bytes of the incomplete record received so far (a trailing CR included). */
  private tailBytes = 0
  /** Bytes of the over-long record being skipped, or -1 when not skipping. */
  private skipped = -1
  private skippedPreview = ""
  private lastWasCr = false

  readonly maxRecordBytes: number

  constructor(maxRecordBytes: number = defaultMaxRecordBytes) {
    this.maxRecordBytes = maxRecordBytes
  }

  /** The records completed by this chunk, in order. */
  push(bytes: Uint8Array): Array<Split> {
    const out: Array<Split> = []
    this.pushInto(bytes, out)
    return out
  }

  /** The last record when the body ends without a final separator. */
  end(): Array<Split> {
    const out: Array<Split> = []
    this.endInto(out)
    return out
  }

  /** `push`, appending to `out`. */
  pushInto(bytes: Uint8Array, out: Array<Split>): void {
    if (bytes.length === 0) return
    if (this.skipped >= 0) {
      const lf = bytes.indexOf(10)
      if (lf === -1) {
        this.skipped += bytes.length
        this.lastWasCr = bytes[bytes.length - 1] === 13
        return
      }
      const cr = lf > 0 ? bytes[lf - 1] === 13 : this.lastWasCr
      out.push(this.tooLong(this.skipped + lf - (cr ? 1 : 0), this.skippedPreview))
      this.skipped = -1
      this.skippedPreview = ""
      if (lf + 1 === bytes.length) return
      bytes = bytes.subarray(lf + 1)
    }
    const max = this.maxRecordBytes
    // No line feed, and already too long with this chunk: start skipping without decoding it.
    if (this.tailBytes + bytes.length > max + 1 && bytes.indexOf(10) === -1) {
      this.tailBytes += bytes.length
      this.startSkipping(bytes, false)
      return
    }
    const decoded = this.decoder.decode(bytes, { stream: true })
    let lf = decoded.indexOf("\n")
    if (lf === -1) {
      this.tail += decoded
      this.tailBytes += bytes.length
      if (this.tailBytes > max + 1) this.startSkipping(bytes, true)
      return
    }
    // The first record completes the tail. A CR that ended the previous chunk is in the tail:
    // the pair is whole by now, whatever the chunk boundary.
    let record = this.tail + decoded.slice(0, lf)
    if (record.charCodeAt(record.length - 1) === 13) record = record.slice(0, -1)
    if (record.length > 0) out.push(this.check(record))
    let start = lf + 1
    while ((lf = decoded.indexOf("\n", start)) !== -1) {
      const end = lf > start && decoded.charCodeAt(lf - 1) === 13 ? lf - 1 : lf
      if (end > start) out.push(this.check(decoded.slice(start, end)))
      start = lf + 1
    }
    this.tail = start === decoded.length ? "" : decoded.slice(start)
    this.tailBytes = bytes.length - (bytes.lastIndexOf(10) + 1)
    if (this.tailBytes > max + 1) this.startSkipping(bytes, true)
  }

  /** `end`, appending to `out`. */
  endInto(out: Array<Split>): void {
    if (this.skipped >= 0) {
      out.push(this.tooLong(this.skipped - (this.lastWasCr ? 1 : 0), this.skippedPreview))
      this.skipped = -1
      this.skippedPreview = ""
      this.decoder = new TextDecoder("utf-8")
      return
    }
    let text = this.tail + this.decoder.decode()
    this.tail = ""
    this.tailBytes = 0
    if (text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1)
    if (text.length > 0) out.push(this.check(text))
  }

  private startSkipping(bytes: Uint8Array, inTail: boolean): void {
    this.skipped = this.tailBytes
    this.skippedPreview =
      inTail || this.tail.length >= previewLength
        ? this.tail.slice(0, previewLength)
        : (this.tail + new TextDecoder().decode(bytes.subarray(0, previewLength))).slice(0, previewLength)
    this.lastWasCr = bytes[bytes.length - 1] === 13
    this.tail = ""
    this.tailBytes = 0
    // Whatever partial character the decoder held belongs to the skipped record.
    this.decoder = new TextDecoder("utf-8")
  }

  private check(record: string): Split {
    const max = this.maxRecordBytes
    if (record.length * 3 <= max) return record
    const bytes = utf8Length(record)
    return bytes > max ? this.tooLong(bytes, record.slice(0, previewLength)) : record
  }

  private tooLong(bytes: number, preview: string): Hit.MalformedRecord {
    return new Hit.MalformedRecord({
      reason: "TooLong",
      message: `a record of ${bytes} bytes is longer than maxRecordBytes (${this.maxRecordBytes}); it was skipped`,
      preview: preview.length === previewLength ? preview + "…" : preview,
      length: bytes
    })
  }
}
