import { useEffect, useMemo, useRef, type ReactNode } from 'react';
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip, type ChartDataset, type Plugin } from 'chart.js';
import type { FaultInterval } from '../../../src/lab/lab-types.ts';
import { FAULT_COLORS } from './colors.ts';

Chart.register(LineController, LineElement, PointElement, LinearScale, Legend, Tooltip);

/** Seconds of history on screen. */
export const WINDOW_S = 120;

export interface Marks {
  readonly faults: readonly FaultInterval[];
  /** Moments (ms on the Lab's axis) worth a vertical line: checker anomalies. */
  readonly anomalies: readonly number[];
  readonly nowT: number;
}

/** Faults as shaded bands behind the lines, anomalies as red ticks, all on the same time axis. */
const faultBands: Plugin<'line'> = {
  id: 'faultBands',
  beforeDatasetsDraw(chart) {
    const marks = (chart.options.plugins as unknown as { faultBands?: Marks }).faultBands;
    if (!marks) return;
    const { ctx, chartArea: area, scales } = chart;
    const x = scales.x!;
    ctx.save();
    ctx.beginPath();
    ctx.rect(area.left, area.top, area.right - area.left, area.bottom - area.top);
    ctx.clip();
    marks.faults.forEach((f, i) => {
      const x0 = x.getPixelForValue(f.startT / 1000);
      const x1 = x.getPixelForValue((f.endT ?? marks.nowT) / 1000);
      if (x1 < area.left || x0 > area.right) return;
      ctx.fillStyle = FAULT_COLORS[f.kind] ?? 'rgba(0,0,0,0.1)';
      ctx.fillRect(x0, area.top, Math.max(2, x1 - x0), area.bottom - area.top);
      ctx.fillStyle = '#555';
      ctx.font = '10px system-ui, sans-serif';
      // Staggered, so labels of faults close in time do not overprint each other.
      ctx.fillText(f.label, Math.max(area.left, x0) + 3, area.top + 10 + (i % 3) * 11);
    });
    ctx.strokeStyle = 'rgba(220, 38, 38, 0.8)';
    for (const t of marks.anomalies) {
      const px = x.getPixelForValue(t / 1000);
      ctx.beginPath();
      ctx.moveTo(px, area.bottom);
      ctx.lineTo(px, area.bottom - 8);
      ctx.stroke();
    }
    ctx.restore();
  },
};

/** A line chart on the Lab's time axis (seconds since it started). Chart.js draws; React owns the canvas. */
export function TimeChart(props: { title: string; datasets: ChartDataset<'line', { x: number; y: number | null }[]>[]; marks: Marks; yLabel: string; testId?: string }): ReactNode {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<'line', { x: number; y: number | null }[]> | null>(null);
  // The window ends now (live) or at the replay's moment; the largest value in it is also an
  // attribute, so what the chart shows is readable without its pixels (the browser tests use it).
  const xMax = Math.max(WINDOW_S, props.marks.nowT / 1000);
  const yMax = useMemo(() => {
    let max: number | null = null;
    for (const d of props.datasets) for (const p of d.data) if (p.y !== null && p.x >= xMax - WINDOW_S && p.x <= xMax && (max === null || p.y > max)) max = p.y;
    return max;
  }, [props.datasets, xMax]);

  useEffect(() => {
    chart.current = new Chart(canvas.current!, {
      type: 'line',
      data: { datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        normalized: true,
        spanGaps: false,
        elements: { point: { radius: 0 }, line: { borderWidth: 1.5 } },
        interaction: { mode: 'nearest', intersect: false },
        scales: {
          x: { type: 'linear', title: { display: true, text: 's since Lab start' }, ticks: { maxTicksLimit: 7 } },
          y: { type: 'linear', beginAtZero: true, title: { display: true, text: props.yLabel } },
        },
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 10, font: { size: 10 } } } },
      },
      plugins: [faultBands],
    });
    return () => chart.current?.destroy();
  }, [props.yLabel]);

  // Redraw only when what is drawn changed, not on every render of the page around it.
  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data.datasets = props.datasets;
    const x = c.options.scales!.x!;
    x.max = xMax;
    x.min = x.max - WINDOW_S;
    (c.options.plugins as unknown as { faultBands: Marks }).faultBands = props.marks;
    c.update('none');
  }, [props.datasets, props.marks, xMax, props.yLabel]);

  return (
    <figure className="chart" data-testid={props.testId} data-ymax={yMax ?? ''}>
      <figcaption>{props.title}</figcaption>
      <div className="chart-box">
        <canvas ref={canvas} />
      </div>
    </figure>
  );
}
