import { useState, type ReactNode } from 'react';

/** A button for a Lab action: disabled while it runs, the error shown next to it. */
export function ActionButton(props: { label: string; onClick: () => Promise<unknown>; testId?: string; kind?: 'danger' | 'primary'; disabled?: boolean }): ReactNode {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = (): void => {
    setBusy(true);
    setError(null);
    props
      .onClick()
      .catch((e: unknown) => setError((e as Error).message))
      .finally(() => setBusy(false));
  };
  return (
    <span className="action">
      <button type="button" className={props.kind ?? ''} disabled={busy || props.disabled} onClick={run} data-testid={props.testId}>
        {props.label}
      </button>
      {error && (
        <span className="error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}
