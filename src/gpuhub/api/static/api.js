// The server's own JSON API, by relative URL (the page may be served under a path prefix).

/** An error answer of the API: its name, message and fields, as the server sent them. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.name = body?.error ?? "HTTPError";
    this.fields = body?.fields ?? {};
  }
}

/** GET (or another method with a JSON body) and the answer's JSON; ApiError for 4xx/5xx. */
export async function api(path, { method = "GET", body } = {}) {
  const answer = await fetch(path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await answer.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = { message: text.slice(0, 200) };
  }
  if (!answer.ok) throw new ApiError(answer.status, json);
  return json;
}
