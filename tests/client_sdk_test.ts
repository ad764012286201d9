/**
 * The client SDK (shared/client/mod.ts) against a real `deno task dev`
 * server in its own process, with the mock provider behind it: JSON and
 * streamed calls, tools, abort, auth, retries, budgets, timeouts, fallbacks,
 * `invokeLLM` across providers, and a real supabase-js client signed in
 * through the dev server's local auth. Also the bundled browser module: its
 * size, that it holds no zod, and that it runs in Node.
 */
import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import {
  createRouterClient,
  invokeLLM,
  LLMRouterAuthError,
  LLMRouterError,
  LLMRouterTimeoutError,
  type RouterClientOptions,
  type RouterStreamEvent,
} from "../shared/client/mod.ts";
import {
  nativeAnswer,
  nativeErrorBody,
  nativeStreamEvent,
} from "../supabase/functions/_shared/dialects/native-schema.ts";
import { JwtVerifier } from "../supabase/functions/_shared/security/jwt-verifier.ts";
import { createLocalAuth, LOCAL_PASSWORD } from "../scripts/dev/local-auth.ts";
import { LOCAL_JWT_SECRET, localKeys } from "../scripts/dev/local-keys.ts";
import { faultyModel } from "./helpers/router-http-world.ts";
import { type DevProcess, freePort, ROOT, startDevProcess } from "./helpers/process.ts";
import { readSse } from "./helpers/sse.ts";

/** Models whose name tells the mock which fault to inject. */
const SLOW_STREAM = "gpt-4o-mini::chunk-delay=60";
const SLOW_ANSWER = "gpt-4o-mini::delay=3000";
const UNAVAILABLE = "gpt-4o-mini::status=503";

/** What the tests read from the dev server's output. */
interface Dev {
  process: DevProcess;
  functions: string;
  mockUrl: string;
  userToken: string;
  adminToken: string;
  anonKey: string;
}

async function startDev(env: Record<string, string> = {}): Promise<Dev> {
  const process = await startDevProcess({
    LLM_MODELS: JSON.stringify([SLOW_STREAM, SLOW_ANSWER, UNAVAILABLE].map((id) => {
      const [base, fault] = id.split("::");
      return faultyModel(base, fault);
    })),
    LLM_RETRY_BASE_MS: "1",
    LLM_RETRY_MAX_MS: "5",
    ...env,
  });
  const printed = (label: RegExp) => {
    const match = label.exec(process.output);
    assert.ok(match, `the dev server prints ${label}`);
    return match[1];
  };
  return {
    process,
    functions: `${process.url}/functions/v1`,
    mockUrl: printed(/using the mock provider at (http:\/\/\S+?) /),
    userToken: printed(/user token:\s+(\S+)/),
    adminToken: printed(/admin token:\s+(\S+)/),
    anonKey: printed(/anon key:\s+(\S+)/),
  };
}

/** A fetch that records what it sent and the answers' status and time. */
function recordingFetch() {
  const seen: {
    url: string;
    authorization: string | null;
    status?: number;
    sentAt: number;
    answeredAt?: number;
  }[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    const entry: (typeof seen)[number] = {
      url: String(input),
      authorization: new Headers(init?.headers).get("authorization"),
      sentAt: performance.now(),
    };
    seen.push(entry);
    const response = await fetch(input, init);
    entry.status = response.status;
    entry.answeredAt = performance.now();
    return response;
  };
  return { fetch: fetchImpl, seen };
}

interface MockRecord {
  model?: string;
  stream: boolean;
  outcome: string;
  eventsSent: number;
  body: unknown;
}

async function mockRequests(dev: Dev): Promise<MockRecord[]> {
  return await (await fetch(`${dev.mockUrl}/mock/requests`)).json();
}

async function eventually(check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function rejectsWith(work: Promise<unknown>, check: (error: LLMRouterError) => void) {
  await assert.rejects(work, (error: unknown) => {
    assert.ok(error instanceof LLMRouterError, String(error));
    check(error);
    return true;
  });
}

const WEATHER_TOOL = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "The weather in a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
    },
  },
};

