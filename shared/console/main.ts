/// <reference lib="dom" />
/**
 * The console's entry: reads the project (saved, or named by config.json),
 * signs in through supabase-js, and shows the panels for the signed-in user.
 * The page re-renders when the session changes (sign-in, sign-out, another
 * tab); a token refresh only changes what the clients send next.
 */
import { createClient, type Session, type SupabaseClient } from "@supabase/supabase-js";
import { createRouterClient } from "../client/mod.ts";
import { agentsPanel } from "./agents-panel.ts";
import { budgetsPanel } from "./budgets-panel.ts";
import { chatPanel } from "./chat-panel.ts";
import type { ConsoleContext } from "./context.ts";
import { h, replace } from "./dom.ts";
import { healthPanel } from "./health-panel.ts";
import { metricsPanel } from "./metrics-panel.ts";
import { operatorPanel } from "./operator-panel.ts";
import { projectForm } from "./project-form.ts";
import {
  fetchServedConfig,
  forgetProject,
  functionsUrl,
  type Project,
  rememberedProject,
  rememberProject,
  type ServedConfig,
  servedProject,
} from "./project.ts";
import { signInForm } from "./signin.ts";

const setupRoot = document.getElementById("setup")!;
const sessionRoot = document.getElementById("session")!;
const panelsRoot = document.getElementById("panels")!;

let served: ServedConfig = {};
let project: Project | undefined;
/** The operator's service key: this variable is its only home (never storage). */
let serviceKey: string | undefined;
let supabase: SupabaseClient | undefined;
/** The project `supabase` was made for: a client is made once per project, not per connect. */
let supabaseFor: string | undefined;
let stopListening: (() => void) | undefined;
/** Whose panels are shown: a new user (or operator mode) re-renders, a token refresh does not. */
let shownFor: string | undefined;

/** The served project's local users, offered only while that project is the one in use. */
function localUsers() {
  const local = served.localDev && served.supabaseUrl === project?.supabaseUrl;
  return local ? served.localUsers ?? [] : [];
}

function renderSetup(): void {
  replace(
    setupRoot,
    projectForm({
      project,
      serviceKey,
      onConnect(next, key) {
        rememberProject(next);
        project = next;
        serviceKey = key;
        connect();
      },
      onForget() {
        forgetProject();
        project = servedProject(served);
        connect();
      },
    }),
  );
}

function renderSession(session: Session | null): void {
  if (!session || !supabase) {
    replace(sessionRoot, project ? "Not signed in" : "");
    return;
  }
  const client = supabase;
  replace(
    sessionRoot,
    h("span", {}, "Signed in as ", h("strong", {}, session.user.email ?? session.user.id)),
    " ",
    h("button", {
      type: "button",
      class: "secondary",
      onclick: () => void client.auth.signOut(),
    }, "Sign out"),
  );
}

function renderPanels(session: Session): void {
  const client = supabase!;
  const base = functionsUrl(project!);
  const key = serviceKey;
  const context: ConsoleContext = {
    client: createRouterClient({ url: base, supabase: client }),
    operator: key ? createRouterClient({ url: base, getToken: () => key }) : undefined,
    functionsUrl: base,
    accessToken: async () => {
      const { data } = await client.auth.getSession();
      return data.session?.access_token ?? session.access_token;
    },
    events: new EventTarget(),
  };
  const panels = [
    chatPanel(context),
    agentsPanel(context),
    healthPanel(context),
    metricsPanel(context),
    budgetsPanel(context),
    operatorPanel(context),
  ];
  replace(panelsRoot, ...panels.map((p) => p.root));
  for (const panel of panels) void panel.refresh();
}

function show(session: Session | null): void {
  renderSession(session);
  const who = session ? `${session.user.id}\n${serviceKey ?? ""}` : undefined;
  if (who !== undefined && who === shownFor) return;
  shownFor = who;
  if (session) renderPanels(session);
  else if (supabase) replace(panelsRoot, signInForm(supabase, localUsers()));
  else {
    replace(
      panelsRoot,
      h("p", { class: "intro" }, "Enter your project's URL and anon key to begin."),
    );
  }
}

/** (Re)connects to the current project: one supabase-js client per project. */
function connect(): void {
  stopListening?.();
  stopListening = undefined;
  shownFor = undefined;
  renderSetup();
  if (!project) {
    supabase = supabaseFor = undefined;
    show(null);
    return;
  }
  const projectKey = `${project.supabaseUrl}\n${project.anonKey}`;
  if (supabaseFor !== projectKey) {
    supabase = createClient(project.supabaseUrl, project.anonKey, {
      auth: { persistSession: true, autoRefreshToken: true, detectSessionInUrl: false },
    });
    supabaseFor = projectKey;
  }
  const { data } = supabase!.auth.onAuthStateChange((_event, session) => {
    // supabase-js holds a lock while calling back: work after it returns.
    setTimeout(() => show(session), 0);
  });
  stopListening = () => data.subscription.unsubscribe();
}

async function start(): Promise<void> {
  served = await fetchServedConfig();
  project = rememberedProject() ?? servedProject(served);
  connect();
}

void start();
