/** Query parameters whose values are secrets (matched case-insensitively, by substring). */
const SECRET_PARAMS = ['sig', 'sas', 'key', 'secret', 'password', 'passwd', 'token', 'credential', 'auth'];

/** True if a query parameter of this name holds a secret. */
export function isSecretParam(name: string): boolean {
  const n = name.toLowerCase();
  return SECRET_PARAMS.some((s) => n.includes(s));
}

/**
 * A store URL fit for messages and logs: the password and secret query parameters become
 * `***`. A string that is not a URL is not shown at all (it may be a secret pasted in the
 * wrong place): only its scheme, if it has one.
 */
export function redactUrl(input: string | URL): string {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(String(input))?.[1];
    return scheme ? `${scheme}:(not shown)` : '(not shown)';
  }
  if (url.password) url.password = '***';
  if (url.username && url.password) url.username = '***';
  for (const name of [...url.searchParams.keys()]) {
    if (isSecretParam(name)) url.searchParams.set(name, '***');
  }
  return url.toString().replaceAll('%2A%2A%2A', '***');
}
