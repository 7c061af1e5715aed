// Text shown to people: names and messages may hold anything a file name can.

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\" };

/**
 * `s` with C0 and C1 control characters, DEL and backslashes escaped (\n, \t, \x1b, \\),
 * as `ls -b` and git quote names: a file named "a\nb" must not read as two lines, and
 * an ANSI escape in a name must not reach the terminal.
 */
export function escapeControls(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return s.replace(/[\u0000-\u001f\u007f-\u009f\\]/g, (c) => NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
