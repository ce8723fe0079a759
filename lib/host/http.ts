/**
 * The HTTP adapter: a GET with a per-request timeout that classifies failures
 * (refused, timeout, other) so that messages say why an attempt failed.
 */

/** A finished HTTP exchange. */
export interface HttpResponse {
  /** Status code. */
  status: number;
  /** Body text (capped at 1 MiB). */
  body: string;
}

/** Why a request produced no response. */
export type HttpFailureKind = "refused" | "timeout" | "aborted" | "error";

/** A request that produced no response. */
export class HttpFailure extends Error {
  /** What kind of failure. */
  readonly kind: HttpFailureKind;
  /** Constructs a failure. */
  constructor(kind: HttpFailureKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

/** Options for one GET. */
export interface GetOptions {
  /** Give up after this many milliseconds. */
  timeoutMs: number;
  /** Aborts the request early. */
  signal?: AbortSignal;
}

/** Performs a GET; the real one uses fetch, tests may substitute another. */
export type HttpGet = (url: string, options: GetOptions) => Promise<HttpResponse>;

const MAX_BODY = 1024 * 1024;

/** The real GET. */
export const httpGet: HttpGet = async (url, options) => {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  try {
    const res = await fetch(url, {
      signal,
      redirect: "manual",
      headers: { accept: "application/json" },
    });
    const text = await res.text();
    return { status: res.status, body: text.slice(0, MAX_BODY) };
  } catch (err) {
    if (timeout.aborted) {
      throw new HttpFailure("timeout", `no answer within ${options.timeoutMs} ms`);
    }
    if (options.signal?.aborted) throw new HttpFailure("aborted", "interrupted");
    const text = String(err instanceof Error ? (err.cause ?? err.message) : err);
    if (/refused|ECONNREFUSED/i.test(text)) throw new HttpFailure("refused", "connection refused");
    throw new HttpFailure("error", text.replace(/\s*\n\s*/g, " ").slice(0, 200));
  }
};
