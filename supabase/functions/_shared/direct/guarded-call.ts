/**
 * One direct (OpenAI-path) call under its guards: admitted before the
 * upstream call with its maximum cost held against the account's budgets (a
 * refusal is reported and thrown), then, exactly once, released when the call
 * fails before streaming, or settled to the stream's cost when it ends, and
 * reported either way.
 */
import type { AuthenticatedUser } from "../http/auth.ts";
import type { CatalogModel } from "../llm/catalog.ts";
import { inputTokenBound, maxRequestCost, type StreamCost, streamCost } from "./cost.ts";
import type { DirectGuardWorld } from "./guard-world.ts";
import { type DirectAdmission, GuardRefusal } from "./guards.ts";
import { ClientDisconnected, type UpstreamChat } from "./openai-stream.ts";
import type { RelaySummary } from "./relay.ts";
import { UpstreamError } from "./upstream-error.ts";
import type { DirectRequestFacts } from "./usage-report.ts";

/** An admitted call, to be finished one way or the other. */
export interface GuardedCall {
  /** The call failed (or the caller left) before its stream opened: the hold is given back. */
  failed(error: unknown): void;
  /** The stream ended after `attempts` upstream calls: the hold becomes its cost. */
  ended(summary: RelaySummary, attempts: number): StreamCost;
}

/** Admits `chat` for `user`; throws the guards' refusal (already reported). */
export async function guardCall(
  world: DirectGuardWorld,
  user: AuthenticatedUser,
  chat: UpstreamChat,
  model: CatalogModel | undefined,
  facts: DirectRequestFacts,
  now: () => number,
): Promise<GuardedCall> {
  const report = world.report(facts);
  const inputTokens = inputTokenBound(chat.systemPrompt, chat.messages);
  let admission: DirectAdmission;
  try {
    admission = await world.guards.admit(
      user,
      maxRequestCost(model, inputTokens, chat.maxTokens),
    );
  } catch (error) {
    if (error instanceof GuardRefusal) report.refused(error);
    throw error;
  }
  report.accountId = admission.accountId;
  const upstreamAt = now();
  return {
    failed(error) {
      admission.release();
      if (error instanceof ClientDisconnected) report.failed("ABORTED", 1, true);
      else if (error instanceof UpstreamError) report.failed(error.code, error.attempts, false);
      else report.failed("INTERNAL", 1, false);
    },
    ended(summary, attempts) {
      const cost = streamCost(model, summary.usage, {
        inputTokens,
        maxTokens: chat.maxTokens,
        outputBytes: summary.outputBytes,
      });
      admission.settle(cost.costUsd);
      report.streamed(summary, cost, attempts, upstreamAt);
      return cost;
    },
  };
}
