/**
 * The HTTP adapter: a GET with a per-request timeout that classifies failures
 * (refused, timeout, other) so that messages say why an attempt failed.
 */

/** A finished HTTP exchange. */
export interface HttpResponse {
  /** Status code. */
  status: number;
  /** Body text (its first 1 MiB; the rest is not read). */
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

/** Most body bytes read from an answer; the rest is never received. */
export const MAX_BODY = 1024 * 1024;

/**
 * Reads at most `max` bytes of a body stream, then cancels it: a backend that
 * streams without end costs `max` bytes of memory, not all it sends.
 */
export async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  max: number,
): Promise<string> {
  if (!body) return "";
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      const part = value.length > max - size ? value.subarray(0, max - size) : value;
      chunks.push(part);
      size += part.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return new TextDecoder().decode(all);
}

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
    return { status: res.status, body: await readCapped(res.body, MAX_BODY) };
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
