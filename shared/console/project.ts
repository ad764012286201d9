/// <reference lib="dom" />
/**
 * Which deployment the console talks to: a project URL and its anon key,
 * remembered in localStorage once saved, pre-filled from the `config.json`
 * served beside the page (the dev server names itself there). A service key
 * is never part of it: it lives in the page's memory only.
 */

/** A user the dev server's auth stand-in signs in, offered as a one-click button. */
export interface LocalUser {
  label: string;
  email: string;
  password: string;
}

/** A Supabase project as the console needs it. */
export interface Project {
  /** `https://<ref>.supabase.co`, or the dev server's URL. */
  supabaseUrl: string;
  anonKey: string;
}

/** What `config.json` may say. */
export interface ServedConfig {
  supabaseUrl?: string;
  anonKey?: string;
  /** Served by `deno task dev`: its local users can be signed in with one click. */
  localDev?: boolean;
  localUsers?: LocalUser[];
}

const STORAGE_KEY = "llm-gateway-console.project";

/** The served config, or `{}` when there is none or it is not JSON. */
export async function fetchServedConfig(): Promise<ServedConfig> {
  try {
    const response = await fetch(new URL("config.json", document.baseURI), { cache: "no-store" });
    if (!response.ok) return {};
    const config = await response.json();
    return config && typeof config === "object" ? config as ServedConfig : {};
  } catch {
    return {};
  }
}

/** The project saved in this browser, if any. */
export function rememberedProject(): Project | undefined {
  try {
    const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "null");
    return saved && !projectProblem(saved) ? saved as Project : undefined;
  } catch {
    return undefined;
  }
}

/** Saves `project` for the next visit (URL and anon key only: both are public). */
export function rememberProject(project: Project): void {
  localStorage.setItem(
    STORAGE_KEY,
    JSON.stringify({ supabaseUrl: project.supabaseUrl, anonKey: project.anonKey }),
  );
}

/** Forgets the saved project. */
export function forgetProject(): void {
  localStorage.removeItem(STORAGE_KEY);
}

/** The project named by the served config, when it names one. */
export function servedProject(served: ServedConfig): Project | undefined {
  const project = { supabaseUrl: served.supabaseUrl ?? "", anonKey: served.anonKey ?? "" };
  return projectProblem(project) ? undefined : project;
}

/** What is wrong with a project's settings, as a field and a message, or undefined. */
export function projectProblem(
  project: Partial<Project>,
): { field: keyof Project; message: string } | undefined {
  let url: URL;
  try {
    url = new URL(project.supabaseUrl ?? "");
  } catch {
    return {
      field: "supabaseUrl",
      message: "Enter the project URL, e.g. https://abcd.supabase.co",
    };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return {
      field: "supabaseUrl",
      message: "The project URL starts with https:// (or http:// locally)",
    };
  }
  if (!project.anonKey?.trim()) {
    return { field: "anonKey", message: "Enter the project's anon (publishable) key" };
  }
  return undefined;
}

/** The functions base URL of `project`: what the SDK's `url` option takes. */
export function functionsUrl(project: Project): string {
  return `${project.supabaseUrl.replace(/\/+$/, "")}/functions/v1`;
}
