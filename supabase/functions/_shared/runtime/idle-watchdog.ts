/**
 * One timer per stream that fires once nothing happened for `ms`. `touch()`
 * only records the time (cheap enough to call per chunk); the timer re-arms
 * itself for the remainder when it fires early.
 */

/** A running watchdog. */
export interface IdleWatchdog {
  /** True once it fired. */
  readonly fired: boolean;
  /** Records activity. */
  touch(): void;
  /** Stops it for good. */
  stop(): void;
}

/** Starts a watchdog calling `onIdle` after `ms` without `touch()`. */
export function idleWatchdog(ms: number, onIdle: () => void): IdleWatchdog {
  let last = performance.now();
  let fired = false;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const check = () => {
    if (stopped) return;
    const quiet = performance.now() - last;
    if (quiet >= ms) {
      fired = true;
      onIdle();
    } else {
      timer = setTimeout(check, ms - quiet);
    }
  };
  timer = setTimeout(check, ms);
  return {
    get fired() {
      return fired;
    },
    touch: () => {
      last = performance.now();
    },
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
