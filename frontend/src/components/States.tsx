/** Loading, empty and error states, the same everywhere. */
import type { ReactNode } from "react";
import { describeError } from "../chain/errors.ts";

export function Loading({ what }: { what: string }) {
  return (
    <p className="state" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="state empty">{children}</div>;
}

export function ErrorNotice({ error, title = "Something went wrong" }: { error: unknown; title?: string }) {
  return (
    <div className="state error" role="alert">
      <strong>{title}.</strong> {describeError(error)}
    </div>
  );
}

/** Renders a query's loading, error and (optionally) empty states, else its data. */
export function QueryView<T>({
  query,
  what,
  isEmpty,
  empty,
  children,
}: {
  query: { isPending: boolean; isError: boolean; error: unknown; data: T | undefined; fetchStatus?: string };
  what: string;
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
  children: (data: T) => ReactNode;
}) {
  if (query.isError) return <ErrorNotice error={query.error} title={`Could not load ${what}`} />;
  if (query.isPending || query.data === undefined) return <Loading what={what} />;
  if (isEmpty?.(query.data)) return <Empty>{empty}</Empty>;
  return <>{children(query.data)}</>;
}
