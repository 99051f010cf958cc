/** What the page reports to a test driver (`window.tessera`) besides the visible labels. */
export interface PageReport {
  backend: string;
  adapter: string;
  tokens: number;
  splatFrames: number;
  /** Pushes the tttLRM stream has decoded (the splat panel's "Reconstruct"). */
  reconstructPushes: number;
  sparseReady: boolean;
  ready: boolean;
  error?: string;
}

export const report: PageReport = {
  backend: '',
  adapter: '',
  tokens: 0,
  splatFrames: 0,
  reconstructPushes: 0,
  sparseReady: false,
  ready: false,
};
(globalThis as { tessera?: PageReport }).tessera = report;

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`page: no element #${id}`);
  return el as T;
}

export function numberInput(id: string): number {
  const el = byId<HTMLInputElement>(id);
  const v = Number(el.value);
  if (!Number.isFinite(v)) throw new Error(`${el.labels?.[0]?.textContent?.trim() ?? id}: expected a number, received "${el.value}"`);
  return v;
}

export const nextFrame = (): Promise<void> => new Promise((r) => requestAnimationFrame(() => r()));
