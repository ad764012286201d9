/// <reference lib="dom" />
/**
 * Sign-in through supabase-js (email and password). Served by the dev server,
 * the page also offers its local users as one-click buttons: the same
 * `signInWithPassword` call, against the dev server's auth stand-in.
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import { field, h } from "./dom.ts";
import type { LocalUser } from "./project.ts";

/** Builds the sign-in form for `supabase`, with buttons for `localUsers`. */
export function signInForm(supabase: SupabaseClient, localUsers: LocalUser[]): HTMLElement {
  const email = field(
    "Email",
    h("input", { type: "email", name: "email", autocomplete: "username", required: true }),
  );
  const password = field(
    "Password",
    h("input", {
      type: "password",
      name: "password",
      autocomplete: "current-password",
      required: true,
    }),
  );
  const problem = h("p", { class: "error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit" }, "Sign in");

  const signIn = async (credentials: { email: string; password: string }) => {
    problem.hidden = true;
    submit.disabled = true;
    try {
      const { error } = await supabase.auth.signInWithPassword(credentials);
      if (error) throw error;
      // The session change re-renders the page (main.ts listens to supabase-js).
    } catch (error) {
      problem.textContent = `Sign-in failed: ${error instanceof Error ? error.message : error}`;
      problem.hidden = false;
    } finally {
      submit.disabled = false;
    }
  };

  const form = h(
    "form",
    { class: "signin-form", "aria-label": "Sign in" },
    email.root,
    password.root,
    problem,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void signIn({ email: email.control.value.trim(), password: password.control.value });
  });

  return h(
    "section",
    { class: "panel signin", "aria-labelledby": "signin-title" },
    h("h2", { id: "signin-title" }, "Sign in"),
    localUsers.length
      ? h(
        "div",
        { class: "local-users" },
        h("p", { class: "intro" }, "Local dev server: sign in as one of its users."),
        h(
          "div",
          { class: "actions" },
          ...localUsers.map((user) =>
            h("button", {
              type: "button",
              onclick: () => void signIn(user),
            }, `Sign in as ${user.label}`)
          ),
        ),
      )
      : null,
    form,
  );
}
