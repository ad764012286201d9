/// <reference lib="dom" />
/**
 * Project settings: the project URL and anon key (saved in this browser) and
 * an optional service key for operators (kept in the page's memory only, so
 * it is gone when the tab is).
 */
import { field, h } from "./dom.ts";
import { type Project, projectProblem } from "./project.ts";

/** Builds the project settings form, open when no project is configured yet. */
export function projectForm(options: {
  project?: Project;
  serviceKey?: string;
  onConnect(project: Project, serviceKey: string | undefined): void;
  onForget(): void;
}): HTMLElement {
  const url = field(
    "Project URL",
    h("input", {
      type: "url",
      name: "supabaseUrl",
      value: options.project?.supabaseUrl ?? "",
      placeholder: "https://abcd.supabase.co",
      autocomplete: "url",
      required: true,
    }),
  );
  const anonKey = field(
    "Anon key",
    h("input", {
      type: "text",
      name: "anonKey",
      value: options.project?.anonKey ?? "",
      autocomplete: "off",
      spellcheck: false,
      required: true,
    }),
    "Public: it identifies the project. Saved in this browser.",
  );
  const serviceKey = field(
    "Service key (operators, optional)",
    h("input", {
      type: "password",
      name: "serviceKey",
      value: options.serviceKey ?? "",
      autocomplete: "off",
    }),
    "Unlocks the rate-limit and circuit resets. Kept in this tab's memory only, never saved.",
  );
  const form = h(
    "form",
    { class: "project-form", "aria-label": "Project settings", noValidate: true },
    url.root,
    anonKey.root,
    serviceKey.root,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit" }, "Save and connect"),
      h("button", {
        type: "button",
        class: "secondary",
        onclick: () => options.onForget(),
      }, "Forget saved project"),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const project = {
      supabaseUrl: url.control.value.trim().replace(/\/+$/, ""),
      anonKey: anonKey.control.value.trim(),
    };
    url.setError();
    anonKey.setError();
    const problem = projectProblem(project);
    if (problem) {
      const target = problem.field === "supabaseUrl" ? url : anonKey;
      target.setError(problem.message);
      target.control.focus();
      return;
    }
    options.onConnect(project, serviceKey.control.value.trim() || undefined);
  });
  return h(
    "details",
    { class: "project", open: !options.project },
    h(
      "summary",
      {},
      "Project: ",
      h("span", { class: "muted" }, options.project?.supabaseUrl ?? "not configured"),
      options.serviceKey ? h("span", { class: "badge warn" }, "operator") : null,
    ),
    form,
  );
}
