/**
 * Counter names, as CountAPI defined them: a counter is (namespace, key), each 3-64 characters of
 * A-Z a-z 0-9 _ - . ; the namespace defaults to `default`. `:HOST:` and `:PATHNAME:` stand for the
 * host and path of the page that asks (its Origin or Referer).
 */
export const NAME = /^[A-Za-z0-9_\-.]{3,64}$/;
const NAME_PATTERN = NAME.source;
const DEFAULT_NAMESPACE = 'default';

export interface CounterId {
  namespace: string;
  key: string;
}

/** The requesting page, from Origin or Referer; either part may be unknown. */
export interface Page {
  host?: string;
  pathname?: string;
}

export class NameError extends Error {
  override name = 'NameError';
}

const NOT_A_NAME_CHARACTER = /[^A-Za-z0-9_\-.]/g;

// A page's host or path made into a name: characters a name cannot hold become dots, the result is
// cut to 64 and, when shorter than 3 (the path `/`), left-padded with dots.
const asName = (text: string): string => text.replace(NOT_A_NAME_CHARACTER, '.').slice(0, 64).padStart(3, '.');

/** Substitutes :HOST: and :PATHNAME:, then checks the result; throws NameError with a short reason. */
const resolveName = (raw: string, what: 'namespace' | 'key', page: Page): string => {
  let name = raw;
  if (name.includes(':HOST:') || name.includes(':PATHNAME:')) {
    if (name.includes(':HOST:') && !page.host) throw new NameError(`${what} uses :HOST: but the request has no Origin or Referer`);
    if (name.includes(':PATHNAME:') && page.pathname === undefined) throw new NameError(`${what} uses :PATHNAME: but the request has no Referer`);
    name = asName(name.replaceAll(':HOST:', page.host ?? '').replaceAll(':PATHNAME:', page.pathname ?? ''));
  }
  if (!NAME.test(name)) throw new NameError(`${what} must match ${NAME_PATTERN}`);
  return name;
};

/** The page a request comes from: Origin gives the host, Referer the host and the path. */
export const pageOf = (headers: { origin?: string | string[]; referer?: string | string[] }): Page => {
  const parse = (value: string | string[] | undefined): URL | undefined => {
    if (typeof value !== 'string') return undefined;
    try {
      return new URL(value);
    } catch {
      return undefined;
    }
  };
  const referer = parse(headers.referer);
  const origin = parse(headers.origin);
  const host = origin?.hostname || referer?.hostname || undefined;
  return { host, pathname: referer?.pathname };
};

/** A counter from the URL's optional namespace and key, with substitutions and checks applied. */
export const counterId = (namespace: string | undefined, key: string, page: Page): CounterId => ({
  namespace: namespace === undefined ? DEFAULT_NAMESPACE : resolveName(namespace, 'namespace', page),
  key: resolveName(key, 'key', page),
});

/** `namespace/key`: the X-Path header, and the hash tag every key of the counter carries in Redis. */
export const pathOfCounter = ({ namespace, key }: CounterId): string => `${namespace}/${key}`;
