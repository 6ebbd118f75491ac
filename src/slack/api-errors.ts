/**
 * Reports every failed Slack Web API call (method and error code) to `onError`, for the metrics. @slack/web-api
 * sends every call through the fetch function its options name (WebClientOptions.fetch), Bolt's per-request
 * clients included, so a fetch that looks at each answer sees them all: `{ok:false,error}` bodies, HTTP 429
 * (`ratelimited`), other HTTP errors (`http_503`) and calls that got no answer (`no_response`). The answer itself
 * is passed on untouched.
 */
export function observingFetch(onError: (method: string, code: string) => void, fetchFn = globalThis.fetch) {
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = new URL(url).pathname.split('/').at(-1) ?? 'unknown';
    let response: Response;
    try {
      response = await fetchFn(input, init);
    } catch (err) {
      onError(method, 'no_response');
      throw err;
    }
    if (response.status === 429) onError(method, 'ratelimited');
    else if (!response.ok) onError(method, `http_${response.status}`);
    else {
      // A copy: the WebClient reads the original body itself.
      void response
        .clone()
        .json()
        .then(
          (body: unknown) => {
            const answer = body as { ok?: boolean; error?: string } | null;
            if (answer?.ok === false) onError(method, answer.error ?? 'unknown');
          },
          () => undefined,
        );
    }
    return response;
  };
}