Deno.test("client SDK against the dev server", async (t) => {
  const dev = await startDev({ LLM_ON_CLIENT_DISCONNECT: "abort", LLM_OVERRIDE_FALLBACK: "false" });
  const options = (extra: Partial<RouterClientOptions> = {}): RouterClientOptions => ({
    url: dev.functions,
    getToken: () => dev.userToken,
    ...extra,
  });
  const member = createRouterClient(options());
  const admin = createRouterClient(options({ getToken: () => dev.adminToken }));
  try {
    await t.step(
      "routerCall returns the native answer, typed, with how it was served",
      async () => {
        const recorder = recordingFetch();
        const answer = await createRouterClient(options({ fetch: recorder.fetch })).routerCall({
          prompt: "Hello SDK",
          useCase: "general",
        });
        assert.equal(answer.success, true);
        assert.match(answer.text, /^Mock reply to: Hello SDK/);
        assert.equal(answer.finishReason, "stop");
        assert.ok(answer.usage.outputTokens > 0);
        assert.ok(answer.costUsd > 0);
        assert.equal(answer.route.provider, answer.provider);
        assert.equal(answer.route.model, answer.model);
        assert.equal(answer.route.attempts, 1);
        assert.equal(answer.route.fallbackIndex, 0);
        assert.equal(answer.route.source, "use-case");
        assert.match(answer.route.requestId ?? "", /\S/);
        assert.ok(answer.route.rateLimit, "x-ratelimit-* headers are parsed");
        assert.equal(answer.route.rateLimit.limit, 50);
        assert.ok(answer.route.rateLimit.remaining < 50);
        assert.equal(recorder.seen.length, 1);
      },
    );

    await t.step(
      "the server's answers, stream events and errors match the schemas the SDK's types come from",
      async () => {
        const post = (body: unknown) =>
          fetch(`${dev.functions}/llm-router`, {
            method: "POST",
            headers: {
              authorization: `Bearer ${dev.userToken}`,
              "content-type": "application/json",
            },
            body: JSON.stringify(body),
          });
        nativeAnswer.parse(await (await post({ prompt: "schema", tools: [WEATHER_TOOL] })).json());
        const events = await readSse(
          await post({
            prompt: "schema",
            stream: true,
            tools: [WEATHER_TOOL],
            toolChoice: "required",
          }),
        );
        assert.equal(events.at(-1)!.data, "[DONE]");
        const types = events.slice(0, -1).map((event) =>
          nativeStreamEvent.parse(JSON.parse(event.data)).type
        );
        assert.deepEqual([types[0], types.at(-1)], ["start", "finish"]);
        assert.ok(types.includes("tool-call"));
        const refused = await post({ prompt: "" });
        assert.equal(refused.status, 400);
        assert.equal(nativeErrorBody.parse(await refused.json()).error.code, "VALIDATION_ERROR");
      },
    );

    await t.step("browsers may read the headers the SDK reads", async () => {
      const response = await fetch(`${dev.functions}/llm-router`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${dev.userToken}`,
          "content-type": "application/json",
          origin: "http://app.example",
        },
        body: JSON.stringify({ prompt: "cors" }),
      });
      await response.body?.cancel();
      const exposed = response.headers.get("access-control-expose-headers") ?? "";
      for (
        const header of [
          "x-llm-provider",
          "x-llm-model",
          "x-llm-attempts",
          "x-llm-fallback-index",
          "x-llm-route",
          "x-llm-cache",
          "x-llm-overhead-ms",
          "x-request-id",
          "x-ratelimit-limit-requests",
          "x-ratelimit-remaining-requests",
          "x-ratelimit-reset-requests",
        ]
      ) assert.ok(exposed.includes(header), header);
    });

    await t.step("routerCallStream yields events as they arrive, route first", async () => {
      const started = performance.now();
      const seen: { event: RouterStreamEvent; at: number }[] = [];
      for await (
        const event of member.routerCallStream({ prompt: "stream me", modelOverride: SLOW_STREAM })
      ) seen.push({ event, at: performance.now() - started });
      const types = seen.map((s) => s.event.type);
      assert.equal(types[0], "route");
      assert.equal(types.at(-1), "finish");
      const route = seen[0].event.type === "route" ? seen[0].event.route : undefined;
      assert.equal(route?.provider, "openai");
      assert.equal(route?.model, SLOW_STREAM);
      assert.equal(route?.attempts, 1);
      const texts = seen.filter((s) => s.event.type === "text");
      assert.ok(texts.length > 1, `${texts.length} text events`);
      const end = seen.at(-1)!.at;
      // 20 words 60 ms apart: the first word is in hand long before the last.
      assert.ok(end - texts[0].at > 500, `first text at ${texts[0].at} ms, end at ${end} ms`);
      const finish = seen.at(-1)!.event;
      assert.ok(finish.type === "finish" && finish.costUsd > 0 && finish.usage.outputTokens > 0);
    });

    await t.step("final() collects text, usage, cost and timings", async () => {
      const result = await member.routerCallStream({ prompt: "final", modelOverride: SLOW_STREAM })
        .final();
      assert.match(result.text, /^Mock reply to: final/);
      assert.equal(result.finishReason, "stop");
      assert.ok(result.usage && result.usage.outputTokens > 0);
      assert.ok(result.costUsd && result.costUsd > 0);
      assert.equal(result.route?.model, SLOW_STREAM);
      assert.ok(result.firstTokenMs !== undefined && result.firstTokenMs + 500 < result.totalMs);
    });

    await t.step("tool-call events assemble into the tool call the JSON answer has", async () => {
      const request = {
        messages: [{ role: "user" as const, content: "Weather in Paris?" }],
        tools: [WEATHER_TOOL],
        toolChoice: "required" as const,
      };
      const stream = member.routerCallStream(request);
      const deltas: RouterStreamEvent[] = [];
      const result = await (async () => {
        let text = "";
        const calls = new Map<number, { id?: string; name?: string; arguments: string }>();
        for await (const event of stream) {
          if (event.type === "tool-call") {
            deltas.push(event);
            const call = calls.get(event.index) ?? { arguments: "" };
            call.id ??= event.id;
            call.name ??= event.name;
            call.arguments += event.argumentsDelta;
            calls.set(event.index, call);
          }
          if (event.type === "text") text += event.text;
        }
        return { text, calls: [...calls.values()] };
      })();
      assert.ok(deltas.length > 1, "arguments arrive in pieces");
      assert.equal(result.calls.length, 1);
      assert.equal(result.calls[0].name, "get_weather");
      assert.equal(typeof JSON.parse(result.calls[0].arguments).city, "string");
      const final = await member.routerCallStream(request).final();
      assert.equal(final.finishReason, "tool_calls");
      const json = await member.routerCall(request);
      assert.deepEqual(
        final.toolCalls.map((c) => ({ name: c.name, arguments: c.arguments })),
        json.toolCalls.map((c) => ({ name: c.function.name, arguments: c.function.arguments })),
      );
      assert.match(final.toolCalls[0].id, /\S/);
    });

    await t.step(
      "abort() mid-stream closes the connection and the router stops the provider's stream",
      async () => {
        const marker = `abort-${crypto.randomUUID()}`;
        const stream = member.routerCallStream({ prompt: marker, modelOverride: SLOW_STREAM });
        let texts = 0;
        const types: string[] = [];
        for await (const event of stream) {
          types.push(event.type);
          if (event.type === "text" && ++texts === 2) stream.abort();
        }
        assert.ok(!types.includes("error") && !types.includes("finish"), types.join(","));
        let upstream: MockRecord | undefined;
        await eventually(async () => {
          upstream = (await mockRequests(dev)).find((r) => JSON.stringify(r.body).includes(marker));
          return upstream?.outcome === "aborted";
        });
        assert.ok(upstream!.eventsSent < 10, `${upstream!.eventsSent} events sent`);
      },
    );

    await t.step("a caller's AbortSignal stops a stream the same way", async () => {
      const caller = new AbortController();
      const events: string[] = [];
      for await (
        const event of member.routerCallStream({ prompt: "signal", modelOverride: SLOW_STREAM }, {
          signal: caller.signal,
        })
      ) {
        events.push(event.type);
        if (event.type === "text") caller.abort();
      }
      assert.deepEqual(events, ["route", "text"]);
    });

    await t.step("a refused token is LLMRouterAuthError, sent once", async () => {
      for (const token of ["not-a-jwt", undefined]) {
        const recorder = recordingFetch();
        const sdk = createRouterClient(options({ getToken: () => token, fetch: recorder.fetch }));
        await rejectsWith(sdk.routerCall({ prompt: "who am I" }), (error) => {
          assert.ok(error instanceof LLMRouterAuthError);
          assert.equal(error.status, 401);
          assert.equal(error.code, token ? "AUTH_INVALID" : "AUTH_MISSING");
          assert.equal(error.retryable, false);
        });
        assert.equal(recorder.seen.length, 1);
      }
    });

    await t.step("a 402 from a spent budget is not retried and reaches no provider", async () => {
      await admin.request("PUT", "llm-router/budgets", { agentId: "sdk-broke", dailyLimitUsd: 0 });
      const upstreamBefore = (await mockRequests(dev)).length;
      const recorder = recordingFetch();
      const sdk = createRouterClient(options({ fetch: recorder.fetch, maxRetries: 5 }));
      await rejectsWith(sdk.routerCall({ prompt: "spend", agentId: "sdk-broke" }), (error) => {
        assert.equal(error.status, 402);
        assert.equal(error.code, "PAYMENT_REQUIRED");
        assert.equal(error.details.limitUsd, 0);
      });
      assert.equal(recorder.seen.length, 1);
      assert.equal((await mockRequests(dev)).length, upstreamBefore);
    });

    await t.step("no answer within timeoutMs is LLMRouterTimeoutError", async () => {
      const started = performance.now();
      await rejectsWith(
        member.routerCall({ prompt: "slow", modelOverride: SLOW_ANSWER }, { timeoutMs: 300 }),
        (error) => {
          assert.ok(error instanceof LLMRouterTimeoutError);
          assert.equal(error.code, "TIMEOUT");
          assert.equal(error.status, 0);
        },
      );
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 290 && elapsed < 2_000, `${elapsed} ms`);
    });

    await t.step(
      "callWithFallback uses the fallback for a dead router and a retryable 5xx, never for a 400",
      async () => {
        const used: string[] = [];
        const fallback = (_request: unknown, error: LLMRouterError) => {
          used.push(error.code);
          return Promise.resolve({ text: "from the fallback" });
        };
        const dead = createRouterClient(
          options({ url: `http://127.0.0.1:${freePort()}/functions/v1`, maxRetries: 1 }),
        );
        assert.deepEqual(await dead.callWithFallback({ prompt: "hi" }, fallback), {
          text: "from the fallback",
        });
        const unavailable = await member.callWithFallback(
          { prompt: "hi", modelOverride: UNAVAILABLE },
          fallback,
          { timeoutMs: 10_000 },
        );
        assert.deepEqual(unavailable, { text: "from the fallback" });
        assert.deepEqual(used.slice(0, 1), ["NETWORK"]);
        assert.equal(used.length, 2);
        await rejectsWith(member.callWithFallback({ prompt: "" }, fallback), (error) => {
          assert.equal(error.status, 400);
          assert.equal(error.code, "VALIDATION_ERROR");
        });
        assert.equal(used.length, 2, "no fallback after a 400");
        const served = await member.callWithFallback({ prompt: "router up" }, fallback);
        assert.ok("success" in served && served.success);
      },
    );

    await t.step(
      "invokeLLM answers in one shape whether OpenAI or Anthropic served it",
      async () => {
        const messages = [
          { role: "system" as const, content: "Be brief." },
          { role: "user" as const, content: "Say hi" },
        ];
        const openai = await member.invokeLLM({ messages, model: "gpt-4o-mini", maxTokens: 50 });
        const anthropic = await invokeLLM(options(), {
          messages,
          model: "claude-haiku-4-5",
          maxTokens: 50,
        });
        assert.equal(openai.provider, "openai");
        assert.equal(anthropic.provider, "anthropic");
        assert.equal(anthropic.model, "claude-haiku-4-5");
        assert.deepEqual(Object.keys(openai).sort(), Object.keys(anthropic).sort());
        assert.deepEqual(Object.keys(openai.usage).sort(), Object.keys(anthropic.usage).sort());
        for (const result of [openai, anthropic]) {
          assert.match(result.text, /^Mock reply to: Say hi/);
          assert.equal(result.finishReason, "stop");
          assert.deepEqual(result.toolCalls, []);
          assert.ok(result.costUsd > 0);
        }
        const tools = await member.invokeLLM({
          messages: [{ role: "user", content: "Weather?" }],
          model: "claude-haiku-4-5",
          tools: [WEATHER_TOOL],
          toolChoice: { type: "function", function: { name: "get_weather" } },
        });
        assert.equal(tools.finishReason, "tool_calls");
        assert.equal(tools.toolCalls[0].name, "get_weather");
        assert.equal(typeof JSON.parse(tools.toolCalls[0].arguments).city, "string");
      },
    );

    await t.step("healthCheck, listModels and embed", async () => {
      const health = await member.healthCheck();
      assert.ok(health.report, "llm-health answers its report");
      assert.equal(health.healthy, health.report.healthy);
      assert.ok(health.report.providers.some((p) => p.provider === "openai"));
      const models = await member.listModels();
      const owner = (id: string) => models.find((m) => m.id === id)?.owned_by;
      assert.equal(owner("gpt-4o-mini"), "openai");
      assert.equal(owner("claude-haiku-4-5"), "anthropic");
      assert.equal(owner("auto"), "llm-router");
      const vectors = await member.embed(["one", "two"], { model: "text-embedding-3-small" });
      assert.equal(vectors.embeddings.length, 2);
      assert.ok(vectors.embeddings[0].length > 0);
      assert.notDeepEqual(vectors.embeddings[0], vectors.embeddings[1]);
      assert.ok(vectors.usage.inputTokens > 0);
      assert.equal(vectors.route.provider, "openai");
    });

    await t.step("request() calls any gateway path with the client's auth and errors", async () => {
      const budgets = await member.request<{ budgets: { agentId: string | null }[] }>(
        "GET",
        "llm-router/budgets",
      );
      assert.ok(budgets.budgets.some((b) => b.agentId === "sdk-broke"));
      await rejectsWith(
        member.request("PUT", "llm-router/budgets", { dailyLimitUsd: 1 }),
        (error) => {
          assert.ok(error instanceof LLMRouterAuthError);
          assert.equal(error.status, 403);
        },
      );
    });

    await t.step("the dev server prints how to sign in locally", () => {
      assert.match(dev.process.output, /user@local\.test\s+password local-password\s+\(member\)/);
      assert.match(dev.process.output, /admin@local\.test\s+password local-password\s+\(admin\)/);
    });

    await t.step(
      "a supabase-js client signs in with the local auth and the SDK uses its session's token, refreshed",
      async () => {
        const supabase = createClient(dev.process.url, dev.anonKey, {
          auth: { persistSession: false, autoRefreshToken: false },
        });
        const wrong = await supabase.auth.signInWithPassword({
          email: "user@local.test",
          password: "wrong",
        });
        assert.equal(wrong.error?.code, "invalid_credentials");
        const { data, error } = await supabase.auth.signInWithPassword({
          email: "user@local.test",
          password: "local-password",
        });
        assert.equal(error, null);
        const firstToken = data.session!.access_token;
        assert.equal(data.user!.email, "user@local.test");

        const recorder = recordingFetch();
        const sdk = createRouterClient({ url: dev.functions, supabase, fetch: recorder.fetch });
        const answer = await sdk.routerCall({ prompt: "as the signed-in user" });
        assert.match(answer.text, /^Mock reply to: as the signed-in user/);
        assert.equal(recorder.seen[0].authorization, `Bearer ${firstToken}`);
        // The session's user is the local member: an admin-only write is refused.
        await rejectsWith(sdk.request("PUT", "llm-router/budgets", { dailyLimitUsd: 1 }), (e) => {
          assert.equal(e.status, 403);
        });

        const refreshed = await supabase.auth.refreshSession();
        assert.equal(refreshed.error, null);
        const secondToken = refreshed.data.session!.access_token;
        assert.notEqual(secondToken, firstToken);
        assert.equal((await supabase.auth.getUser()).data.user?.email, "user@local.test");
        await sdk.routerCall({ prompt: "after the refresh" });
        assert.equal(recorder.seen.at(-1)!.authorization, `Bearer ${secondToken}`);

        await supabase.auth.signOut();
        await rejectsWith(sdk.routerCall({ prompt: "signed out" }), (e) => {
          assert.equal(e.code, "AUTH_MISSING");
        });
        assert.equal(recorder.seen.at(-1)!.authorization, null);
      },
    );

    await t.step("the local admin signs in through supabase-js and gets admin rights", async () => {
      const supabase = createClient(dev.process.url, dev.anonKey, {
        auth: { persistSession: false, autoRefreshToken: false },
      });
      const { error } = await supabase.auth.signInWithPassword({
        email: "admin@local.test",
        password: "local-password",
      });
      assert.equal(error, null);
      const sdk = createRouterClient({ url: dev.functions, supabase });
      const metrics = await sdk.request<{ success: boolean }>("GET", "llm-metrics");
      assert.equal(metrics.success, true);
      await supabase.auth.signOut();
    });

    await t.step(
      "the bundled browser module is small, holds no zod, and runs in Node",
      async () => {
        const dir = await Deno.makeTempDir();
        try {
          const bundle = `${dir}/client.js`;
          const built = await new Deno.Command(Deno.execPath(), {
            args: [
              "bundle",
              "--platform",
              "browser",
              "--minify",
              "-o",
              bundle,
              "shared/client/mod.ts",
            ],
            cwd: ROOT,
            stdout: "null",
            stderr: "piped",
          }).output();
          assert.equal(built.code, 0, new TextDecoder().decode(built.stderr));
          const code = await Deno.readTextFile(bundle);
          assert.ok(code.length < 20_000, `${code.length} bytes`);
          assert.ok(!/ZodError|zod/i.test(code), "no zod in the bundle");
          const script = `
          const { createRouterClient, LLMRouterAuthError } = await import(${
            JSON.stringify(bundle)
          });
          const client = createRouterClient({ url: process.env.FUNCTIONS, getToken: () => process.env.TOKEN });
          const answer = await client.routerCall({ prompt: "from node" });
          const streamed = await client.routerCallStream({ prompt: "streamed in node" }).final();
          let refused = false;
          try {
            await createRouterClient({ url: process.env.FUNCTIONS }).routerCall({ prompt: "x" });
          } catch (error) { refused = error instanceof LLMRouterAuthError; }
          console.log(JSON.stringify({ text: answer.text, provider: answer.route.provider, streamed: streamed.text, refused }));
        `;
          const run = await new Deno.Command("node", {
            args: ["--input-type=module", "-e", script],
            env: { FUNCTIONS: dev.functions, TOKEN: dev.userToken },
            stdout: "piped",
            stderr: "piped",
          }).output();
          assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
          const out = JSON.parse(new TextDecoder().decode(run.stdout));
          assert.match(out.text, /^Mock reply to: from node/);
          assert.equal(out.provider, "openai");
          assert.match(out.streamed, /^Mock reply to: streamed in node/);
          assert.equal(out.refused, true);
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      },
    );
  } finally {
    await dev.process.stop();
  }
});

Deno.test("client SDK: a 429 with Retry-After is waited out and the retried call succeeds", async () => {
  const dev = await startDev({ LLM_RATE_LIMIT_RPS: "1", LLM_RATE_LIMIT_BURST: "1" });
  try {
    const recorder = recordingFetch();
    const sdk = createRouterClient({
      url: dev.functions,
      getToken: () => dev.userToken,
      fetch: recorder.fetch,
    });
    await sdk.routerCall({ prompt: "first" });
    const answer = await sdk.routerCall({ prompt: "second" });
    assert.match(answer.text, /^Mock reply to: second/);
    assert.deepEqual(recorder.seen.map((s) => s.status), [200, 429, 200]);
    const [, limited, retried] = recorder.seen;
    const refusal = await fetch(`${dev.functions}/llm-router`, {
      method: "POST",
      headers: { authorization: `Bearer ${dev.userToken}`, "content-type": "application/json" },
      body: JSON.stringify({ prompt: "third" }),
    });
    assert.equal(refusal.status, 429);
    const retryAfterMs = Number(refusal.headers.get("retry-after")) * 1_000;
    await refusal.body?.cancel();
    assert.equal(retryAfterMs, 1_000);
    const waited = retried.sentAt - limited.answeredAt!;
    assert.ok(waited >= retryAfterMs - 20 && waited < retryAfterMs + 1_000, `${waited} ms`);
  } finally {
    await dev.process.stop();
  }
});

Deno.test("local auth: tokens carry the printed tokens' claims for an hour; refresh tokens rotate and die with sign-out", async () => {
  let now = Date.UTC(2026, 0, 1);
  const issuer = "http://127.0.0.1:54321/auth/v1";
  const auth = createLocalAuth({ secret: LOCAL_JWT_SECRET, issuer, now: () => now });
  const call = (method: string, path: string, body?: unknown, token?: string) =>
    auth(
      new Request(`http://127.0.0.1:54321/auth/v1${path}`, {
        method,
        headers: {
          "content-type": "application/json",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    );
  const signIn = await call("POST", "/token?grant_type=password", {
    email: "Admin@Local.Test",
    password: LOCAL_PASSWORD,
  });
  assert.equal(signIn.status, 200);
  const session = await signIn.json();
  assert.equal(session.expires_in, 3_600);
  assert.equal(session.user.app_metadata.role, "admin");

  const jwt = new JwtVerifier({ hs256Secret: LOCAL_JWT_SECRET, now: () => now });
  const issued = await jwt.verify(session.access_token);
  const printed = await jwt.verify((await localKeys({ issuer })).adminToken);
  const stable = ({ iat: _iat, exp: _exp, session_id: _s, jti: _j, ...rest }: typeof issued) =>
    rest;
  assert.deepEqual(stable(issued), stable(printed));
  assert.equal(issued.exp! - issued.iat!, 3_600);

  const refresh = (token: string) =>
    call("POST", "/token?grant_type=refresh_token", { refresh_token: token });
  const rotated = await (await refresh(session.refresh_token)).json();
  assert.notEqual(rotated.refresh_token, session.refresh_token);
  const reused = await refresh(session.refresh_token);
  assert.equal(reused.status, 400);
  assert.equal((await reused.json()).error_code, "refresh_token_not_found");

  assert.equal((await call("GET", "/user", undefined, rotated.access_token)).status, 200);
  const out = await call("POST", "/logout?scope=global", undefined, rotated.access_token);
  assert.equal(out.status, 204);
  assert.equal((await refresh(rotated.refresh_token)).status, 400);

  now += 3_700_000; // past the hour and the verifier's leeway
  const expired = await call("GET", "/user", undefined, rotated.access_token);
  assert.equal(expired.status, 401);
  await expired.body?.cancel();
  const wrong = await call("POST", "/token?grant_type=password", {
    email: "user@local.test",
    password: "guess",
  });
  assert.equal(wrong.status, 400);
  assert.equal((await wrong.json()).error_code, "invalid_credentials");
});

Deno.test("local auth: a dev server on its own JWT secret serves no local sign-in", async () => {
  const dev = await startDevProcess({
    SUPABASE_JWT_SECRET: "my-own-project-secret-of-at-least-32-chars",
  });
  try {
    assert.ok(!dev.output.includes("local-password"));
    const signIn = await fetch(`${dev.url}/auth/v1/token?grant_type=password`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "user@local.test", password: "local-password" }),
    });
    assert.equal(signIn.status, 404);
    await signIn.body?.cancel();
  } finally {
    await dev.stop();
  }
});
