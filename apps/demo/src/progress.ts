import { SingleBar } from 'cli-progress';

/** A part's progress: one bar at a time, `total` units, with a free-text status after it. */
export interface Progress {
  /** Starts a bar labelled `label` (e.g. "[splat]") of `total` units; `status` is shown after the count. */
  start(label: string, total: number, status?: string): void;
  /** Moves the bar to `value` (of its total), replacing the status if one is given. */
  update(value: number, status?: string): void;
  /** Ends the bar (its last state stays on the terminal). */
  stop(): void;
}

/** Progress that shows nothing: for --json, for a stderr that is not a terminal, and for library use. */
export const noProgress: Progress = {
  start() {},
  update() {},
  stop() {},
};

/** Bars drawn with `cli-progress` on `stream` (a terminal). */
export function progressBars(stream: NodeJS.WriteStream): Progress {
  let bar: SingleBar | undefined;
  return {
    start(label, total, status = '') {
      bar?.stop();
      bar = new SingleBar({
        stream,
        format: `${label} {bar} {value}/{total} | {status} | {duration_formatted}`,
        barsize: 24,
        hideCursor: true,
        // a part's own lines follow the bar: keep it on one line, whatever the terminal width
        linewrap: false,
        fps: 10,
      });
      bar.start(total, 0, { status });
    },
    update(value, status) {
      bar?.update(value, status === undefined ? undefined : { status });
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}

/**
 * The CLI's progress: bars on stderr when it is a terminal and the output is not --json; otherwise none,
 * so pipes, files and tests see only the results.
 */
export function cliProgress(json: boolean, stream: NodeJS.WriteStream = process.stderr): Progress {
  return !json && stream.isTTY === true ? progressBars(stream) : noProgress;
}
