/** Hash routes (`#/repo/images`), so the daemon serves one page and any link can be reloaded. */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'dag' }
  | { page: 'repo'; name: string }
  | { page: 'pipeline'; name: string }
  | { page: 'spout'; name: string };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map((p) => decodeURIComponent(p));
  const [page, name] = parts;
  if (name !== undefined && name !== '' && (page === 'repo' || page === 'pipeline' || page === 'spout')) return { page, name };
  return { page: 'dag' };
}

export function href(route: Route): string {
  return route.page === 'dag' ? '#/' : `#/${route.page}/${encodeURIComponent(route.name)}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(parseRoute(location.hash));
  useEffect(() => {
    const on = (): void => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}
