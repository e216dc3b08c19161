/**
 * The terminal view: one status line pinned at the bottom of the terminal, redrawn in place,
 * with hits and log lines scrolling above it.
 *
 * Hits (stdout) and the status (stderr) may go to the same terminal. Every write to it goes
 * through `StatusLine.above`, which clears the status line, writes the text, and draws the
 * status again below it, so no hit is ever appended onto the status. Terminal writes are
 * synchronous in Node, so the three steps reach the screen in order, whichever stream they use.
 *
 * Widths are display columns (`東京` takes four, an emoji two, a combining accent none), measured
 * by `string-width`, so columns line up whatever the script.
 *
 * @since 0.1.0
 */
import stringWidth from "string-width"

const clearLine = "\r\x1b[K"

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" })

/**
 * Display columns of a text.
 *
 * @since 0.1.0
 */
export const width = (text: string): number => stringWidth(text)

/**
 * The longest prefix of `text` that fits in `columns`, whole characters only.
 *
 * @since 0.1.0
 */
export const truncate = (text: string, columns: number): string => {
  if (width(text) <= columns) return text
  let out = ""
  let used = 0
  for (const { segment } of segmenter.segment(text)) {
    const w = width(segment)
    if (used + w > columns) break
    out += segment
    used += w
  }
  return out
}

/**
 * `text` in exactly `columns` display columns: cut to fit, or padded with spaces.
 *
 * @since 0.1.0
 */
export const padEnd = (text: string, columns: number): string => {
  const cut = truncate(text, columns)
  return cut + " ".repeat(Math.max(0, columns - width(cut)))
}

/**
 * The status line, pinned at the bottom of a terminal.
 *
 * @since 0.1.0
 */
export class StatusLine {
  private line = ""
  private readonly write: (text: string) => void
  private readonly columns: () => number

  constructor(write: (text: string) => void, columns: () => number) {
    this.write = write
    this.columns = columns
  }

  /** Replaces the status, in place. One column is left free: a full line would wrap. */
  show(line: string): void {
    this.line = truncate(line.replace(/[\r\n]/g, " "), Math.max(1, this.columns() - 1))
    this.write(clearLine + this.line)
  }

  /**
   * Writes lines above the status: clear it, write, draw it again. `write` defaults to the
   * status line's own stream; hits pass their own (stdout).
   */
  above(text: string, write: (text: string) => void = this.write): void {
    if (text.length === 0) return
    this.write(clearLine)
    write(text.endsWith("\n") ? text : text + "\n")
    if (this.line.length > 0) this.write(this.line)
  }

  /** Takes the status line off the screen for good (at the end of a run). */
  clear(): void {
    if (this.line.length > 0) this.write(clearLine)
    this.line = ""
  }
}

/**
 * A status line on stderr when stderr is a terminal; `undefined` otherwise, and then nothing
 * about the output changes.
 *
 * @since 0.1.0
 */
export const forStderr = (): StatusLine | undefined =>
  process.stderr.isTTY === true
    ? new StatusLine(
        (text) => void process.stderr.write(text),
        () => process.stderr.columns ?? 80
      )
    : undefined
