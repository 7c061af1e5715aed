// Progress on a TTY (bytes, files, new bytes so far, rate); nothing when piped or --json.

import cliProgress from "cli-progress";
import { formatBytes } from "./output.js";

export interface ProgressView {
  /** `fields` is asked only when the bar is drawn: a push reports every file, a million of them. */
  update(done: number, total: number, fields: () => Record<string, string>): void;
  stop(): void;
}

export function progressBar(label: string, enabled: boolean): ProgressView {
  if (!enabled || !process.stderr.isTTY) return { update() {}, stop() {} };
  const start = Date.now();
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | {doneBytes}/{totalBytes} | {files} | {extra} | {rate}`,
      hideCursor: true,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let drawn = 0;
  return {
    update(done, total, fields) {
      const now = Date.now();
      if (started && now - drawn < 100 && done < total) return; // the bar redraws 5 times a second
      drawn = now;
      const secs = Math.max((now - start) / 1000, 0.001);
      const payload = { ...fields(), doneBytes: formatBytes(done), totalBytes: formatBytes(total), rate: `${formatBytes(done / secs)}/s` };
      if (!started) {
        bar.start(Math.max(total, 1), done, payload);
        started = true;
      } else bar.update(done, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
