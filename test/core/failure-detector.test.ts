import { describe, expect, it } from 'vitest';
import { PhiAccrualDetector } from '../../src/core/failure-detector.ts';

function regular(d: PhiAccrualDetector, id: string, from: number, count: number, every: number, jitter = () => 0): number {
  let t = from;
  for (let i = 0; i < count; i++) {
    t += every + jitter();
    d.heartbeat(id, t);
  }
  return t;
}

describe('phi accrual failure detector', () => {
  it('[FD1] a peer heartbeating every second is up; silent for 5 s it is down', () => {
    const d = new PhiAccrualDetector();
    const t = regular(d, 'n2', 0, 30, 1000);
    expect(d.state('n2', t + 500)).toBe('up');
    expect(d.state('n2', t + 5000)).toBe('down');
  });

  it('[FD2] suspicion grows monotonically with silence', () => {
    const d = new PhiAccrualDetector();
    const t = regular(d, 'n2', 0, 30, 1000);
    let last = -1;
    for (let s = 0; s <= 6000; s += 250) {
      const p = d.phi('n2', t + s);
      expect(p).toBeGreaterThanOrEqual(last);
      last = p;
    }
  });

  it('[FD3] a peer whose every message is delayed 200 ms keeps its rhythm and is never declared down', () => {
    const d = new PhiAccrualDetector();
    // Heartbeats sent every 1000±250 ms (gossip jitter), each arriving 200 ms late.
    let seed = 1;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 500;
    let sent = 0;
    for (let i = 0; i < 200; i++) {
      sent += 1000 + rnd();
      const arrived = sent + 200;
      // Just before each arrival, the peer must not look down.
      if (i > 0) expect(d.state('n3', arrived - 1)).not.toBe('down');
      d.heartbeat('n3', arrived);
    }
  });

  it('[FD4] a never-heard peer is down', () => {
    expect(new PhiAccrualDetector().state('nx', 0)).toBe('down');
  });
});
