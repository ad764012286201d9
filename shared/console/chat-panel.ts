/// <reference lib="dom" />
/**
 * The chat playground: a conversation streamed from llm-router (routed by
 * use case, model or agent, through the SDK's `routerCallStream`) or from a
 * direct function (`streamChat`). Text is appended as it arrives; Stop
 * aborts the request (and so the upstream call); under each answer its
 * facts: served by, attempts and fallback, tokens, cost, time to first token
 * and total time.
 */
import { type RouterRequest, streamChat } from "../client/mod.ts";
import { type AnswerFacts, answerStats } from "./answer-stats.ts";
import { listAgents, loadCatalog } from "./catalog.ts";
import { AGENTS_CHANGED, type ConsoleContext } from "./context.ts";
import { field, h, replace, select, setOptions, uid } from "./dom.ts";
import { describeError } from "./errors.ts";
import { createPanel, type Panel } from "./panel.ts";

type Target = "llm-router" | "ai-chat-direct" | "ai-walkthrough-direct";
type RouteBy = "useCase" | "model" | "agent";

/** A turn of the conversation, as the functions take it. */
interface Turn {
  role: "user" | "assistant";
  content: string;
}

/** Where an answer's text goes and how its facts are reported while it streams. */
interface AnswerSink {
  text(delta: string): void;
  facts: AnswerFacts;
}

/** Streams a routed answer into `sink`, with the route, usage and cost the stream reports. */
async function streamRouted(
  context: ConsoleContext,
  request: RouterRequest,
  sink: AnswerSink,
  signal: AbortSignal,
  started: number,
): Promise<void> {
  const stream = context.client.routerCallStream(request, { signal });
  signal.addEventListener("abort", () => stream.abort(), { once: true });
  for await (const event of stream) {
    if (event.type === "route") {
      Object.assign(sink.facts, {
        provider: event.route.provider ?? sink.facts.provider,
        model: event.route.model ?? sink.facts.model,
        attempts: event.route.attempts ?? sink.facts.attempts,
        fallbackIndex: event.route.fallbackIndex ?? sink.facts.fallbackIndex,
      });
    } else if (event.type === "text") {
      sink.facts.firstTokenMs ??= performance.now() - started;
      sink.text(event.text);
    } else if (event.type === "finish") {
      sink.facts.inputTokens = event.usage.inputTokens;
      sink.facts.outputTokens = event.usage.outputTokens;
      sink.facts.costUsd = event.costUsd;
    } else if (event.type === "error") {
      throw event.error;
    }
  }
}

/**
 * Streams a direct function's answer into `sink`. The direct stream carries
 * no usage for the caller; which model served it comes from its headers.
 */
async function streamDirect(
  context: ConsoleContext,
  target: Exclude<Target, "llm-router">,
  messages: Turn[],
  walkthrough: { productArea: string; step: string } | undefined,
  sink: AnswerSink,
  signal: AbortSignal,
  started: number,
): Promise<void> {
  const seeHeaders: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const model = response.headers.get("x-llm-model");
    if (model) sink.facts.model = model;
    // The direct path calls OpenAI itself; the router path says which provider in its own headers.
    if (response.headers.get("x-llm-path") === "direct") sink.facts.provider = "openai";
    return response;
  };
  const chunks = streamChat({
    url: `${context.functionsUrl}/${target}`,
    accessToken: await context.accessToken(),
    messages,
    ...(walkthrough ? { context: walkthrough } : {}),
    signal,
    fetch: seeHeaders,
  });
  for await (const text of chunks) {
    sink.facts.firstTokenMs ??= performance.now() - started;
    sink.text(text);
  }
}

