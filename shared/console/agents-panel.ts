/// <reference lib="dom" />
/**
 * Agent settings, the per-agent model picker: the account's agents (`GET
 * llm-router/agents`), and for one agent its provider and model (from the
 * providers the deployment can use), temperature, max tokens, top_p,
 * fallbacks and embedding model. Save is `PUT llm-router/agents/:id/preferences`;
 * the API's validation error is shown next to the field it names. An agent
 * the caller may not change is shown read-only.
 */
import { type AgentRow, listAgents } from "./catalog.ts";
import { AGENTS_CHANGED, type ConsoleContext } from "./context.ts";
import { type Field, field, h, replace, select, setOptions, uid } from "./dom.ts";
import { describeError, errorField } from "./errors.ts";
import { when } from "./format.ts";
import { createPanel, type Panel } from "./panel.ts";

/** A provider as `GET llm-router/providers` lists it. */
interface ProviderRow {
  name: string;
  usable: boolean;
  models: string[];
}

const NEW_AGENT = "\u0000new";

/** `"0.7"` → 0.7, `""` → undefined, anything else → NaN (reported before saving). */
function optionalNumber(text: string): number | undefined {
  return text.trim() === "" ? undefined : Number(text);
}

function paramsText(agent: AgentRow): string {
  const p = agent.params ?? {};
  const parts = [
    p.temperature !== undefined ? `temperature ${p.temperature}` : "",
    p.maxTokens !== undefined ? `max tokens ${p.maxTokens}` : "",
    p.topP !== undefined ? `top_p ${p.topP}` : "",
  ].filter(Boolean);
  return parts.length ? parts.join(", ") : "default parameters";
}

