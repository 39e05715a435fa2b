import { memo, useEffect, useMemo, useRef, useState, type DragEvent, type ReactNode } from 'react';
import type { LabRun } from '../../../src/lab/lab-types.ts';
import { parseRun, runEndT, stateAt } from '../../../src/lab/run-replay.ts';
import { fetchSessionRun } from '../data/lab-source.ts';
import { ActionButton } from '../components/action-button.tsx';
import { DashboardView } from './dashboard.tsx';

/** Playback advances this often; the charts redraw at the same pace. */
const TICK_MS = 100;
/** The slider's and the step buttons' resolution: the recording's own is one point a second. */
const STEP_MS = 100;
const JUMP_MS = 5000;
const SPEEDS = [1, 4, 16, 64] as const;

interface Loaded {
  readonly run: LabRun;
  readonly source: string;
  readonly endT: number;
}

/**
 * `/replay`: a recorded run (`GET /api/run`, or a file it was saved to) shown as the dashboard
 * was at the slider's moment — charts, fault bands, node cards, checker, convergence and the
 * event log — with play/pause and scrubbing. Everything is computed from the recording
 * (src/lab/run-replay.ts); nothing here talks to the cluster. Memoised: the shell re-renders
 * on every live event, which changes nothing here.
 */
export const Replay = memo(function Replay(): ReactNode {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [t, setT] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState<number>(4);
  const [dragging, setDragging] = useState(false);
  const tRef = useRef(0);
  tRef.current = t;

  const show = (run: LabRun, source: string): void => {
    const endT = runEndT(run);
    setLoaded({ run, source, endT });
    setError(null);
    setPlaying(false);
    // Start at the end: the whole run on screen, then scrub back.
    setT(endT);
  };
  const loadText = (text: string, source: string): void => {
    try {
      show(parseRun(JSON.parse(text)), source);
    } catch (e) {
      setError(`${source}: ${e instanceof SyntaxError ? `not JSON (${e.message})` : (e as Error).message}`);
    }
  };
  const loadFile = (file: File | undefined): void => {
    if (!file) return;
    file.text().then(
      (text) => loadText(text, file.name),
      (e: unknown) => setError(`${file.name}: ${(e as Error).message}`),
    );
  };
  const onDrop = (e: DragEvent<HTMLElement>): void => {
    e.preventDefault();
    setDragging(false);
    loadFile(e.dataTransfer.files[0]);
  };

  useEffect(() => {
    if (!playing || !loaded) return;
    let last = performance.now();
    const timer = window.setInterval(() => {
      const now = performance.now();
      const next = Math.min(loaded.endT, tRef.current + (now - last) * speed);
      last = now;
      setT(next);
      if (next >= loaded.endT) setPlaying(false);
    }, TICK_MS);
    return () => window.clearInterval(timer);
  }, [playing, speed, loaded]);

  const view = useMemo(() => (loaded ? stateAt(loaded.run, t) : null), [loaded, t]);
  const seek = (to: number): void => setT(Math.max(0, Math.min(loaded?.endT ?? 0, to)));
  const togglePlay = (): void => {
    if (playing) return setPlaying(false);
    // Play from the end starts over.
    if (loaded && t >= loaded.endT) seek(0);
    setPlaying(true);
  };

  return (
    <div className="replay">
      <section
        className={`panel replay-loader ${dragging ? 'dragging' : ''}`}
        data-testid="replay-loader"
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <h2>Replay a recorded run</h2>
        <p className="hint">A run exported by the Lab (Export run on the dashboard, or <code>GET /api/run</code>): choose the file, drop it here, or take this session's run as it stands.</p>
        <div className="row">
          <label className="file">
            Run file (.json)
            <input type="file" accept=".json,application/json" data-testid="replay-file" onChange={(e) => loadFile(e.target.files?.[0])} />
          </label>
          <ActionButton label="Load this session's run" testId="replay-load-session" onClick={() => fetchSessionRun().then((run) => show(run, 'this session'))} />
        </div>
        {error && (
          <p className="error" role="alert" data-testid="replay-error">
            {error}
          </p>
        )}
        {loaded && (
          <p className="hint" data-testid="replay-info">
            {loaded.source}: {loaded.run.format}, started {new Date(loaded.run.startedAtMs).toLocaleString()}, {loaded.run.nodes.length} nodes, {loaded.run.history.length} ops, {loaded.run.events.length} events
            {loaded.run.series === undefined && ' — recorded before the Lab kept chart series: charts and node details are empty'}
          </p>
        )}
      </section>
      {loaded && view && (
        <>
          <section className="panel replay-controls" data-testid="replay-controls">
            <button type="button" className="primary" data-testid="replay-play" onClick={togglePlay}>
              {playing ? 'Pause' : 'Play'}
            </button>
            <button type="button" data-testid="replay-back" onClick={() => seek(t - JUMP_MS)}>
              −5 s
            </button>
            <input type="range" min={0} max={loaded.endT} step={STEP_MS} value={t} aria-label="time in the run" data-testid="replay-slider" onChange={(e) => seek(Number(e.target.value))} />
            <button type="button" data-testid="replay-forward" onClick={() => seek(t + JUMP_MS)}>
              +5 s
            </button>
            <label>
              speed
              <select value={speed} data-testid="replay-speed" onChange={(e) => setSpeed(Number(e.target.value))}>
                {SPEEDS.map((s) => (
                  <option key={s} value={s}>
                    {s}×
                  </option>
                ))}
              </select>
            </label>
            <span className="replay-time" data-testid="replay-time" data-t={Math.round(t)}>
              {(t / 1000).toFixed(1)} s of {(loaded.endT / 1000).toFixed(1)} s
            </span>
          </section>
          <DashboardView state={view.state} events={view.events} live={false} />
        </>
      )}
    </div>
  );
});
