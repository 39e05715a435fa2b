/**
 * GlobalCDN's geography: the regions nodes can be started in (their zone), where clients may
 * be, and the simulated wide-area latency between two places. Plain data and pure functions,
 * no imports: the web app imports this file too, so the map and the server agree.
 */

export interface Place {
  readonly id: string;
  readonly name: string;
  readonly lat: number;
  readonly lon: number;
}

/** Node regions, in the order the demo adds them. The zone of a node is the region id. */
export const REGIONS: readonly Place[] = [
  { id: 'us-east', name: 'US-East', lat: 38.9, lon: -77.0 },
  { id: 'eu-west', name: 'EU-West', lat: 53.3, lon: -6.3 },
  { id: 'asia', name: 'Asia', lat: 35.7, lon: 139.7 },
  { id: 'sa-east', name: 'SA-East', lat: -23.5, lon: -46.6 },
  { id: 'ap-south', name: 'AP-South', lat: 19.1, lon: 72.9 },
  { id: 'us-west', name: 'US-West', lat: 37.4, lon: -122.1 },
  { id: 'af-south', name: 'AF-South', lat: -33.9, lon: 18.4 },
  { id: 'au-east', name: 'AU-East', lat: -33.9, lon: 151.2 },
];

/** Where the demo's client can be. */
export const CLIENT_PLACES: readonly Place[] = [
  { id: 'new-york', name: 'New York', lat: 40.7, lon: -74.0 },
  { id: 'london', name: 'London', lat: 51.5, lon: -0.1 },
  { id: 'tokyo', name: 'Tokyo', lat: 35.7, lon: 139.7 },
  { id: 'sydney', name: 'Sydney', lat: -33.9, lon: 151.2 },
  { id: 'sao-paulo', name: 'São Paulo', lat: -23.5, lon: -46.6 },
  { id: 'mumbai', name: 'Mumbai', lat: 19.1, lon: 72.9 },
  { id: 'san-francisco', name: 'San Francisco', lat: 37.8, lon: -122.4 },
];

/** The regions `nosqldb lab` gives its first nodes by default (n1, n2, n3). */
export const DEFAULT_LAB_ZONES: readonly string[] = ['us-east', 'eu-west', 'asia'];

export function regionOf(zone: string): Place | undefined {
  return REGIONS.find((r) => r.id === zone);
}

/** "Node-US-East"; a second node in the same region gets its id appended. */
export function displayName(id: string, zone: string, all: readonly { id: string; zone: string }[] = []): string {
  const r = regionOf(zone);
  const base = r ? `Node-${r.name}` : `Node-${id}`;
  const same = all.filter((n) => n.zone === zone);
  return same.length > 1 && same[0]?.id !== id ? `${base} (${id})` : base;
}

const EARTH_RADIUS_KM = 6371;

export function distanceKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * Simulated one-way delay between two places: 2 ms of last-mile cost plus light in fibre
 * (~200 km/ms) over a route ~1.5× the great circle — so New York → London is ~30 ms one way,
 * close to what public cloud inter-region pings show (~70 ms round trip).
 */
export function oneWayDelayMs(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  return Math.round(2 + (distanceKm(a, b) * 1.5) / 200);
}
