/// <reference lib="dom" />
/** A few DOM builders: the page is built from code, with no framework and no HTML strings. */

/** What `h` accepts as a child: text, a node, or nothing (skipped). */
export type Child = Node | string | number | null | undefined | false;

/** Properties and attributes of an element made by `h`. */
export type Props = Record<string, unknown>;

let nextId = 0;

/** A page-unique element id, for pairing labels, hints and errors with their controls. */
export function uid(prefix: string): string {
  return `${prefix}-${++nextId}`;
}

function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

/**
 * Creates an element. `onX` functions become listeners, `class` the class
 * name, `aria-*`, `data-*`, `role` and `for` attributes, everything else a
 * property (`hidden`, `disabled`, `value`, `type`…). Text children are text
 * nodes, never parsed markup.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined) continue;
    if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2).toLowerCase(), value as EventListener);
    } else if (key === "class") {
      element.className = String(value);
    } else if (key === "for" || key === "role" || key.includes("-")) {
      element.setAttribute(key, String(value));
    } else {
      (element as unknown as Record<string, unknown>)[key] = value;
    }
  }
  append(element, children);
  return element;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** Creates an SVG element with `attributes` (all set as attributes). */
export function svg(
  tag: string,
  attributes: Record<string, string | number> = {},
  ...children: Child[]
): SVGElement {
  const element = document.createElementNS(SVG_NS, tag) as SVGElement;
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  append(element, children);
  return element;
}

/** Replaces `parent`'s children. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A labelled form control with a hint and a slot for its validation error. */
export interface Field<C extends HTMLElement> {
  root: HTMLElement;
  control: C;
  /** Shows `message` next to the control (and marks it invalid), or clears it. */
  setError(message?: string): void;
}

/** Wraps `control` with its `<label>`, an optional hint and an error line, all linked by id. */
export function field<C extends HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(
  label: string,
  control: C,
  hint?: string,
): Field<C> {
  control.id ||= uid("field");
  const hintId = hint ? `${control.id}-hint` : undefined;
  const errorId = `${control.id}-error`;
  const error = h("p", { class: "field-error", id: errorId, hidden: true });
  const describe = (withError: boolean) => {
    const ids = [hintId, withError ? errorId : undefined].filter(Boolean).join(" ");
    if (ids) control.setAttribute("aria-describedby", ids);
    else control.removeAttribute("aria-describedby");
  };
  describe(false);
  const root = h(
    "div",
    { class: "field" },
    h("label", { for: control.id }, label),
    control,
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
    error,
  );
  return {
    root,
    control,
    setError(message) {
      error.textContent = message ?? "";
      error.hidden = !message;
      if (message) control.setAttribute("aria-invalid", "true");
      else control.removeAttribute("aria-invalid");
      describe(!!message);
    },
  };
}

/** A `<select>` of `options` (`[value, label]` pairs or plain values). */
export function select(
  options: (string | [string, string])[],
  props: Props = {},
): HTMLSelectElement {
  return h(
    "select",
    props,
    ...options.map((option) => {
      const [value, label] = typeof option === "string" ? [option, option] : option;
      return h("option", { value }, label);
    }),
  );
}

/** Sets a select's options, keeping the current choice when it is still offered. */
export function setOptions(
  element: HTMLSelectElement,
  options: (string | [string, string])[],
): void {
  const current = element.value;
  element.replaceChildren(
    ...options.map((option) => {
      const [value, label] = typeof option === "string" ? [option, option] : option;
      return h("option", { value }, label);
    }),
  );
  if (options.some((o) => (typeof o === "string" ? o : o[0]) === current)) element.value = current;
}