/** Builds the agent settings panel. */
export function agentsPanel(context: ConsoleContext): Panel {
  let agents: AgentRow[] = [];
  let providers: ProviderRow[] = [];

  const list = h("ul", { class: "agent-list", "aria-label": "Agents with preferences" });
  const agentChoice = field("Agent", select([], { name: "agent" }));
  const newId = field(
    "New agent id",
    h("input", { type: "text", name: "newAgentId", autocomplete: "off", spellcheck: false }),
    "The id your code sends as agentId.",
  );
  const provider = field("Provider", select([], { name: "provider" }));
  const model = field("Model", select([], { name: "model" }));
  const temperature = field(
    "Temperature",
    h("input", { type: "number", name: "temperature", step: "0.1", inputMode: "decimal" }),
    "0–2; empty: the model's default.",
  );
  const maxTokens = field(
    "Max tokens",
    h("input", { type: "number", name: "maxTokens", step: "1", min: "1", inputMode: "numeric" }),
  );
  const topP = field(
    "Top p",
    h("input", { type: "number", name: "topP", step: "0.05", inputMode: "decimal" }),
    "Above 0, at most 1.",
  );
  const modelListId = uid("models");
  const modelList = h("datalist", { id: modelListId });
  const fallbacks = field(
    "Fallbacks",
    h("input", { type: "text", name: "fallbacks", autocomplete: "off", spellcheck: false }),
    "Model ids tried in order when the model fails, separated by commas.",
  );
  const embeddingModel = field(
    "Embedding model",
    h("input", { type: "text", name: "embeddingModel", autocomplete: "off", spellcheck: false }),
    "Empty: the deployment's default.",
  );
  embeddingModel.control.setAttribute("list", modelListId);
  const readOnly = h("p", { class: "notice", hidden: true });
  const save = h("button", { type: "submit" }, "Save");
  const remove = h("button", { type: "button", class: "secondary" }, "Remove preferences");
  const settings = h(
    "fieldset",
    { class: "agent-settings" },
    h("legend", {}, "Preferences"),
    h("div", { class: "row" }, provider.root, model.root),
    h("div", { class: "row" }, temperature.root, maxTokens.root, topP.root),
    fallbacks.root,
    embeddingModel.root,
    modelList,
    h("div", { class: "actions" }, save, remove),
  );
  const form = h(
    "form",
    { "aria-label": "Agent preferences" },
    h("div", { class: "row" }, agentChoice.root, newId.root),
    readOnly,
    settings,
  );
  const fieldsByName: Record<string, Field<HTMLInputElement | HTMLSelectElement>> = {
    agentId: newId,
    model,
    provider,
    "params.temperature": temperature,
    "params.maxTokens": maxTokens,
    "params.topP": topP,
    fallbacks,
    embeddingModel,
  };
  const clearErrors = () => Object.values(fieldsByName).forEach((f) => f.setError());

  const modelsOf = (name: string) => providers.find((p) => p.name === name)?.models ?? [];
  const showModels = (wanted?: string) => {
    setOptions(model.control, modelsOf(provider.control.value));
    if (wanted && modelsOf(provider.control.value).includes(wanted)) model.control.value = wanted;
  };
  provider.control.addEventListener("change", () => showModels());

  const selected = (): AgentRow | undefined =>
    agents.find((a) => a.agentId === agentChoice.control.value);

  /** Fills the form from the chosen agent (or blanks it for a new one). */
  const showAgent = () => {
    clearErrors();
    panel.setStatus();
    const agent = selected();
    newId.root.hidden = agentChoice.control.value !== NEW_AGENT;
    const usable = providers.filter((p) => p.usable).map((p) => p.name);
    const current = agent?.provider;
    setOptions(
      provider.control,
      current && !usable.includes(current) ? [current, ...usable] : usable,
    );
    if (current) provider.control.value = current;
    showModels(agent?.model);
    temperature.control.value = agent?.params?.temperature?.toString() ?? "";
    maxTokens.control.value = agent?.params?.maxTokens?.toString() ?? "";
    topP.control.value = agent?.params?.topP?.toString() ?? "";
    fallbacks.control.value = agent?.fallbacks?.join(", ") ?? "";
    embeddingModel.control.value = agent?.embeddingModel ?? "";
    const writable = agent ? agent.writable !== false : true;
    settings.disabled = !writable;
    remove.hidden = !agent;
    readOnly.hidden = writable;
    readOnly.textContent = writable
      ? ""
      : "Read-only: only the account's admins (or the agent's owner) may change this agent.";
  };
  agentChoice.control.addEventListener("change", showAgent);

  const showList = () => {
    replace(
      list,
      ...agents.map((agent) =>
        h(
          "li",
          {},
          h("strong", {}, agent.agentId),
          " ",
          h("span", { class: "muted" }, `${agent.provider}/${agent.model}`),
          h(
            "span",
            { class: "muted small" },
            ` · ${paramsText(agent)} · updated ${when(agent.updatedAt)}${
              agent.writable === false ? " · read-only" : ""
            }`,
          ),
        )
      ),
    );
    if (!agents.length) list.append(h("li", { class: "muted" }, "No agent has preferences yet."));
    setOptions(agentChoice.control, [
      ...agents.map((a) => a.agentId),
      [NEW_AGENT, "New agent…"],
    ]);
  };

  const load = async () => {
    const [loadedAgents, loadedProviders] = await Promise.all([
      listAgents(context),
      context.client.request<{ providers: ProviderRow[] }>("GET", "llm-router/providers"),
    ]);
    agents = loadedAgents;
    providers = loadedProviders.providers;
    modelList.replaceChildren(
      ...providers.filter((p) => p.usable).flatMap((p) =>
        p.models.map((id) => h("option", { value: id }))
      ),
    );
    showList();
    showAgent();
  };

  const panel = createPanel({
    id: "agents",
    title: "Agent settings",
    wide: true,
    intro: "Which model each agent uses; the next request with that agentId routes by it.",
    load,
  });

  const body = () => {
    const params: Record<string, number> = {};
    const numbers: [string, Field<HTMLInputElement | HTMLSelectElement>, string][] = [
      ["temperature", temperature, "params.temperature"],
      ["maxTokens", maxTokens, "params.maxTokens"],
      ["topP", topP, "params.topP"],
    ];
    let bad = false;
    for (const [key, input, name] of numbers) {
      const value = optionalNumber(input.control.value);
      if (value === undefined) continue;
      if (Number.isNaN(value)) {
        fieldsByName[name].setError("Enter a number, or leave it empty.");
        bad = true;
      } else params[key] = value;
    }
    if (bad) return undefined;
    return {
      provider: provider.control.value || undefined,
      model: model.control.value,
      params,
      fallbacks: fallbacks.control.value.split(",").map((s) => s.trim()).filter(Boolean),
      embeddingModel: embeddingModel.control.value.trim() || null,
    };
  };

  const agentId = (): string | undefined => {
    if (agentChoice.control.value !== NEW_AGENT) return agentChoice.control.value || undefined;
    const id = newId.control.value.trim();
    if (!id) newId.setError("Enter the agent's id.");
    return id || undefined;
  };

  /** Shows a failed write next to its field when the API names one. */
  const showFailure = (error: unknown) => {
    const name = errorField(error);
    const target = name ? fieldsByName[name.replace(/\[\d+\]$/, "")] : undefined;
    if (target) {
      target.setError(describeError(error));
      target.control.focus();
      panel.setStatus("Not saved: see the highlighted field.", "error");
    } else panel.setStatus(`Not saved: ${describeError(error)}`, "error");
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    panel.setStatus();
    const id = agentId();
    const preferences = body();
    if (!id || !preferences) return;
    save.disabled = true;
    try {
      await context.client.request(
        "PUT",
        `llm-router/agents/${encodeURIComponent(id)}/preferences`,
        preferences,
      );
      agents = await listAgents(context);
      showList();
      agentChoice.control.value = id;
      showAgent();
      panel.setStatus(`Saved: ${id} now uses ${preferences.model}.`);
      context.events.dispatchEvent(new Event(AGENTS_CHANGED));
    } catch (error) {
      showFailure(error);
    } finally {
      save.disabled = false;
    }
  });

  remove.addEventListener("click", async () => {
    const agent = selected();
    if (!agent) return;
    try {
      await context.client.request(
        "DELETE",
        `llm-router/agents/${encodeURIComponent(agent.agentId)}/preferences`,
      );
      agents = await listAgents(context);
      showList();
      showAgent();
      panel.setStatus(`Removed: ${agent.agentId} routes by the account's defaults again.`);
      context.events.dispatchEvent(new Event(AGENTS_CHANGED));
    } catch (error) {
      panel.setStatus(`Not removed: ${describeError(error)}`, "error");
    }
  });

  panel.body.append(list, form);
  return panel;
}
