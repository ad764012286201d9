/**
 * Sends one delivery (an `alert.webhook` job) to its destination: the body
 * in the destination's format, signed when it has a secret, POSTed with a
 * timeout and without following redirects. The outcome says whether the job
 * runner should retry: a network failure, a timeout, 408, 425, 429 and 5xx
 * are retried with backoff; any other answer is final. No log line and no
 * stored error holds the URL (its path may be the secret).
 */
import { z } from "zod";
import type { Logger } from "../runtime/log.ts";
import { errorMessage } from "../runtime/error-message.ts";
import { ALERT_EVENT_TYPES } from "./events.ts";
import type { AlertDeliveryPayload } from "./deliveries.ts";
import { renderAlert } from "./render.ts";
import { SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from "./signature.ts";
import { checkWebhookUrl, type HttpWebhooks } from "./webhook-url.ts";
import type { WebhookTarget } from "./webhooks.ts";

/** How long a receiver may take to answer, by default. */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 10_000;

/** The job being delivered (a subset of the job queue's Job). */
export interface DeliveryJob {
  id: string;
  /** This attempt's number, from 1. */
  attempts: number;
  payload: Record<string, unknown>;
}

/** How an attempt ended; the job runner stores a result or retries a retryable failure. */
export type DeliveryOutcome =
  | { ok: true; result: { status: number; ms: number } }
  | { ok: false; code: string; message: string; retryable: boolean };

/** What the deliverer uses. */
export interface WebhookDelivererDeps {
  /** The destination of a delivery; undefined once it was deleted. */
  target(webhookId: string): Promise<WebhookTarget | undefined>;
  fetch?: typeof fetch;
  now: () => number;
  log: Logger;
  /** Checked again at delivery: a setting turned off since the webhook was made applies. */
  httpWebhooks: HttpWebhooks;
  timeoutMs?: number;
}

const payloadSchema = z.object({
  webhookId: z.uuid(),
  event: z.object({
    id: z.string().min(1).max(100),
    type: z.enum(ALERT_EVENT_TYPES),
    accountId: z.string().nullable(),
    occurredAt: z.string(),
    data: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  }),
});

/** Delivers alert jobs. One per isolate. */
export class WebhookDeliverer {
  constructor(private readonly deps: WebhookDelivererDeps) {}

  /** One attempt at `job`. Never throws: every failure is an outcome. */
  async deliver(job: DeliveryJob, signal: AbortSignal): Promise<DeliveryOutcome> {
    const parsed = payloadSchema.safeParse(job.payload);
    if (!parsed.success) {
      return fail("ALERT_PAYLOAD_INVALID", "the delivery's payload is not an alert", false);
    }
    const { webhookId, event } = parsed.data as AlertDeliveryPayload;
    const target = await this.deps.target(webhookId);
    if (!target) return fail("WEBHOOK_DELETED", "the webhook was deleted", false);
    const checked = checkWebhookUrl(target.url, this.deps.httpWebhooks);
    if ("problem" in checked) {
      return fail("WEBHOOK_URL_REFUSED", `the webhook's URL ${checked.problem}`, false);
    }
    const body = renderAlert(event, target.format, job.id);
    const timestamp = Math.floor(this.deps.now() / 1000);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": "llm-gateway-alerts/1",
      "x-llm-event": event.type,
      "x-llm-event-id": event.id,
      "x-llm-delivery": job.id,
      "x-llm-delivery-attempt": String(job.attempts),
      [TIMESTAMP_HEADER]: String(timestamp),
    };
    if (target.secret) {
      headers[SIGNATURE_HEADER] = await signWebhook(target.secret, timestamp, body);
    }

    const fields = {
      deliveryId: job.id,
      webhookId,
      alert: event.type,
      eventId: event.id,
      url: target.urlHint,
      attempt: job.attempts,
    };
    const started = performance.now();
    const outcome = await this.#post(checked.url, headers, body, signal);
    const ms = Math.round(performance.now() - started);
    if (outcome.ok) {
      this.deps.log.info("alert_delivered", { ...fields, status: outcome.result.status, ms });
      return { ok: true, result: { status: outcome.result.status, ms } };
    }
    this.deps.log.warn("alert_delivery_failed", {
      ...fields,
      code: outcome.code,
      retryable: outcome.retryable,
      detail: outcome.message,
      ms,
    });
    return outcome;
  }

  async #post(
    url: string,
    headers: Record<string, string>,
    body: string,
    signal: AbortSignal,
  ): Promise<DeliveryOutcome> {
    const timeoutMs = this.deps.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS;
    const timeout = AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await (this.deps.fetch ?? fetch)(url, {
        method: "POST",
        headers,
        body,
        // A redirect could lead anywhere, including where the URL check would refuse to go.
        redirect: "manual",
        signal: AbortSignal.any([signal, timeout]),
      });
      // Only the status matters; the body (which may echo anything) is never read or kept.
      await response.body?.cancel();
    } catch (error) {
      if (timeout.aborted) {
        return fail("WEBHOOK_TIMEOUT", `the receiver did not answer within ${timeoutMs} ms`, true);
      }
      return fail(
        "WEBHOOK_UNREACHABLE",
        `the receiver could not be reached: ${withoutUrls(errorMessage(error))}`,
        true,
      );
    }
    const { status } = response;
    if (status >= 200 && status < 300) return { ok: true, result: { status, ms: 0 } };
    if (status >= 300 && status < 400) {
      return fail(
        "WEBHOOK_REDIRECT",
        `the receiver answered ${status} (redirects are not followed)`,
        false,
      );
    }
    const retryable = status >= 500 || status === 408 || status === 425 || status === 429;
    return fail("WEBHOOK_STATUS", `the receiver answered ${status}`, retryable);
  }
}

function fail(code: string, message: string, retryable: boolean): DeliveryOutcome {
  return { ok: false, code, message, retryable };
}

/** A fetch error may quote the URL it failed on (its path may be the secret). */
function withoutUrls(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s)"'<>]*/gi, "<url>").slice(0, 300);
}
