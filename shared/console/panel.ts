/// <reference lib="dom" />
/**
 * The frame every panel shares: a labelled section with a heading, a
 * Refresh button, a status line read out by screen readers, and a body.
 * `guarded` runs a panel's loading so that a 403 says "admins only" and any
 * other failure shows its message, instead of breaking the page.
 */
import { h, uid } from "./dom.ts";
import { describeError, isForbidden } from "./errors.ts";

/** A panel's parts. */
export interface Panel {
  root: HTMLElement;
  body: HTMLElement;
  /** Shows `text` in the status line (`kind` styles it), or clears it. */
  setStatus(text?: string, kind?: "info" | "error" | "notice"): void;
  /** Runs the panel's refresh (also what the Refresh button does). */
  refresh(): Promise<void>;
}

/** Builds a panel; `load` fills `body` and is run by Refresh (and by `refresh()`). */
export function createPanel(options: {
  id: string;
  title: string;
  intro?: string;
  wide?: boolean;
  load?: (panel: Panel) => Promise<void>;
}): Panel {
  const headingId = uid(`${options.id}-title`);
  const status = h("p", { class: "status", role: "status", hidden: true });
  const body = h("div", { class: "panel-body" });
  const refreshButton = options.load
    ? h("button", {
      type: "button",
      class: "secondary",
      "aria-label": `Refresh ${options.title.toLowerCase()}`,
    }, "Refresh")
    : null;
  const root = h(
    "section",
    {
      id: options.id,
      class: options.wide ? "panel wide" : "panel",
      "aria-labelledby": headingId,
      "aria-busy": "false",
    },
    h("div", { class: "panel-head" }, h("h2", { id: headingId }, options.title), refreshButton),
    options.intro ? h("p", { class: "intro" }, options.intro) : null,
    status,
    body,
  );
  const panel: Panel = {
    root,
    body,
    setStatus(text, kind = "info") {
      status.textContent = text ?? "";
      status.hidden = !text;
      status.dataset.kind = kind;
    },
    async refresh() {
      if (!options.load) return;
      root.setAttribute("aria-busy", "true");
      if (refreshButton) refreshButton.disabled = true;
      try {
        await guarded(panel, () => options.load!(panel));
      } finally {
        root.setAttribute("aria-busy", "false");
        if (refreshButton) refreshButton.disabled = false;
      }
    },
  };
  refreshButton?.addEventListener("click", () => panel.refresh());
  return panel;
}

/**
 * Runs `work` for `panel`: clears the status first; on a 403 empties the body
 * and says the panel is for admins; on another failure shows what went wrong.
 */
export async function guarded(panel: Panel, work: () => Promise<void>): Promise<void> {
  panel.setStatus();
  try {
    await work();
  } catch (error) {
    if (isForbidden(error)) {
      panel.body.replaceChildren();
      panel.setStatus(
        `Admins only: your account role cannot see this panel (${error.message}).`,
        "notice",
      );
    } else {
      panel.setStatus(describeError(error), "error");
    }
  }
}
