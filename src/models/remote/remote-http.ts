/**
 * One JSON request to an OpenAI-compatible endpoint, bounded in time, with every failure
 * classified: `retryable` (HTTP 408/429/5xx, time-outs, refused or reset connections,
 * bodies cut short or not JSON) or not (other 4xx, e.g. a wrong model name or key).
 * The sharded evaluator (src/eval/shards.ts) retries the first kind on another attempt
 * or endpoint and stops at once on the second.
 *
 * The API key travels only in the Authorization header; no message, field or log
 * line built here contains it.
 */
import { XentError } from '../../core/errors.js';

export interface HttpOptions {
  /** Bearer token (XENT_API_KEY / OPENAI_API_KEY); never echoed. */
  apiKey?: string | undefined;
  /** Whole-request limit (connect + response body), milliseconds. */
  timeoutMs: number;
  /** Aborts the request (the run is closing). */
  signal?: AbortSignal | undefined;
  /** Refuse response bodies larger than this many bytes. Default 256 MiB. */
  maxResponseBytes?: number;
}

/** Fields of every XentError raised for a remote call. */
export interface RemoteErrorFields {
  endpoint: string;
  /** HTTP status, when the endpoint answered. */
  status?: number;
  /** Whether another attempt may succeed. */
  retryable: boolean;
  /** Seconds the endpoint asked to wait (Retry-After), when given. */
  retryAfterSeconds?: number;
  /** The message without the op prefix, for callers that add their own context. */
  detail: string;
}

/** The URL without credentials, query or trailing slash: what messages may show. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString().replace(/\/+$/, '');
  } catch {
    return '(invalid URL)';
  }
}

export function remoteError(
  op: string,
  endpoint: string,
  detail: string,
  f: Omit<RemoteErrorFields, 'endpoint' | 'detail'>,
  cause?: unknown,
): XentError {
  const fields: RemoteErrorFields = { endpoint, detail, ...f };
  return new XentError(
    'remote_error',
    op,
    `endpoint ${endpoint}: ${detail}`,
    fields as unknown as Record<string, unknown>,
    cause !== undefined ? { cause } : undefined,
  );
}

/** Short printable excerpt of a response body (endpoints put the reason there). */
function excerpt(s: string): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > 200 ? `${one.slice(0, 200)}…` : one;
}

function networkReason(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError') return 'timed out';
  const code = err?.cause?.code;
  if (code) return `${code}${err.cause?.message ? ` (${err.cause.message})` : ''}`;
  // fetch refuses some ports outright (the WHATWG "bad ports", e.g. 1, 6000, 10080).
  return `${err?.message ?? String(e)}${err?.cause?.message ? ` (${err.cause.message})` : ''}`;
}

/**
 * GET (body undefined) or POST `body` as JSON to `base + path`; resolves with the parsed
 * JSON. Throws XentError('remote_error') with RemoteErrorFields.
 */
export async function requestJson(
  op: string,
  base: string,
  path: string,
  body: unknown,
  o: HttpOptions,
): Promise<unknown> {
  const endpoint = displayUrl(base);
  const url = base.replace(/\/+$/, '') + path;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (o.apiKey) headers.authorization = `Bearer ${o.apiKey}`;
  const timeout = AbortSignal.timeout(o.timeoutMs);
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal,
    });
    const len = Number(res.headers.get('content-length') ?? NaN);
    const max = o.maxResponseBytes ?? 256 * 2 ** 20;
    if (len > max) {
      await res.body?.cancel();
      throw remoteError(op, endpoint, `${path}: the response is ${len} bytes, more than the ${max} allowed`, {
        status: res.status,
        retryable: false,
      });
    }
    text = await res.text();
  } catch (e) {
    if (e instanceof XentError) throw e;
    if (o.signal?.aborted) throw remoteError(op, endpoint, `${path}: request cancelled`, { retryable: false }, e);
    const reason = timeout.aborted ? `no complete answer within ${o.timeoutMs} ms` : networkReason(e);
    throw remoteError(op, endpoint, `${path}: ${reason}`, { retryable: true }, e);
  }
  if (!res.ok) {
    const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
    const ra = Number(res.headers.get('retry-after') ?? NaN);
    const hint =
      res.status === 401 || res.status === 403 ? " (set XENT_API_KEY or OPENAI_API_KEY to the endpoint's key)" : '';
    throw remoteError(op, endpoint, `${path}: HTTP ${res.status}${hint}${text ? `: ${excerpt(text)}` : ''}`, {
      status: res.status,
      retryable,
      ...(Number.isFinite(ra) && ra >= 0 ? { retryAfterSeconds: ra } : {}),
    });
  }
  try {
    return JSON.parse(text);
  } catch {
    // A body cut short by a dying endpoint, or a proxy's HTML page: worth another attempt.
    throw remoteError(
      op,
      endpoint,
      `${path}: the response is not JSON (${text.length} bytes${text.length ? `, starting ${JSON.stringify(text.slice(0, 40))}` : ''}): truncated or malformed`,
      {
        status: res.status,
        retryable: true,
      },
    );
  }
}
