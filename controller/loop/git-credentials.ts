/**
 * Git credentials of the controller, kept out of every place a URL is shown or stored: the repo
 * URL loses its userinfo before it is used, logged or written to `.git/config`, and a token
 * reaches git only through its environment (`GIT_CONFIG_*`: an `http.<origin>/.extraHeader`),
 * never a command line. Sources, first found wins: `--git-token-file`, `$MLFORM_GIT_TOKEN`, and
 * (deprecated, with a warning) `https://user:token@host/...`. Without any, git's own credential
 * helper or SSH key applies, untouched.
 */
import { readFile } from 'node:fs/promises';
import { error, type Diagnostic } from '../../resources/diagnostic.js';

export const GIT_TOKEN_ENV = 'MLFORM_GIT_TOKEN';
export const GIT_USERNAME_ENV = 'MLFORM_GIT_USERNAME';
/** Accepted with any token by GitHub (installation and personal tokens); GitLab ignores it for PATs. */
export const DEFAULT_GIT_USERNAME = 'x-access-token';

export interface GitAuth {
  username: string;
  token: string;
}

/** `https://user:token@host/x.git` -> the URL without userinfo, and what the userinfo held. */
export function splitRepoUrl(repo: string): {
  url: string;
  userinfo?: { username: string; password?: string };
} {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/@\s]*)@(.*)$/i.exec(repo);
  if (!m) return { url: repo };
  const [, scheme = '', info = '', rest = ''] = m;
  const colon = info.indexOf(':');
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const username = decode(colon >= 0 ? info.slice(0, colon) : info);
  const password = colon >= 0 ? decode(info.slice(colon + 1)) : undefined;
  // ssh://git@host/x: the user is a login name, not a secret; only a password is taken out.
  if (/^ssh:/i.test(scheme) && password === undefined) return { url: repo };
  return {
    url: /^ssh:/i.test(scheme) ? `${scheme}${encodeURIComponent(username)}@${rest}` : `${scheme}${rest}`,
    userinfo: { username, ...(password !== undefined && { password }) },
  };
}

export interface GitCredentialsInput {
  repo: string;
  tokenFile?: string;
  username?: string;
  env: Record<string, string | undefined>;
}

export interface GitCredentials {
  /** The repository URL without userinfo: what git, logs, status and `.git/config` see. */
  repo: string;
  auth?: GitAuth;
  /** For the operator's log (never containing the token). */
  warnings: string[];
  diagnostics: Diagnostic[];
}

export async function gitCredentials(input: GitCredentialsInput): Promise<GitCredentials> {
  const found = await findCredentials(input);
  if (found.auth) {
    if (!/^https?:\/\//i.test(found.repo)) {
      found.warnings.push(
        'a git token applies to http(s) repositories only: this one uses its SSH key or path',
      );
      delete found.auth;
    } else if (/^http:/i.test(found.repo)) {
      found.warnings.push('the git token is sent over plain http: use an https URL');
    }
  }
  return found;
}

async function findCredentials(input: GitCredentialsInput): Promise<GitCredentials> {
  const { url, userinfo } = splitRepoUrl(input.repo);
  const warnings: string[] = [];
  const diagnostics: Diagnostic[] = [];
  const username = input.username || input.env[GIT_USERNAME_ENV] || undefined;
  let token: string | undefined;
  if (input.tokenFile !== undefined) {
    try {
      token = (await readFile(input.tokenFile, 'utf8')).trim();
      if (token === '') diagnostics.push(error('git-token', `--git-token-file ${input.tokenFile} is empty`));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'unreadable';
      diagnostics.push(
        error('git-token', `cannot read --git-token-file ${input.tokenFile} (${code})`, {
          hint: 'a file holding only the token, readable by the controller',
        }),
      );
    }
  } else if (input.env[GIT_TOKEN_ENV]) {
    token = input.env[GIT_TOKEN_ENV]?.trim();
  }
  if (userinfo) {
    warnings.push(
      `the --repo URL carries credentials: they were removed from the URL and are passed to git through its environment; use --git-token-file or $${GIT_TOKEN_ENV} instead`,
    );
    if (token === undefined && userinfo.password !== undefined) {
      return {
        repo: url,
        auth: { username: username ?? userinfo.username, token: userinfo.password },
        warnings,
        diagnostics,
      };
    }
    if (token === undefined) {
      // `https://TOKEN@github.com/...`: a token as the user name, as GitHub documents it.
      return { repo: url, auth: { username: userinfo.username, token: '' }, warnings, diagnostics };
    }
  }
  return {
    repo: url,
    ...(token !== undefined &&
      token !== '' && { auth: { username: username ?? DEFAULT_GIT_USERNAME, token } }),
    warnings,
    diagnostics,
  };
}

/**
 * The environment that gives git the token: an extra `Authorization` header scoped to the
 * repository's origin, appended after any `GIT_CONFIG_*` entries the operator set.
 */
export function gitAuthEnv(
  repo: string,
  auth: GitAuth,
  env: Record<string, string | undefined>,
): Record<string, string> {
  const origin = new URL(repo);
  const count = Number.parseInt(env.GIT_CONFIG_COUNT ?? '0', 10) || 0;
  const basic = Buffer.from(`${auth.username}:${auth.token}`).toString('base64');
  return {
    GIT_CONFIG_COUNT: String(count + 1),
    [`GIT_CONFIG_KEY_${count}`]: `http.${origin.protocol}//${origin.host}/.extraHeader`,
    [`GIT_CONFIG_VALUE_${count}`]: `Authorization: Basic ${basic}`,
  };
}
