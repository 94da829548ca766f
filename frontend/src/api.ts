// JSON over fetch with the session cookie and the CSRF token of the page.

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | null;

  constructor(status: number, code: string, message: string, field: string | null = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

function csrfToken(): string {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]');
  return meta?.content ?? "";
}

export interface RequestOptions {
  keepalive?: boolean;
}

export async function api<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
      keepalive: options.keepalive,
    });
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check your connection; your work is kept.");
  }
  return answer<T>(response);
}

/**
 * A multipart request (files). The browser sets the content type with its boundary. The session's CSRF
 * check (DRF's SessionAuthentication) parses the body of a browser's request, so a browser sends
 * imports as files: a raw JSON Lines or CSV body has no parser there and would be refused.
 */
export async function sendForm<T>(method: string, path: string, form: FormData): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { method, headers: { Accept: "application/json", "X-CSRFToken": csrfToken() }, credentials: "same-origin", body: form });
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check your connection; your work is kept.");
  }
  return answer<T>(response);
}

async function answer<T>(response: Response): Promise<T> {
  if (response.status === 204) return null as T;
  const text = await response.text();
  let payload: unknown = null;
  try {
    payload = text ? JSON.parse(text) : null;
  } catch {
    payload = null;
  }
  if (!response.ok) {
    const error = (payload as { error?: { code?: string; message?: string; field?: string | null } } | null)?.error;
    if (response.status === 403 && !error) {
      throw new ApiError(403, "forbidden", "Your session has ended or the request was refused. Sign in again.");
    }
    throw new ApiError(
      response.status,
      error?.code ?? `http_${response.status}`,
      error?.message ?? `The server answered ${response.status}.`,
      error?.field ?? null,
    );
  }
  return payload as T;
}