/** Builds the chat playground panel. */
export function chatPanel(context: ConsoleContext): Panel {
  const history: Turn[] = [];
  let running: AbortController | undefined;

  const target = field(
    "Function",
    select([
      ["llm-router", "llm-router (routed, with fallbacks)"],
      ["ai-chat-direct", "ai-chat-direct"],
      ["ai-walkthrough-direct", "ai-walkthrough-direct"],
    ], { name: "target" }),
  );
  const routeBy = field(
    "Route by",
    select([["useCase", "Use case"], ["model", "Model"], ["agent", "Agent"]], { name: "routeBy" }),
  );
  const useCase = field("Use case", select(["general"], { name: "useCase" }));
  const model = field("Model", select([], { name: "model" }));
  const agentListId = uid("agents");
  const agentList = h("datalist", { id: agentListId });
  const agent = field(
    "Agent id",
    h("input", { type: "text", name: "agentId", autocomplete: "off", spellcheck: false }),
    "Routes by the agent's saved preferences (Agent settings).",
  );
  agent.control.setAttribute("list", agentListId);
  const productArea = field(
    "Product area",
    h("input", { type: "text", name: "productArea", value: "Console" }),
  );
  const step = field("Step", h("input", { type: "text", name: "step", value: "Trying a chat" }));
  const message = field(
    "Message",
    h("textarea", { name: "message", rows: 3, required: true }),
    "Ctrl+Enter sends.",
  );
  const send = h("button", { type: "submit" }, "Send");
  const stop = h("button", { type: "button", class: "secondary", disabled: true }, "Stop");
  const clear = h("button", { type: "button", class: "secondary" }, "Clear conversation");
  const transcript = h("ol", { class: "transcript", "aria-label": "Conversation" });

  const routed = h("div", { class: "row" }, routeBy.root, useCase.root, model.root, agent.root);
  const walkthrough = h("div", { class: "row" }, productArea.root, step.root);
  const form = h(
    "form",
    { class: "chat-form", "aria-label": "Send a message" },
    h("div", { class: "row" }, target.root),
    routed,
    walkthrough,
    agentList,
    message.root,
    h("div", { class: "actions" }, send, stop, clear),
  );

  const showChoices = () => {
    routed.hidden = target.control.value !== "llm-router";
    walkthrough.hidden = target.control.value !== "ai-walkthrough-direct";
    const by = routeBy.control.value as RouteBy;
    useCase.root.hidden = by !== "useCase";
    model.root.hidden = by !== "model";
    agent.root.hidden = by !== "agent";
  };
  target.control.addEventListener("change", showChoices);
  routeBy.control.addEventListener("change", showChoices);
  showChoices();

  const loadAgents = async () => {
    const agents = await listAgents(context).catch(() => []);
    agentList.replaceChildren(...agents.map((a) => h("option", { value: a.agentId })));
  };
  context.events.addEventListener(AGENTS_CHANGED, () => void loadAgents());

  const panel = createPanel({
    id: "chat",
    title: "Chat playground",
    wide: true,
    intro:
      "Stream an answer and see which provider and model served it, what it cost and how fast.",
    load: async () => {
      const catalog = await loadCatalog(context);
      // The current choice ("general" at first) is kept while it is offered.
      if (catalog.useCases.length) setOptions(useCase.control, catalog.useCases);
      setOptions(model.control, catalog.models.map((m) => [m.id, `${m.id} (${m.provider})`]));
      await loadAgents();
    },
  });

  const request = (): RouterRequest | string => {
    const by = routeBy.control.value as RouteBy;
    const messages = history.map((turn) => ({ role: turn.role, content: turn.content }));
    if (by === "useCase") {
      return { messages, useCase: useCase.control.value as RouterRequest["useCase"] };
    }
    if (by === "model") {
      return model.control.value
        ? { messages, modelOverride: model.control.value }
        : "Pick a model";
    }
    const id = agent.control.value.trim();
    return id ? { messages, agentId: id } : "Enter an agent id";
  };

  const ask = async () => {
    const text = message.control.value.trim();
    if (!text || running) return;
    message.setError();
    agent.setError();
    model.setError();
    history.push({ role: "user", content: text });
    const chosen = target.control.value as Target;
    const routedRequest = chosen === "llm-router" ? request() : undefined;
    if (typeof routedRequest === "string") {
      history.pop();
      (routeBy.control.value === "agent" ? agent : model).setError(routedRequest);
      return;
    }
    message.control.value = "";

    const answerText = h("div", { class: "answer-text", "data-streaming": "true" });
    const stats = h(
      "div",
      { class: "answer-meta", "aria-live": "polite" },
      "Waiting for the first token…",
    );
    transcript.append(
      h("li", { class: "turn user" }, h("span", { class: "who" }, "You"), h("div", {}, text)),
      h(
        "li",
        { class: "turn assistant" },
        h("span", { class: "who" }, chosen),
        answerText,
        stats,
      ),
    );
    answerText.scrollIntoView({ block: "nearest" });

    const sink: AnswerSink = {
      facts: {},
      text(delta) {
        answerText.textContent += delta;
      },
    };
    running = new AbortController();
    send.disabled = true;
    stop.disabled = false;
    const started = performance.now();
    let failure: string | undefined;
    try {
      if (routedRequest) {
        await streamRouted(context, routedRequest, sink, running.signal, started);
      } else {
        await streamDirect(
          context,
          chosen as Exclude<Target, "llm-router">,
          [...history],
          chosen === "ai-walkthrough-direct"
            ? { productArea: productArea.control.value, step: step.control.value }
            : undefined,
          sink,
          running.signal,
          started,
        );
      }
    } catch (error) {
      failure = describeError(error);
    }
    // Stop may end the stream quietly or with an error: either way, it was stopped.
    if (running.signal.aborted) failure = "Stopped.";
    sink.facts.totalMs = performance.now() - started;
    answerText.dataset.streaming = "false";
    const answered = answerText.textContent ?? "";
    if (answered) history.push({ role: "assistant", content: answered });
    else history.pop();
    replace(
      stats,
      answerStats(sink.facts),
      failure ? h("p", { class: failure === "Stopped." ? "notice" : "error" }, failure) : null,
    );
    running = undefined;
    send.disabled = false;
    stop.disabled = true;
    message.control.focus();
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void ask();
  });
  message.control.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      void ask();
    }
  });
  stop.addEventListener("click", () => running?.abort());
  clear.addEventListener("click", () => {
    running?.abort();
    history.length = 0;
    transcript.replaceChildren();
  });

  panel.body.append(form, transcript);
  return panel;
}
