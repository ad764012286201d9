/**
 * The distributed StateStore: Upstash Redis over its REST API with
 * `@upstash/redis` (plain fetch, so it works from any isolate). Atomic
 * operations run as Lua scripts by SHA (loaded with EVAL on first use), and
 * commands issued in the same tick share one HTTP round trip (the client's
 * auto-pipelining). Import this module lazily: the embedded default never
 * loads the client.
 */
import { Redis } from "@upstash/redis";
import type { AtomicArg, AtomicOperation, AtomicReply } from "./atomic.ts";
import type { StateStore } from "./state-store.ts";
import { NearCache } from "./near-cache.ts";
import { StoreUnavailableError } from "./store-error.ts";
import { errorMessage } from "../runtime/error-message.ts";

/** How to reach the Redis database. */
export interface UpstashStateStoreOptions {
  /** UPSTASH_REDIS_REST_URL */
  url: string;
  /** UPSTASH_REDIS_REST_TOKEN */
  token: string;
  /** Prepended to every key, so deployments (or tests) can share one database. */
  prefix?: string;
  /** Retries of a failed HTTP call (default 2): guards sit on the hot path, so keep it short. */
  retries?: number;
  /**
   * How long this isolate reuses a value read with `get` before asking Redis
   * again (default 0: never). Values read through `get` are caches of
   * configuration and answers; atomic operations never use it.
   */
  nearCacheMs?: number;
}

/** StateStore on Upstash Redis. */
export class UpstashStateStore implements StateStore {
  readonly kind = "upstash";
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #shas = new Map<string, Promise<string>>();
  readonly #near: NearCache;

  constructor(options: UpstashStateStoreOptions) {
    this.#near = new NearCache(options.nearCacheMs ?? 0);
    const retries = options.retries ?? 2;
    this.#redis = new Redis({
      url: options.url,
      token: options.token,
      enableTelemetry: false,
      // Values are JSON we wrote ourselves; the client must not guess types from strings.
      automaticDeserialization: false,
      retry: { retries, backoff: (attempt) => 20 * 2 ** attempt },
    });
    this.#prefix = options.prefix ?? "";
  }

  async get<T>(key: string): Promise<T | undefined> {
    let raw = this.#near.read(key);
    if (raw === undefined) {
      raw = await this.#call("get", () => this.#redis.get<string>(this.#prefix + key)) ?? null;
      this.#near.remember(key, raw);
    }
    return raw === null ? undefined : JSON.parse(raw) as T;
  }

  async set(key: string, value: unknown, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) return await this.delete(key);
    const raw = JSON.stringify(value);
    await this.#call(
      "set",
      () => this.#redis.set(this.#prefix + key, raw, { px: Math.ceil(ttlMs) }),
    );
    this.#near.remember(key, raw);
  }

  async setIfAbsent(key: string, value: unknown, ttlMs: number): Promise<boolean> {
    const reply = await this.#call(
      "set",
      () =>
        this.#redis.set(this.#prefix + key, JSON.stringify(value), {
          nx: true,
          px: Math.max(1, Math.ceil(ttlMs)),
        }),
    );
    return reply === "OK";
  }

  async delete(...keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    for (const key of keys) this.#near.forget(key);
    await this.#call("del", () => this.#redis.del(...keys.map((key) => this.#prefix + key)));
  }

  async run<R>(
    operation: AtomicOperation<R>,
    key: string,
    args: readonly AtomicArg[],
  ): Promise<R> {
    const keys = [this.#prefix + key];
    const argv = args.map(String);
    const sha = await this.#sha(operation.lua);
    const reply = await this.#call(operation.name, async () => {
      try {
        return await this.#redis.evalsha<string[], AtomicReply>(sha, keys, argv);
      } catch (error) {
        // A restarted or flushed Redis forgets scripts: load it again by running it once.
        if (!String(error).includes("NOSCRIPT")) throw error;
        return await this.#redis.eval<string[], AtomicReply>(operation.lua, keys, argv);
      }
    });
    return operation.decode(reply);
  }

  async #call<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      // Upstash errors quote the whole command, values included: keep only Redis's own words.
      const message = errorMessage(error);
      const reason = message.split(", command was:")[0].slice(0, 200);
      throw new StoreUnavailableError(`redis ${what} failed: ${reason}`);
    }
  }

  #sha(lua: string): Promise<string> {
    let sha = this.#shas.get(lua);
    if (!sha) {
      sha = crypto.subtle.digest("SHA-1", new TextEncoder().encode(lua)).then((digest) =>
        [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("")
      );
      this.#shas.set(lua, sha);
    }
    return sha;
  }
}
